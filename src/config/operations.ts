/**
 * One change to the configuration document, as the admin API's CRUD routes express it: create,
 * replace, patch or delete a monitor, pool, origin or load balancer. Pure: takes the current
 * document, returns the next one (to be validated as a whole) or a refusal with the HTTP status
 * that fits (404 unknown id, 409 conflict such as deleting a pool that is still referenced).
 */
import type { Collection, ConfigOperation } from "../contract/status";
import { type Config, POOL_MAP_FIELDS } from "./schema";

export type { Collection, ConfigOperation };

export type OperationResult =
	| { readonly ok: true; readonly document: ConfigDocument; readonly key: string; readonly summary: string }
	| { readonly ok: false; readonly status: 400 | 404 | 409; readonly message: string; readonly field?: string };

type Item = Record<string, unknown>;

/** The configuration as plain JSON objects, the shape PUT /config takes. */
export interface ConfigDocument {
	monitors: Item[];
	pools: Item[];
	load_balancers: Item[];
	notifications?: Item[];
}

const SINGULAR: Record<Collection | "origins", string> = {
	monitors: "monitor",
	pools: "pool",
	load_balancers: "load balancer",
	origins: "origin",
};

/** The field that identifies an item of each collection. */
const KEY_FIELD: Record<Collection | "origins", string> = {
	monitors: "id",
	pools: "id",
	load_balancers: "name",
	origins: "name",
};

export function toDocument(config: Config): ConfigDocument {
	return structuredClone({
		monitors: config.monitors,
		pools: config.pools,
		load_balancers: config.load_balancers,
		notifications: config.notifications,
	}) as unknown as ConfigDocument;
}

/** An item's key as validation will store it: trimmed, and lower-cased for hostnames. */
function keyOf(target: Collection | "origins", item: Item): string {
	const value = item[KEY_FIELD[target]];
	// Not a string: validation refuses it later. JSON, not String(): String() of an object whose
	// `toString` is not a function ({"id": {"toString": 1}}) throws (issue 15: that was a 500).
	const key =
		typeof value === "string"
			? value.trim()
			: typeof value === "object" && value !== null
				? JSON.stringify(value)
				: String(value ?? "");
	return target === "load_balancers" ? key.toLowerCase() : key;
}

/** Where a pool id is still used by a load balancer, or undefined when it is not. */
export function poolReference(lb: Item, poolId: string): string | undefined {
	if ((lb.default_pools as unknown[] | undefined)?.includes(poolId)) return "default_pools";
	if (lb.fallback_pool === poolId) return "fallback_pool";
	for (const field of POOL_MAP_FIELDS) {
		const map = (lb[field] ?? {}) as Record<string, unknown[]>;
		for (const [where, pools] of Object.entries(map)) if (pools?.includes(poolId)) return `${field}.${where}`;
	}
	const weights = ((lb.random_steering as Item | undefined)?.pool_weights ?? {}) as Item;
	if (poolId in weights) return "random_steering.pool_weights";
	return undefined;
}

function conflictOnDelete(document: ConfigDocument, target: Collection, key: string): string | undefined {
	if (target === "monitors") {
		const user = document.pools.find((pool) => pool.monitor === key);
		return user ? `monitor "${key}" is used by pool "${user.id}"; change the pool first` : undefined;
	}
	if (target === "pools") {
		for (const lb of document.load_balancers) {
			const where = poolReference(lb, key);
			if (where) return `pool "${key}" is used by load balancer "${lb.name}" (${where}); change it first`;
		}
	}
	return undefined;
}

/**
 * Applies one operation; `newId` makes ids for created objects that do not name one. A load
 * balancer is named by its hostname or its id.
 */
