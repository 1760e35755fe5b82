/**
 * Cloudflare's load balancing paths for monitors, pools and previews, beside the short routes, so
 * Cloudflare's own SDK (and tools built on the same endpoints) manage Switchyard by changing their
 * base URL: `/accounts/:account_id/load_balancers/{monitors,pools,preview}…`, with Cloudflare's
 * methods (PUT replaces, PATCH edits, DELETE answers `{ id }`) and lists with `result_info`. Every
 * change goes through the same authority writes as the short routes. Resources Switchyard does not
 * have (regions, searches, monitor groups) answer 404 saying so. docs/api.md lists them all.
 */
import { connect } from "cloudflare:sockets";
import type { IRequest, RouterType } from "itty-router";
import type { Collection } from "../config/operations";
import type { Monitor, Pool } from "../config/schema";
import type { Env } from "../env";
import { getAuthority } from "../registry/objects";
import { addBalancerRoutes } from "./cloudflare-balancers";
import { ACCOUNT_PATH, deleteItem, inAccount, readOrThrow, toListResponse } from "./cloudflare-common";
import { toMonitorReferences, toPage, toPoolHealth, toPoolReferences } from "./cloudflare-shapes";
import { AdminError, toSuccess, toSuccessJson } from "./envelope";
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
import { runPreview, toPreviewMonitor } from "./previews";

type Item = Record<string, unknown>;

/** Runs a preview of `monitor` over `pools`, keeps its results, and answers its id and the pools it covered. */
async function preview(env: Env, monitor: Monitor, pools: readonly Pool[]): Promise<Response> {
	const results = await runPreview(monitor, pools, fetch, connect);
	const previewId = crypto.randomUUID().replaceAll("-", "");
	await getAuthority(env).keepPreview(previewId, JSON.stringify(results));
	return toSuccess({
		preview_id: previewId,
		pools: Object.fromEntries(pools.map((pool) => [pool.id, pool.name])),
	});
}

function addCollectionRoutes(router: RouterType<IRequest, Args>, collection: "monitors" | "pools"): void {
	const base = `${ACCOUNT_PATH}/${collection}`;
	const write = (action: "replace" | "patch") =>
		inAccount(writeItem(collection, action, (request) => param(request, "id")));
	router
		.get(
			base,
			inAccount(async (request, env) => {
				const items = await listOf(env, collection);
				// pools.list's `monitor` filter (Cloudflare's monitors list has none: there it is ignored).
				const monitor = collection === "pools" ? request.query.monitor : undefined;
				const shown = typeof monitor === "string" ? items.filter((item) => item.monitor === monitor) : items;
				return toListResponse(request, shown);
			}),
		)
		.post(
			base,
			inAccount(async (request, env) =>
				change(request, env, {
					target: collection,
					action: "create",
					body: await bodyOf(request),
				}),
			),
		)
		.get(
			`${base}/:id`,
			inAccount(async (request, env) => toSuccess(await readOrThrow(env, collection, param(request, "id")))),
		)
		.put(`${base}/:id`, write("replace"))
		.patch(`${base}/:id`, write("patch"))
		.delete(
			`${base}/:id`,
			inAccount(async (request, env) => {
				const item = await readOrThrow(env, collection, param(request, "id"));
				return deleteItem(request, env, collection, String(item.id), String(item.id));
			}),
		);
}

const UNSUPPORTED: Record<string, string> = {
	regions:
		"Cloudflare's load balancing regions (Switchyard steers by the region codes of region_pools, but has no regions resource)",
	search: "Cloudflare's load balancing search",
	monitor_groups: "Cloudflare's monitor groups",
};

