// Issue 11: the Worker isolate's replica is built with the same RoutingState as the counter objects';
// it resolves hostnames, expands compact replies and plans alone when a counter object does not answer.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConfigInput } from "../../../src/config/schema";
import type { Replica } from "../../../src/contract/replica";
import type { RoutePlan } from "../../../src/contract/route";
import { COMPACT_TAG, type CompactPlan } from "../../../src/contract/wire";
import { ReplicaCache, type ReplicaSource } from "../../../src/edge/replica-cache";
import { toNoLoadBalancer } from "../../../src/routing/plan";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool, type LoadBalancerInput } from "../../fixtures/config";
import { type Deferred, deferred } from "../../fixtures/fetch";
import { aReplica } from "../../fixtures/replica";

const HOST = "app.example.com";
/** The isolate's clock (ReplicaCache reads Date.now). */
const T0 = Date.UTC(2025, 0, 1);

/** Pool p (a, b, c, d, monitored) behind HOST. */
function config(lb: Partial<LoadBalancerInput> = {}): ConfigInput {
	return aConfig({
		monitors: [aMonitor("mon")],
		pools: [
			aPool(
				"p",
				["a", "b", "c", "d"].map((name) => anOrigin(name)),
				{ monitor: "mon" },
			),
		],
		load_balancers: [aLoadBalancer(HOST, ["p"], lb)],
	});
}

const replicaAt = (state: number, overrides: Partial<Replica> = {}) => aReplica(config(), { state, ...overrides });

async function cacheAt(replica: Replica): Promise<ReplicaCache> {
	const cache = new ReplicaCache();
	await cache.load({ replica: async () => replica });
	return cache;
}

/** A source whose every fetch waits for the test to answer it. */
function pendingSource() {
	const fetches: Deferred<Replica | null>[] = [];
	const source: ReplicaSource = {
		replica: () => {
			const fetch = deferred<Replica | null>();
			fetches.push(fetch);
			return fetch.promise;
		},
	};
	return { source, fetches };
}

function planned(plan: RoutePlan) {
	if (!plan.ok) throw new Error(`expected a plan, got ${plan.problem}`);
	return plan;
}

beforeEach(() => {
	vi.spyOn(Date, "now").mockReturnValue(T0);
});

afterEach(() => {
	vi.restoreAllMocks();
});

describe("ReplicaCache: loading and refreshing", () => {
	it("takes the replica it loads: its state and which load balancer a hostname belongs to", async () => {
		const cache = await cacheAt(replicaAt(7));
		expect(cache.state).toBe(7);
		expect(cache.loadBalancerOf("APP.example.com")?.name).toBe(HOST);
		expect(cache.loadBalancerOf("nope.example.com")).toBeUndefined();
	});

	it.each([
		{ name: "an older state", replica: replicaAt(6) },
		{ name: "no configuration", replica: { ...replicaAt(8), configJson: undefined } },
		{ name: "a configuration that does not validate", replica: replicaAt(8, { configJson: '{"pools": 5}' }) },
		{ name: "nothing", replica: null },
	])("keeps the replica it has when it loads $name", async ({ replica }) => {
		const cache = await cacheAt(replicaAt(7, { drains: [{ key: "p/a", since: 0 }] }));
		await cache.load({ replica: async () => replica });
		expect(cache.state).toBe(7);
		expect(planned(cache.planLocally({ hostname: HOST })).attempts.map((attempt) => attempt.key)).not.toContain("p/a");
	});

	it.each([
		{ state: undefined, fetches: false },
		{ state: 6, fetches: false },
		{ state: 7, fetches: false },
		{ state: 8, fetches: true },
	])("holding state 7, a reply at state $state starts a fetch: $fetches", async ({ state, fetches }) => {
		const cache = await cacheAt(replicaAt(7));
		const { source, fetches: started } = pendingSource();
		expect(cache.refreshFor(state, source) !== undefined).toBe(fetches);
		expect(started).toHaveLength(fetches ? 1 : 0);
	});

	it("fetches once for the news of many replies, and takes the replica it brings", async () => {
		const cache = await cacheAt(replicaAt(7));
		const { source, fetches } = pendingSource();
		const refresh = cache.refreshFor(8, source);
		expect(cache.refreshFor(8, source)).toBeUndefined();
		expect(fetches).toHaveLength(1);
		fetches[0]?.resolve(replicaAt(8));
		await refresh;
		expect(cache.state).toBe(8);
		expect(cache.refreshFor(8, source)).toBeUndefined();
		expect(fetches).toHaveLength(1);
	});

	it("ignores an older replica that arrives after a newer one", async () => {
		const cache = await cacheAt(replicaAt(7));
		const { source, fetches } = pendingSource();
		const eight = cache.refreshFor(8, source);
		const nine = cache.refreshFor(9, source);
		fetches[1]?.resolve(replicaAt(9));
		await nine;
		fetches[0]?.resolve(replicaAt(8, { drains: [{ key: "p/a", since: 0 }] }));
		await eight;
		expect(cache.state).toBe(9);
		expect(planned(cache.planLocally({ hostname: HOST })).attempts.map((attempt) => attempt.key)).toContain("p/a");
	});

	it("logs a failed refresh, keeps its replica, and fetches again for the next news", async () => {
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		const cache = await cacheAt(replicaAt(7));
		const { source, fetches } = pendingSource();
		const refresh = cache.refreshFor(8, source);
		fetches[0]?.reject(new Error("authority unavailable"));
		await expect(refresh).resolves.toBeUndefined();
		expect(error).toHaveBeenCalledOnce();
		expect(cache.state).toBe(7);
		expect(cache.loadBalancerOf(HOST)?.name).toBe(HOST);
		expect(cache.refreshFor(8, source)).toBeDefined();
		expect(fetches).toHaveLength(2);
	});
});

