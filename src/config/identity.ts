/**
 * What the registry, not the client, decides about each object: a load balancer's `id`, and every
 * object's `created_on` / `modified_on`, as Cloudflare's API has them. A load balancer without an id
 * takes the one of the load balancer of the same name already stored (so PUT /config and the seed
 * never break a reference), or a new one; timestamps a client sends are dropped and set again from
 * what is stored: `created_on` when the object first appeared, `modified_on` when it last changed.
 * Pure: ids and the time come in.
 */
import { same } from "./diff";
import { type Config, LOAD_BALANCER_ID, READ_ONLY_FIELDS } from "./schema";

type Item = Record<string, unknown>;

const COLLECTIONS = ["monitors", "pools", "load_balancers"] as const;

function isItem(value: unknown): value is Item {
	return value !== null && typeof value === "object" && !Array.isArray(value);
}

function withoutReadOnly(item: Item): Item {
	const copy = { ...item };
	for (const field of READ_ONLY_FIELDS) delete copy[field];
	return copy;
}

/** A load balancer's name as validation stores it (trimmed, lower case), for matching. */
function nameOf(item: Item): string | undefined {
	return typeof item.name === "string" ? item.name.trim().toLowerCase() : undefined;
}

/**
 * A raw document (PUT /config, the seed, a CRUD change) with its read-only fields dropped and every
 * load balancer given an id: its own, the stored one of its name, or `newId()`. Anything that is not
 * a document is returned as it is (validation reports it).
 */
export function withRegistryFields(input: unknown, current: Config, newId: () => string): unknown {
	if (!isItem(input)) return input;
	const out: Item = { ...input };
	for (const collection of COLLECTIONS) {
		const list = input[collection];
		if (Array.isArray(list)) out[collection] = list.map((item) => (isItem(item) ? withoutReadOnly(item) : item));
	}
	const balancers = out.load_balancers;
	if (!Array.isArray(balancers)) return out;
	const storedIds = new Map(current.load_balancers.map((lb) => [lb.name, lb.id]));
	out.load_balancers = balancers.map((item) => {
		if (!isItem(item) || (item.id !== undefined && item.id !== null && item.id !== "")) return item;
		const name = nameOf(item);
		return { ...item, id: (name !== undefined ? storedIds.get(name) : undefined) ?? newId() };
	});
	return out;
}

/** Equal but for the read-only fields. */
function sameContent(a: Item, b: Item): boolean {
	return same(withoutReadOnly(a), withoutReadOnly(b));
}

function stampList<T extends Item>(
	next: readonly T[],
	previous: readonly T[],
	keyOf: (item: T) => unknown,
	now: string,
): T[] {
	const before = new Map(previous.map((item) => [keyOf(item), item]));
	return next.map((item) => {
		const old = before.get(keyOf(item));
		const created = typeof old?.created_on === "string" ? old.created_on : now;
		const unchanged = old !== undefined && sameContent(old, item) && typeof old.modified_on === "string";
		const modified = unchanged ? old.modified_on : now;
		// Right after the id, where the schema puts them: a configuration read back from storage has the same bytes.
		const stamped: Item = { id: item.id, created_on: created, modified_on: modified, ...item };
		stamped.created_on = created;
		stamped.modified_on = modified;
		return stamped as T;
	});
}

/**
 * `next` with `created_on` / `modified_on` set from `previous` (the stored configuration): kept for
 * an object that did not change, `modified_on` moved to `nowIso` for one that did, both `nowIso` for
 * a new one. Monitors and pools are matched by id, load balancers by id (their names can change).
 */
export function toStamped(next: Config, previous: Config, nowIso: string): Config {
	return {
		monitors: stampList(next.monitors, previous.monitors, (item) => item.id, nowIso),
		pools: stampList(next.pools, previous.pools, (item) => item.id, nowIso),
		load_balancers: stampList(next.load_balancers, previous.load_balancers, (item) => item.id ?? item.name, nowIso),
		notifications: next.notifications,
	};
}

/** A stored configuration's load balancers, each with an id (older versions stored none). */
export function withLoadBalancerIds(config: Config, newId: () => string): Config {
	return { ...config, load_balancers: config.load_balancers.map((lb) => (lb.id ? lb : { ...lb, id: newId() })) };
}

/** Whether a stored configuration lacks something the registry adds (an id, a timestamp): it was stored by an older version. */
export function needsRegistryFields(config: Config): boolean {
	return COLLECTIONS.some((collection) =>
		(config[collection] as readonly Item[]).some(
			(item) =>
				item.created_on === undefined ||
				item.modified_on === undefined ||
				(collection === "load_balancers" && item.id === undefined),
		),
	);
}

/** A timestamp as the registry writes them (toISOString), or one Cloudflare's API shows. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function isTimestamp(value: unknown): boolean {
	return typeof value === "string" && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value));
}

/** A load balancer id as the schema takes it: 32 hex characters, trimmed and lower-cased. */
function balancerId(value: unknown): string | undefined {
	if (typeof value !== "string") return undefined;
	const trimmed = value.trim().toLowerCase();
	return LOAD_BALANCER_ID.test(trimmed) ? trimmed : undefined;
}

function shown(value: unknown): string {
	return JSON.stringify(value) ?? String(value);
}

/**
 * A stored document, before it is validated, with the values a version before ids and timestamps
 * may have kept as unknown fields and today's schema refuses: a load balancer's `id` that is not 32
 * hex characters (or repeats another's) is dropped, and so is a `zone_id` that is not a non-empty
 * string of at most 256 characters, and a `created_on` / `modified_on` that is not an ISO 8601
 * timestamp. Dropped ids and timestamps are given again on load. `repaired` says what was dropped,
 * for the log; empty when nothing was.
 */
export function repairStored(stored: unknown): { document: unknown; repaired: string[] } {
	const repaired: string[] = [];
	if (!isItem(stored)) return { document: stored, repaired };
	const document: Item = { ...stored };
	const ids = new Set<string>();
	for (const collection of COLLECTIONS) {
		const list = stored[collection];
		if (!Array.isArray(list)) continue;
		document[collection] = list.map((entry, index) => {
			if (!isItem(entry)) return entry;
			const item: Item = { ...entry };
			const at = `${collection}[${index}]`;
			const drop = (field: string, why: string) => {
				repaired.push(`${at}.${field} ${shown(item[field])} dropped (${why})`);
				delete item[field];
			};
			for (const field of READ_ONLY_FIELDS) {
				if (field in item && !isTimestamp(item[field])) drop(field, "not an ISO 8601 timestamp; set again");
			}
			if (collection !== "load_balancers") return item;
			if ("id" in item) {
				const id = balancerId(item.id);
				if (id === undefined) drop("id", "not 32 hexadecimal characters; a new id is made");
				else if (ids.has(id)) drop("id", "the id of an earlier load balancer; a new id is made");
				else ids.add(id);
			}
			if ("zone_id" in item) {
				const zone = item.zone_id;
				const valid = typeof zone === "string" && zone.trim().length > 0 && zone.trim().length <= 256;
				if (!valid) drop("zone_id", "not a zone id");
			}
			return item;
		});
	}
	return { document, repaired };
}
