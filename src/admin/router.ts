/**
 * The admin API under /_lb/api/ (itty-router). Every route needs the admin token; every error is
 * problem JSON. Configuration goes through the registry object, which validates and versions it;
 * the version is the ETag, and writes honour If-Match so two operators cannot silently overwrite
 * each other.
 */
import { type IRequest, Router, StatusError } from "itty-router";
import { type Env, getRegistry } from "../env";
import { toProblemResponse } from "../proxy/problem";
import { AdminError } from "./admin-error";
import { isSameSecret, toBearerToken } from "./auth";

/** Paths under this prefix are reserved for Switchyard and never proxied. */
export const RESERVED_PREFIX = "/_lb/";
export const ADMIN_API_BASE = "/_lb/api";

type Args = [env: Env, ctx: ExecutionContext];

async function requireToken(request: IRequest, env: Env): Promise<undefined> {
	if (!env.ADMIN_TOKEN) {
		throw new AdminError("admin_disabled", { detail: "set the ADMIN_TOKEN secret to enable the admin API" });
	}
	const token = toBearerToken(request.headers.get("authorization"));
	if (token === undefined || !(await isSameSecret(token, env.ADMIN_TOKEN))) {
		throw new AdminError(
			"unauthorized",
			{ detail: "send Authorization: Bearer <ADMIN_TOKEN>" },
			{ "www-authenticate": 'Bearer realm="switchyard-admin"' },
		);
	}
	return undefined;
}

function toEtag(version: number): string {
	return `"${version}"`;
}

/** If-Match as a config version: undefined when absent or "*", an error when unreadable. */
export function toIfMatchVersion(header: string | null): number | undefined {
	if (header === null || header.trim() === "*") return undefined;
	const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
	if (!match)
		throw new AdminError("invalid_request", { detail: `If-Match must be a config version such as "3", got ${header}` });
	return Number(match[1]);
}

async function readJson(request: IRequest): Promise<unknown> {
	const text = await request.text();
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new AdminError("invalid_request", { detail: `the body is not valid JSON: ${(error as Error).message}` });
	}
}

function json(body: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
	return new Response(`${JSON.stringify(body, null, 2)}\n`, {
		status: init.status ?? 200,
		headers: { "content-type": "application/json", "cache-control": "no-store", ...init.headers },
	});
}

function toErrorResponse(error: unknown): Response {
	if (error instanceof AdminError) return toProblemResponse(error.kind, error.fields, error.headers);
	if (error instanceof StatusError && error.status === 404)
		return toProblemResponse("not_found", { detail: error.message });
	console.error("admin API error", error);
	return toProblemResponse("internal", { detail: "the admin API failed; see the Worker's logs" });
}

export const adminRouter = Router<IRequest, Args>({
	base: ADMIN_API_BASE,
	before: [requireToken],
	catch: toErrorResponse,
	finally: [
		(response: Response | undefined, request: IRequest) =>
			response ??
			toProblemResponse("not_found", { detail: `no admin route ${request.method} ${new URL(request.url).pathname}` }),
	],
})
	.get("/config", async (_request, env) => {
		const { version, json: document } = await getRegistry(env).getConfig();
		return new Response(`${document}\n`, {
			headers: { "content-type": "application/json", "cache-control": "no-store", etag: toEtag(version) },
		});
	})
	.put("/config", async (request, env) => {
		const ifMatch = toIfMatchVersion(request.headers.get("if-match"));
		const dryRun = ["1", "true"].includes(String(request.query.dry_run ?? ""));
		const result = await getRegistry(env).putConfig(await readJson(request), { ifMatch, dryRun });
		if (!result.ok) {
			if ("errors" in result) {
				throw new AdminError("invalid_config", { detail: "the configuration was not applied", errors: result.errors });
			}
			throw new AdminError(
				"precondition_failed",
				{
					detail: `If-Match names version ${ifMatch}, but the configuration is at version ${result.version}; GET it again`,
					version: result.version,
				},
				{ etag: toEtag(result.version) },
			);
		}
		return json(
			{ version: result.version, changed: result.changed, dry_run: dryRun, messages: result.messages },
			{ headers: { etag: toEtag(result.version) } },
		);
	})
	.get("/status", async (_request, env) => json(await getRegistry(env).status()));
