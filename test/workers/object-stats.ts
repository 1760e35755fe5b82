/**
 * Test-only counts of what the Durable Objects did, kept out of the shipped classes: RPC calls per
 * method (counted by wrapping the classes' RPC methods, which the runtime looks up on the
 * prototype), requests planned, and SQLite rows written (SQLite's own `total_changes()` for the
 * object's connection). Import this module before the calls to count.
 */
import { runInDurableObject } from "cloudflare:test";
import { Counter } from "../../src/registry/counter";
import { Hub } from "../../src/registry/hub";
import { Registry } from "../../src/registry/registry";

export interface ObjectStats {
	/** RPC calls since the object started (or since this module was loaded, if later). */
	readonly calls: number;
	/** Requests a counter object planned (several per call when they share one); 0 for the authority. */
	readonly routed: number;
	readonly callsByMethod: Record<string, number>;
	/** Rows its SQLite statements inserted, updated or deleted. */
	readonly rowsWritten: number;
}

const callsOf = new WeakMap<object, Record<string, number>>();

function countCalls(prototype: object, methods: readonly string[]): void {
	const target = prototype as Record<string, (...args: unknown[]) => unknown>;
	for (const method of methods) {
		const original = target[method];
		if (typeof original !== "function") throw new Error(`no RPC method ${method} to count`);
		target[method] = function (this: object, ...args: unknown[]) {
			const counts = callsOf.get(this) ?? {};
			counts[method] = (counts[method] ?? 0) + 1;
			callsOf.set(this, counts);
			return original.apply(this, args);
		};
	}
}

countCalls(Registry.prototype, [
	"replica",
	"resolve",
	"recordEjections",
	"getConfig",
	"putConfig",
	"changeConfig",
	"readItem",
	"drain",
	"enable",
	"status",
	"events",
	"sweep",
	"ensureAlarm",
]);
countCalls(Counter.prototype, ["route", "routeMany", "release", "adopt", "counters"]);
countCalls(Hub.prototype, ["replica", "adopt"]);

/** What `stub`'s object did so far. */
export function statsOf(stub: DurableObjectStub<Rpc.DurableObjectBranded>): Promise<ObjectStats> {
	return runInDurableObject(stub as DurableObjectStub<Registry>, (instance, state) => {
		const callsByMethod = { ...(callsOf.get(instance) ?? {}) };
		const calls = Object.values(callsByMethod).reduce((sum, count) => sum + count, 0);
		const core = (instance as unknown as { core?: { routed: number } }).core;
		const rowsWritten = state.storage.sql.exec<{ rows: number }>("SELECT total_changes() AS rows").one().rows;
		return { calls, routed: core?.routed ?? 0, callsByMethod, rowsWritten };
	});
}