export function addCloudflareRoutes(router: RouterType<IRequest, Args>): void {
	for (const [path, what] of Object.entries(UNSUPPORTED)) {
		const unsupported = inAccount(async () => {
			throw new AdminError("not_found", `${what} are not supported by Switchyard; docs/api.md lists what is`);
		});
		router.all(`${ACCOUNT_PATH}/${path}`, unsupported).all(`${ACCOUNT_PATH}/${path}/*`, unsupported);
	}
	addCollectionRoutes(router, "monitors");
	router
		.get(
			`${ACCOUNT_PATH}/monitors/:id/references`,
			inAccount(async (request, env) => {
				const monitor = await readOrThrow(env, "monitors", param(request, "id"));
				return toListResponse(request, toMonitorReferences(String(monitor.id), await listOf(env, "pools")));
			}),
		)
		.post(
			`${ACCOUNT_PATH}/monitors/:id/preview`,
			inAccount(async (request, env) => {
				const stored = await readOrThrow(env, "monitors", param(request, "id"));
				const monitor = toPreviewMonitor(stored, await optionalBody(request), String(stored.id));
				const pools = (await listOf(env, "pools")) as unknown as Pool[];
				return preview(
					env,
					monitor,
					pools.filter((pool) => pool.monitor === stored.id),
				);
			}),
		)
		.patch(
			`${ACCOUNT_PATH}/pools`,
			inAccount(async (request, env) => bulkEditPools(request, env)),
		);
	addCollectionRoutes(router, "pools");
	router
		.get(
			`${ACCOUNT_PATH}/pools/:id/health`,
			inAccount(async (request, env) => {
				const pool = await readOrThrow(env, "pools", param(request, "id"));
				const status = (await getAuthority(env).status()).pools.find((entry) => entry.id === pool.id);
				if (!status) throw new AdminError("not_found", `no pool with id "${String(pool.id)}"`);
				return toSuccess(toPoolHealth(status));
			}),
		)
		.post(
			`${ACCOUNT_PATH}/pools/:id/preview`,
			inAccount(async (request, env) => {
				const pool = (await readOrThrow(env, "pools", param(request, "id"))) as unknown as Pool;
				const stored = pool.monitor ? await readOrThrow(env, "monitors", pool.monitor) : undefined;
				const monitor = toPreviewMonitor(stored, await optionalBody(request), pool.monitor ?? "preview");
				return preview(env, monitor, [pool]);
			}),
		)
		.get(
			`${ACCOUNT_PATH}/pools/:id/references`,
			inAccount(async (request, env) => {
				const pool = await readOrThrow(env, "pools", param(request, "id"));
				const { json } = await getAuthority(env).getConfig();
				const config = JSON.parse(json) as Record<Collection, Item[]>;
				return toListResponse(request, toPoolReferences(pool, config.monitors, config.load_balancers));
			}),
		)
		.get(
			`${ACCOUNT_PATH}/preview/:preview_id`,
			inAccount(async (request, env) => {
				const id = param(request, "preview_id");
				const json = await getAuthority(env).preview(id);
				if (json === undefined)
					throw new AdminError("not_found", `no preview "${id}" (previews are kept for a while, the latest 100)`);
				return toSuccessJson(json);
			}),
		);
	addBalancerRoutes(router);
}

/**
 * PATCH …/pools: Cloudflare's bulk edit, which only clears `notification_email` on every pool
 * (`{ "notification_email": "" }`); `{}` (what the SDK sends without it) edits nothing. Either way it
 * answers every pool. One write of the whole configuration, at the version read, touching only the
 * pools that had an address (none had: nothing is written and the version stays).
 */
async function bulkEditPools(request: AdminRequest, env: Env): Promise<Response> {
	const body = await optionalBody(request);
	const others = Object.keys(body).filter((key) => key !== "notification_email");
	if (others.length > 0 || (body.notification_email !== undefined && body.notification_email !== "")) {
		throw new AdminError(
			"invalid_request",
			'a bulk edit of pools may only clear notification_email: send { "notification_email": "" }',
		);
	}
	const options = writeOptions(request);
	const authority = getAuthority(env);
	const { version, json } = await authority.getConfig();
	const document = JSON.parse(json) as Record<Collection, Item[]>;
	if (body.notification_email === "") {
		const hasAddress = (pool: Item) => pool.notification_email !== undefined && pool.notification_email !== "";
		document.pools = document.pools.map((pool) => (hasAddress(pool) ? { ...pool, notification_email: "" } : pool));
	}
	const result = await authority.putConfig(document, { ...options, ifMatch: options.ifMatch ?? version });
	throwIfRefused(result, options.ifMatch ?? version);
	const written = JSON.parse(result.resultJson) as Record<Collection, Item[]>;
	const page = toPage(written.pools, { page: request.query.page, per_page: request.query.per_page });
	return toSuccess(page.items, {
		messages: result.messages,
		headers: { etag: toEtag(result.version) },
		extra: { result_info: page.result_info, dry_run: options.dryRun, changes: result.changes },
	});
}
