/**
 * What changed between two configurations, object by object: added, removed, or changed with the
 * names of the fields that differ (origins are compared one by one inside their pool), leaving out
 * the read-only timestamps. Used for dry runs and the audit log. Pure.
 */
import type { ConfigChange } from "../contract/status";
import type { ConfigDocument } from "./operations";
import { READ_ONLY_FIELDS } from "./schema";

export type { ConfigChange };

type Item = Record<string, unknown>;

/** Equal as JSON values: the order of object keys does not matter, the order of array items does. */
export function same(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => same(item, b[i]));
	const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
	const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
	return (
		keysA.length === keysB.length &&
		keysA.every((key) => same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
	);
}

function diffList(
	kind: ConfigChange["kind"],
	before: readonly Item[],
	after: readonly Item[],
	keyOf: (item: Item) => string,
): ConfigChange[] {
	const changes: ConfigChange[] = [];
	const old = new Map(before.map((item) => [keyOf(item), item]));
	const next = new Map(after.map((item) => [keyOf(item), item]));
	for (const [id, item] of next) {
		const previous = old.get(id);
		if (!previous) {
			changes.push({ kind, id, change: "added" });
			continue;
		}
		// created_on / modified_on are the registry's record of changes, not changes themselves.
		const fields = [...new Set([...Object.keys(previous), ...Object.keys(item)])].filter(
			(field) => !READ_ONLY_FIELDS.includes(field) && !same(previous[field], item[field]),
		);
		if (fields.length > 0) changes.push({ kind, id, change: "changed", fields: fields.sort() });
	}
	for (const id of old.keys()) if (!next.has(id)) changes.push({ kind, id, change: "removed" });
	return changes;
}

export function diffConfig(before: ConfigDocument, after: ConfigDocument): ConfigChange[] {
	const changes = diffList("monitor", before.monitors, after.monitors, (item) => String(item.id));
	const poolChanges = diffList("pool", before.pools, after.pools, (item) => String(item.id));
	const oldPools = new Map(before.pools.map((pool) => [String(pool.id), pool]));
	const newPools = new Map(after.pools.map((pool) => [String(pool.id), pool]));
	for (const change of poolChanges) {
		changes.push(change);
		if (change.change !== "changed" || !change.fields?.includes("origins")) continue;
		const originsOf = (pool: Item | undefined) => (Array.isArray(pool?.origins) ? (pool.origins as Item[]) : []);
		changes.push(
			...diffList(
				"origin",
				originsOf(oldPools.get(change.id)),
				originsOf(newPools.get(change.id)),
				(item) => `${change.id}/${item.name}`,
			),
		);
	}
	changes.push(...diffList("load_balancer", before.load_balancers, after.load_balancers, (item) => String(item.name)));
	const notifications = (document: ConfigDocument) => document.notifications ?? [];
	changes.push(...diffList("notification", notifications(before), notifications(after), (item) => String(item.id)));
	return changes;
}
