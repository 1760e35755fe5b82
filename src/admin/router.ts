/**
 * The admin API under /_lb/api/ (itty-router), in Cloudflare's response envelope. Every route
 * needs a token (ADMIN_READ_TOKEN suffices for reads); every change goes through the registry
 * object, which validates the whole resulting configuration and applies it atomically. The
 * configuration version is the ETag; writes honour If-Match (412 when stale) and `?dry_run=1`.
 * Switchyard's short routes are here; Cloudflare's resource paths (/accounts/…, /zones/…) beside
 * them come from cloudflare-routes.ts, and both share the handlers of handlers.ts.
 */
import { type IRequest, Router, StatusError } from "itty-router";
import type { Collection } from "../config/operations";
import type { WriteResult } from "../contract/status";
import type { Env } from "../env";
import { DASHBOARD_EVENTS, toDashboardData } from "../observe/dashboard-data";
import { getAuthority } from "../registry/objects";
import { authenticate } from "./auth";
import { addCloudflareRoutes } from "./cloudflare-routes";
import { checkBodyZone } from "./cloudflare-scope";
import { AdminError, ENVELOPE_TAKEN, fromEnvelope, toFailure, toSuccess, toSuccessJson } from "./envelope";
import {
	type AdminRequest,
	type Args,
	bodyOf,
	change,
	listOf,
	optionalBody,
	param,
	throwIfRefused,
	toEtag,
	writeItem,
	writeOptions,
} from "./handlers";
import { addRegistrationRoutes, isRegistrationRoute } from "./registration-routes";

/** Paths under this prefix are reserved for Switchyard and never proxied. */
export const RESERVED_PREFIX = "/_lb/";
export const ADMIN_API_BASE = "/_lb/api";

const COLLECTIONS: readonly Collection[] = ["monitors", "pools", "load_balancers"];
const READ_METHODS = new Set(["GET", "HEAD"]);

async function withCaller(request: IRequest, env: Env): Promise<undefined> {
	const registration = isRegistrationRoute(request.method, new URL(request.url).pathname);
	const caller = await authenticate(request.headers.get("authorization"), env, registration);
	if (caller.role === "read" && !READ_METHODS.has(request.method)) {
		throw new AdminError("forbidden", "this token may only read; changes need ADMIN_TOKEN");
	}
	(request as AdminRequest).caller = caller;
	return undefined;
}

function toErrorResponse(error: unknown): Response {
	if (error instanceof AdminError) return toFailure(error);
	if (error instanceof StatusError && error.status === 404)
		return toFailure(new AdminError("not_found", error.message));
	console.error("admin API error", error);
	return toFailure(new AdminError("internal", "the admin API failed; see the Worker's logs"));
}

/** PATCH or PUT of one origin of a pool. */
function writeOrigin(action: "patch" | "replace") {
	return async (request: IRequest, env: Env) =>
		change(request as AdminRequest, env, {
			target: "origins",
			action,
			pool: param(request, "pool"),
			key: param(request, "name"),
			body: await bodyOf(request),
		});
}

const router = Router<IRequest, Args>({
	base: ADMIN_API_BASE,
	before: [withCaller],
	catch: toErrorResponse,
	finally: [
		(response: Response | undefined, request: IRequest) =>
			response ??
			toFailure(new AdminError("not_found", `no admin route ${request.method} ${new URL(request.url).pathname}`)),
	],
});

router
	.get("/config", async (_request, env) => {
		const { version, json } = await getAuthority(env).getConfig();
		return toSuccessJson(json, { headers: { etag: toEtag(version) } });
	})
	.put("/config", async (request, env) => {
		const options = writeOptions(request as AdminRequest);
		// GET /config's answer saved to a file and sent back (the README's round trip): its result is the document.
		const body = await bodyOf(request);
		const document = fromEnvelope(body);
		const balancers = (document ?? body).load_balancers;
		if (Array.isArray(balancers)) {
			balancers.forEach((lb, i) => {
				if (lb !== null && typeof lb === "object") checkBodyZone(env, lb, undefined, `load_balancers[${i}].zone_id`);
			});
		}
		const result = await getAuthority(env).putConfig(document ?? body, options);
		throwIfRefused(result, options.ifMatch);
		const messages = document ? [ENVELOPE_TAKEN, ...result.messages] : result.messages;
		return toSuccess(
			{ version: result.version, changed: result.changed, dry_run: options.dryRun, changes: result.changes },
			{ messages, headers: { etag: toEtag(result.version) } },
		);
	})
	.get("/status", async (_request, env) => toSuccess(await getAuthority(env).status()))
	.get("/events", async (request, env) => {
		const limit = Number(request.query.limit ?? 100);
		if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
			throw new AdminError("invalid_request", "limit must be a whole number from 1 to 1000");
		}
		return toSuccess(await getAuthority(env).events(limit));
	})
	// The dashboard's one read (/_lb/): status, each counter object's counts, the latest events, the caller's role.
	.get("/dashboard", async (request, env) => {
		const report = await getAuthority(env).dashboard(DASHBOARD_EVENTS);
		// The registration token never gets here (auth.ts answers it 403).
		const role = (request as AdminRequest).caller.role === "admin" ? "admin" : "read";
		return toSuccess(toDashboardData(report, role, Date.now()));
	});