export function applyOperation(current: ConfigDocument, op: ConfigOperation, newId: () => string): OperationResult {
	const document = structuredClone(current);
	if (op.target === "origins") return applyOriginOperation(document, op);
	const list = document[op.target];
	const noun = SINGULAR[op.target];
	const keyField = KEY_FIELD[op.target];

	if (op.action === "create") {
		const body = { ...op.body };
		// Every new object gets an id unless it names one (a load balancer's key is its name, but it has an id too).
		if (body.id === undefined) body.id = newId();
		const key = keyOf(op.target, body);
		if (key === "") return { ok: false, status: 400, message: `a ${noun} needs a "${keyField}"`, field: keyField };
		if (list.some((item) => keyOf(op.target, item) === key)) {
			return { ok: false, status: 409, message: `a ${noun} "${key}" already exists` };
		}
		if (op.target === "load_balancers" && list.some((item) => item.id === body.id)) {
			return { ok: false, status: 409, message: `a ${noun} with id "${String(body.id)}" already exists` };
		}
		list.push(body);
		return { ok: true, document, key, summary: `created ${noun} "${key}"` };
	}

	const index = findIndexByKey(list, op.target, op.key);
	const found = list[index];
	if (found === undefined) return { ok: false, status: 404, message: `no ${noun} "${op.key}"` };
	// A load balancer named by its id: the name it has now identifies it in messages and references.
	const byId = op.target === "load_balancers" && found.id === op.key;
	const key = op.target === "load_balancers" ? keyOf(op.target, found) : op.key;
	if (op.action === "delete") {
		const conflict = conflictOnDelete(document, op.target, key);
		if (conflict) return { ok: false, status: 409, message: conflict };
		list.splice(index, 1);
		return { ok: true, document, key, summary: `deleted ${noun} "${key}"` };
	}
	const refused = refuseKeyChange(op.target, op.body, op.key, found, byId);
	if (refused) return refused;
	const next = op.action === "patch" ? { ...found, ...op.body } : { ...op.body };
	// Named by its id, a load balancer may take a new name (Cloudflare's update does); its id, and the zone it was made in, stay.
	if (!byId || next.name === undefined) next[keyField] = found[keyField];
	if (op.target === "load_balancers") {
		next.id = found.id;
		// Read-only, as Cloudflare's: the zone it was created under (or none) stays.
		if (found.zone_id === undefined) delete next.zone_id;
		else next.zone_id = found.zone_id;
	}
	list[index] = next;
	const newKey = op.target === "load_balancers" ? keyOf(op.target, next) : op.key;
	return {
		ok: true,
		document,
		key: newKey,
		summary: `${op.action === "patch" ? "patched" : "replaced"} ${noun} "${newKey}"`,
	};
}

/** The index of the item `key` names: by id or name for a load balancer, by its key field otherwise; -1 when none. */
function findIndexByKey(list: readonly Item[], target: Collection, key: string): number {
	const byKey = list.findIndex((item) => keyOf(target, item) === key);
	if (byKey !== -1 || target !== "load_balancers") return byKey;
	return list.findIndex((item) => item.id === key);
}

/** A 400 when a body would change what identifies its item (the name a path names it by, or an id) or a load balancer's zone. */
function refuseKeyChange(
	target: Collection,
	body: Item,
	pathKey: string,
	found: Item,
	byId: boolean,
): Extract<OperationResult, { ok: false }> | undefined {
	const keyField = KEY_FIELD[target];
	if (!byId && body[keyField] !== undefined && keyOf(target, body) !== pathKey) {
		return {
			ok: false,
			status: 400,
			message: `"${keyField}" cannot change (the path names "${pathKey}")`,
			field: keyField,
		};
	}
	if (target === "load_balancers" && body.id !== undefined && body.id !== found.id) {
		return { ok: false, status: 400, message: `"id" cannot change (it is "${String(found.id)}")`, field: "id" };
	}
	if (target === "load_balancers" && body.zone_id !== undefined && body.zone_id !== found.zone_id) {
		const now = found.zone_id === undefined ? "it has none" : `it is "${String(found.zone_id)}"`;
		return {
			ok: false,
			status: 400,
			message: `"zone_id" cannot change (${now}): a load balancer's zone is set when it is created`,
			field: "zone_id",
		};
	}
	return undefined;
}

function applyOriginOperation(
	document: ConfigDocument,
	op: Extract<ConfigOperation, { target: "origins" }>,
): OperationResult {
	const pool = document.pools.find((item) => item.id === op.pool);
	if (!pool) return { ok: false, status: 404, message: `no pool "${op.pool}"` };
	const origins = Array.isArray(pool.origins) ? (pool.origins as Item[]) : [];
	pool.origins = origins;
	if (op.action === "create") {
		const key = keyOf("origins", op.body);
		if (key === "") return { ok: false, status: 400, message: 'an origin needs a "name"', field: "name" };
		if (origins.some((origin) => keyOf("origins", origin) === key)) {
			return { ok: false, status: 409, message: `pool "${op.pool}" already has an origin "${key}"` };
		}
		origins.push({ ...op.body });
		return { ok: true, document, key, summary: `added origin "${key}" to pool "${op.pool}"` };
	}
	const index = origins.findIndex((origin) => keyOf("origins", origin) === op.key);
	if (index === -1) return { ok: false, status: 404, message: `pool "${op.pool}" has no origin "${op.key}"` };
	if (op.action === "delete") {
		origins.splice(index, 1);
		return { ok: true, document, key: op.key, summary: `removed origin "${op.key}" from pool "${op.pool}"` };
	}
	if (op.body.name !== undefined && keyOf("origins", op.body) !== op.key) {
		return { ok: false, status: 400, message: `"name" cannot change (the path names "${op.key}")`, field: "name" };
	}
	origins[index] = { ...(op.action === "patch" ? origins[index] : {}), ...op.body, name: op.key };
	return {
		ok: true,
		document,
		key: op.key,
		summary: `${op.action === "patch" ? "patched" : "replaced"} origin "${op.key}" in pool "${op.pool}"`,
	};
}
