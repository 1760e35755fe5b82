/**
 * Self-registration (issue 22): origins of a pool whose `discovery.self_registration` is on register
 * themselves and renew their lease with PUT, and leave with DELETE. REGISTRATION_TOKEN may call
 * these two and nothing else (auth.ts); the admin token may too; reads list a pool's registrations.
 */
import type { IRequest, RouterType } from "itty-router";
import type { RegistrationResult } from "../contract/discovery";
import type { Env } from "../env";
import { getAuthority } from "../registry/objects";
import { AdminError, ERROR_CODES, toSuccess } from "./envelope";
import { type AdminRequest, type Args, bodyOf, param } from "./handlers";

const REGISTRATION = /^\/_lb\/api\/pools\/[^/]+\/registrations\/[^/]+$/;

/** Whether the request is one the registration token may make: PUT or DELETE of one registration. */
export function isRegistrationRoute(method: string, pathname: string): boolean {
	return (method === "PUT" || method === "DELETE") && REGISTRATION.test(pathname);
}

const KINDS = { 400: "invalid_request", 403: "forbidden", 404: "not_found", 409: "conflict" } as const;

function toAnswer(result: RegistrationResult, messages: string[]): Response {
	if (!result.ok) {
		const kind = KINDS[result.status];
		throw new AdminError(kind, result.message, {
			errors: [{ code: ERROR_CODES[kind], message: result.message, ...(result.field ? { field: result.field } : {}) }],
		});
	}
	return toSuccess(result.registration, { status: result.created ? 201 : 200, messages });
}

export function addRegistrationRoutes(router: RouterType<IRequest, Args>): void {
	router
		.get("/pools/:pool/registrations", async (request, env: Env) => {
			const list = await getAuthority(env).registrations(param(request, "pool"));
			if (list === undefined) throw new AdminError("not_found", `no pool with id "${param(request, "pool")}"`);
			return toSuccess(list);
		})
		.put("/pools/:pool/registrations/:name", async (request, env: Env) => {
			const body = await bodyOf(request);
			const actor = (request as AdminRequest).caller.actor;
			const result = await getAuthority(env).register(param(request, "pool"), param(request, "name"), body, actor);
			return toAnswer(result, [
				result.ok && result.created
					? "registered: it takes traffic once its first health check passes; renew the lease before expires_at"
					: "lease renewed",
			]);
		})
		.delete("/pools/:pool/registrations/:name", async (request, env: Env) => {
			const actor = (request as AdminRequest).caller.actor;
			const result = await getAuthority(env).deregister(param(request, "pool"), param(request, "name"), actor);
			return toAnswer(result, ["deregistered: no new requests go to this origin; requests in flight finish"]);
		});
}