for (const collection of COLLECTIONS) {
	const keyName = collection === "load_balancers" ? "hostname or id" : "id";
	const keyOf = (request: IRequest) => {
		const key = param(request, "key");
		return collection === "load_balancers" ? key.toLowerCase() : key;
	};
	/** A load balancer's zone_id, when sent, must be ZONE_ID's when that is set. */
	const checkBody = (body: Record<string, unknown>, env: Env) => {
		if (collection === "load_balancers") checkBodyZone(env, body);
	};
	const write = (action: "replace" | "patch") => writeItem(collection, action, keyOf, checkBody);
	router
		.get(`/${collection}`, async (_request, env) => toSuccess(await listOf(env, collection)))
		.post(`/${collection}`, async (request, env) => {
			const body = await bodyOf(request);
			checkBody(body, env);
			return change(request as AdminRequest, env, { target: collection, action: "create", body }, 201);
		})
		.get(`/${collection}/:key`, async (request, env) => {
			const json = await getAuthority(env).readItem(collection, keyOf(request));
			if (json === undefined)
				throw new AdminError("not_found", `no ${collection.slice(0, -1)} with ${keyName} "${keyOf(request)}"`);
			return toSuccessJson(json);
		})
		.put(`/${collection}/:key`, write("replace"))
		.patch(`/${collection}/:key`, write("patch"))
		.delete(`/${collection}/:key`, async (request, env) =>
			change(request as AdminRequest, env, { target: collection, action: "delete", key: keyOf(request) }),
		);
}

router
	.get("/pools/:pool/origins", async (request, env) => {
		const json = await getAuthority(env).readItem("pools", param(request, "pool"));
		if (json === undefined) throw new AdminError("not_found", `no pool with id "${param(request, "pool")}"`);
		return toSuccess((JSON.parse(json) as { origins: unknown[] }).origins);
	})
	.post("/pools/:pool/origins", async (request, env) =>
		change(
			request as AdminRequest,
			env,
			{
				target: "origins",
				action: "create",
				pool: param(request, "pool"),
				body: await bodyOf(request),
			},
			201,
		),
	)
	.get("/pools/:pool/origins/:name", async (request, env) => {
		const json = await getAuthority(env).readItem("origins", param(request, "name"), param(request, "pool"));
		if (json === undefined) {
			throw new AdminError("not_found", `pool "${param(request, "pool")}" has no origin "${param(request, "name")}"`);
		}
		return toSuccessJson(json);
	})
	.patch("/pools/:pool/origins/:name", writeOrigin("patch"))
	.put("/pools/:pool/origins/:name", writeOrigin("replace"))
	.delete("/pools/:pool/origins/:name", async (request, env) =>
		change(request as AdminRequest, env, {
			target: "origins",
			action: "delete",
			pool: param(request, "pool"),
			key: param(request, "name"),
		}),
	)
	.post("/pools/:pool/origins/:name/drain", async (request, env) => {
		const result = await getAuthority(env).drain(
			param(request, "pool"),
			param(request, "name"),
			(request as AdminRequest).caller.actor,
		);
		if (!result.ok) throw new AdminError("not_found", result.message);
		return toSuccess(result, {
			messages: ["no new requests go to this origin; requests in flight finish"],
			headers: { etag: toEtag(result.version) },
		});
	})
	.post("/pools/:pool/origins/:name/enable", async (request, env) => {
		const result = await getAuthority(env).enable(
			param(request, "pool"),
			param(request, "name"),
			(request as AdminRequest).caller.actor,
		);
		if (!result.ok) {
			if ("message" in result && result.status === 404) throw new AdminError("not_found", result.message);
			throwIfRefused(result as WriteResult, undefined);
		}
		return toSuccess(result, "version" in result ? { headers: { etag: toEtag(result.version) } } : {});
	});

addCloudflareRoutes(router);
addRegistrationRoutes(router);

router.post("/affinity/rotate", async (request, env) => {
	// An empty body rotates; a JSON body may say { "drop_earlier_keys": true }.
	const body = await optionalBody(request);
	const unknown = Object.keys(body).filter((key) => key !== "drop_earlier_keys");
	if (unknown.length > 0 || !["boolean", "undefined"].includes(typeof body.drop_earlier_keys)) {
		throw new AdminError("invalid_request", 'the body may only be { "drop_earlier_keys": true | false }');
	}
	if (env.AFFINITY_SECRET) {
		throw new AdminError(
			"conflict",
			"session affinity cookies are sealed with the AFFINITY_SECRET secret: rotate it by moving it to AFFINITY_SECRET_PREVIOUS and setting a new AFFINITY_SECRET",
		);
	}
	const dropEarlier = body.drop_earlier_keys === true;
	const result = await getAuthority(env).rotateAffinityKey((request as AdminRequest).caller.actor, dropEarlier);
	return toSuccess(result, {
		messages: [
			dropEarlier
				? "new cookies are sealed with a new key; cookies issued before no longer open (visitors are placed afresh)"
				: `new cookies are sealed with a new key; cookies issued before still open until ${result.earlier_keys_valid_until}`,
		],
	});
});

export const adminRouter = router;
