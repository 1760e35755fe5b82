/**
 * What the handlers of Cloudflare's paths share: the account path and its check, lists with
 * `result_info`, reading the item a path names (404 when none), and DELETE answering `{ id }`.
 */
import type { IRequest } from "itty-router";
import type { Collection } from "../config/operations";
import type { Env } from "../env";
import { getAuthority } from "../registry/objects";
import { checkAccount } from "./cloudflare-scope";
import { toPage } from "./cloudflare-shapes";
import { AdminError, toSuccess } from "./envelope";
import { type AdminRequest, param, throwIfRefused, toEtag, writeOptions } from "./handlers";

export const ACCOUNT_PATH = "/accounts/:account_id/load_balancers";

type Item = Record<string, unknown>;
type Handler = (request: AdminRequest, env: Env) => Promise<Response>;

/** A handler of an account path: the account id is checked first (404 when ACCOUNT_ID names another). */
export function inAccount(handler: Handler) {
	return (request: IRequest, env: Env) => {
		checkAccount(env, param(request, "account_id"));
		return handler(request as AdminRequest, env);
	};
}

/** A list in Cloudflare's shape: the page asked for, with `result_info`. */
export function toListResponse(request: IRequest, items: readonly unknown[]): Response {
	const page = toPage(items, { page: request.query.page, per_page: request.query.per_page });
	return toSuccess(page.items, { extra: { result_info: page.result_info } });
}

const NOUN: Record<Collection, string> = { monitors: "monitor", pools: "pool", load_balancers: "load balancer" };

/** The stored item `key` names, or 404. */
export async function readOrThrow(env: Env, collection: Collection, key: string): Promise<Item> {
	const json = await getAuthority(env).readItem(collection, key);
	if (json === undefined) throw new AdminError("not_found", `no ${NOUN[collection]} with id "${key}"`);
	return JSON.parse(json) as Item;
}

/** DELETE as Cloudflare answers it: `{ id }` of what was deleted. */
export async function deleteItem(request: AdminRequest, env: Env, collection: Collection, key: string, id: string) {
	const options = writeOptions(request);
	const result = await getAuthority(env).changeConfig({ target: collection, action: "delete", key }, options);
	throwIfRefused(result, options.ifMatch);
	return toSuccess(
		{ id },
		{
			messages: result.messages,
			headers: { etag: toEtag(result.version) },
			extra: { dry_run: options.dryRun, changes: result.changes },
		},
	);
}
