/**
 * Cloudflare's load balancer paths: `/zones/:zone_id/load_balancers[/:id]` and
 * `/accounts/:account_id/load_balancers[/:id]` (the SDK uses the latter when given an account id).
 * A load balancer made under a zone keeps its `zone_id`; a zone's paths see its own load balancers
 * and those with none, and answer 404 for the others. An account's paths see them all.
 */
import type { IRequest, RouterType } from "itty-router";
import type { Env } from "../env";
import { ACCOUNT_PATH, deleteItem, inAccount, readOrThrow, toListResponse } from "./cloudflare-common";
import { checkBodyZone, checkZone, isInZone } from "./cloudflare-scope";
import { AdminError, toSuccess } from "./envelope";
import { type AdminRequest, type Args, bodyOf, change, listOf, param, writeItem } from "./handlers";

const ZONE_PATH = "/zones/:zone_id/load_balancers";

type Item = Record<string, unknown>;
type Handler = (request: AdminRequest, env: Env, zone: string | undefined) => Promise<Response>;

/** A handler for both paths: `zone` is the zone id (checked against ZONE_ID) on a zone's path, undefined on an account's. */
function inZone(handler: Handler) {
	return (request: IRequest, env: Env) => {
		const zone = param(request, "zone_id");
		checkZone(env, zone);
		return handler(request as AdminRequest, env, zone);
	};
}

function both(handler: Handler) {
	return { account: inAccount((request, env) => handler(request, env, undefined)), zone: inZone(handler) };
}

/** The load balancer the path names (by id, or by hostname), or 404; on a zone's path, one that zone sees. */
async function readBalancer(request: AdminRequest, env: Env, zone: string | undefined): Promise<Item> {
	const key = param(request, "id").toLowerCase();
	const lb = await readOrThrow(env, "load_balancers", key);
	if (zone !== undefined && !isInZone(lb, zone)) {
		throw new AdminError("not_found", `no load balancer with id "${key}" in zone "${zone}"`);
	}
	return lb;
}

const list = both(async (request, env, zone) => {
	const all = await listOf(env, "load_balancers");
	return toListResponse(request, zone === undefined ? all : all.filter((lb) => isInZone(lb, zone)));
});

const create = both(async (request, env, zone) => {
	const body = await bodyOf(request);
	checkBodyZone(env, body, zone);
	if (zone !== undefined) body.zone_id = zone;
	return change(request, env, { target: "load_balancers", action: "create", body });
});

const read = both(async (request, env, zone) => toSuccess(await readBalancer(request, env, zone)));

const write = (action: "replace" | "patch") =>
	both((request, env, zone) =>
		writeItem(
			"load_balancers",
			action,
			async () => String((await readBalancer(request, env, zone)).id),
			(body) => {
				// zone_id is read-only, as Cloudflare's: the path's own zone may be sent back, and the stored one stays.
				checkBodyZone(env, body, zone);
				if (zone !== undefined) delete body.zone_id;
			},
		)(request, env),
	);
const replace = write("replace");
const patch = write("patch");

const remove = both(async (request, env, zone) => {
	const lb = await readBalancer(request, env, zone);
	return deleteItem(request, env, "load_balancers", String(lb.id), String(lb.id));
});

/** Registers both paths; after the account's other load_balancers paths, whose first segment would match `:id`. */
export function addBalancerRoutes(router: RouterType<IRequest, Args>): void {
	for (const [base, scope] of [
		[ACCOUNT_PATH, "account"],
		[ZONE_PATH, "zone"],
	] as const) {
		router
			.get(base, list[scope])
			.post(base, create[scope])
			.get(`${base}/:id`, read[scope])
			.put(`${base}/:id`, replace[scope])
			.patch(`${base}/:id`, patch[scope])
			.delete(`${base}/:id`, remove[scope]);
	}
}
