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
function poolReference(lb: Item, poolId: string): string | undefined {
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

/** Applies one operation; `newId` makes ids for created monitors and pools that do not name one. */
export function applyOperation(current: ConfigDocument, op: ConfigOperation, newId: () => string): OperationResult {
	const document = structuredClone(current);
	if (op.target === "origins") return applyOriginOperation(document, op);
	const list = document[op.target];
	const noun = SINGULAR[op.target];
	const keyField = KEY_FIELD[op.target];

	if (op.action === "create") {
		const body = { ...op.body };
		if (body[keyField] === undefined && op.target !== "load_balancers") body[keyField] = newId();
		const key = keyOf(op.target, body);
		if (key === "") return { ok: false, status: 400, message: `a ${noun} needs a "${keyField}"`, field: keyField };
		if (list.some((item) => keyOf(op.target, item) === key)) {
			return { ok: false, status: 409, message: `a ${noun} "${key}" already exists` };
		}
		list.push(body);
		return { ok: true, document, key, summary: `created ${noun} "${key}"` };
	}

	const index = list.findIndex((item) => keyOf(op.target, item) === op.key);
	if (index === -1) return { ok: false, status: 404, message: `no ${noun} "${op.key}"` };
	if (op.action === "delete") {
		const conflict = conflictOnDelete(document, op.target, op.key);
		if (conflict) return { ok: false, status: 409, message: conflict };
		list.splice(index, 1);
		return { ok: true, document, key: op.key, summary: `deleted ${noun} "${op.key}"` };
	}
	const bodyKey = op.body[keyField];
	if (bodyKey !== undefined && keyOf(op.target, op.body) !== op.key) {
		return {
			ok: false,
			status: 400,
			message: `"${keyField}" cannot change (the path names "${op.key}")`,
			field: keyField,
		};
	}
	const next = op.action === "patch" ? { ...list[index], ...op.body } : { ...op.body };
	next[keyField] = list[index]?.[keyField];
	list[index] = next;
	return {
		ok: true,
		document,
		key: op.key,
		summary: `${op.action === "patch" ? "patched" : "replaced"} ${noun} "${op.key}"`,
	};
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