describe("ReplicaCache.expand", () => {
	const compact = (state: number, ...keys: string[]): CompactPlan => [COMPACT_TAG, state, "lease-1", "p", 0, ...keys];

	it("makes a compact reply of its own state whole, from the replica", async () => {
		const cache = await cacheAt(replicaAt(7));
		const lb = cache.loadBalancerOf(HOST);
		if (!lb) throw new Error("no load balancer");
		const plan = planned(cache.expand(compact(7, "p/b", "p/a"), lb) as RoutePlan);
		expect(plan).toMatchObject({ loadBalancer: HOST, pool: "p", fallback: false, leaseId: "lease-1", state: 7 });
		expect(plan.attempts.map((attempt) => [attempt.key, attempt.base.host])).toEqual([
			["p/b", "b.example.com"],
			["p/a", "a.example.com"],
		]);
		expect(plan.proxy).toEqual(lb.proxy);
	});

	it.each([
		{ name: "another state", reply: compact(8, "p/a") },
		{ name: "an origin its replica does not know", reply: compact(7, "p/a", "p/zz") },
	])("gives nothing for a reply of $name", async ({ reply }) => {
		const cache = await cacheAt(replicaAt(7));
		const lb = cache.loadBalancerOf(HOST);
		if (!lb) throw new Error("no load balancer");
		expect(cache.expand(reply, lb)).toBeUndefined();
	});
});

describe("ReplicaCache.planLocally (fail open)", () => {
	it("plans from the replica, marked failOpen, without drained, ejected or monitored-down origins", async () => {
		const cache = await cacheAt(
			replicaAt(7, {
				health: [{ key: "p/d", healthy: false, changedAt: 0 }],
				drains: [{ key: "p/b", since: 0 }],
				ejections: [{ key: "p/c", until: T0 + 60_000 }],
			}),
		);
		const plan = planned(cache.planLocally({ hostname: HOST }));
		expect(plan).toMatchObject({ failOpen: true, loadBalancer: HOST, pool: "p" });
		expect(plan.attempts.map((attempt) => attempt.key)).toEqual(["p/a"]);
		expect(plan).not.toHaveProperty("leaseId");
	});

	it("honours an affinity pin", async () => {
		const cache = await cacheAt(aReplica(config({ session_affinity: "cookie" }), { state: 7 }));
		const plan = planned(cache.planLocally({ hostname: HOST, pin: { pool: "p", origin: "c" } }));
		expect(plan.attempts[0]?.key).toBe("p/c");
		expect(plan.affinity?.pinned).toBe(true);
	});

	it("answers a hostname no load balancer has with no_load_balancer", async () => {
		const cache = await cacheAt(replicaAt(7));
		expect(cache.planLocally({ hostname: "nope.example.com" })).toEqual(toNoLoadBalancer("nope.example.com"));
	});
});

// Found by the review of the house: the first refresh to end forgot a newer one still out.
describe("ReplicaCache.refreshFor with overlapping refreshes", () => {
	it("a refresh that ends does not forget a newer one still running: news of that state starts no second fetch", async () => {
		const cache = await cacheAt(replicaAt(7));
		const { source, fetches } = pendingSource();
		const eight = cache.refreshFor(8, source);
		expect(cache.refreshFor(9, source)).toBeDefined();
		fetches[0]?.resolve(replicaAt(8));
		await eight;
		expect(cache.state).toBe(8);
		// The fetch for 9 is still out: another reply at state 9 must not start one more.
		expect(cache.refreshFor(9, source)).toBeUndefined();
		expect(fetches).toHaveLength(2);
	});
});

// Issue 12 (found by review): a reply from an object whose hub is ahead of ours brought news our hub
// does not have yet; fetching again on every request until it catches up would cost a hub call each.
describe("ReplicaCache.refreshFor when the hub lags the news", () => {
	it("fetches for the same news again only after REVALIDATE_MS", async () => {
		let now = 1_000_000;
		const cache = new ReplicaCache(() => now);
		await cache.load({ replica: async () => replicaAt(7) });
		const { source, fetches } = pendingSource();
		const first = cache.refreshFor(9, source);
		fetches[0]?.resolve(replicaAt(8)); // the hub has 8 only
		await first;
		expect(cache.state).toBe(8);
		expect(cache.refreshFor(9, source)).toBeUndefined();
		now += 5_000;
		expect(cache.refreshFor(9, source)).toBeDefined();
		expect(fetches).toHaveLength(2);
	});
});
