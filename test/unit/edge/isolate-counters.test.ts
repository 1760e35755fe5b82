// Issue 12: the isolate scope. The isolate plans with the same CounterCore a counter object runs,
// with leases that name the data center's counter object (where the outcomes go) and mark the
// isolate (so that object knows it did not issue them).
import { describe, expect, it } from "vitest";
import type { RoutePlan } from "../../../src/contract/route";
import { CounterClient, type CounterStubs, UnmatchedHostBudget } from "../../../src/edge/counter-client";
import { IsolateCounters, MAX_ISOLATE_CORES } from "../../../src/edge/isolate-counters";
import { ShardedOutcomes } from "../../../src/edge/outcome-batcher";
import { ReplicaCache } from "../../../src/edge/replica-cache";
import { CounterCore } from "../../../src/routing/counter";
import { isIsolateLease, REVALIDATE_MS, shardOfLease, toLeasePrefix } from "../../../src/routing/shard-keys";
import { aConfig, aLoadBalancer, anOrigin, aPool } from "../../fixtures/config";
import { anOutcome } from "../../fixtures/outcomes";
import { aReplica } from "../../fixtures/replica";

const KEY = "lb:app.test@FRA";
const replica = aReplica(
	aConfig({
		monitors: [],
		pools: [
			aPool(
				"p",
				["a", "b", "c"].map((name) => anOrigin(name)),
				{ origin_steering: { policy: "least_connections" } },
			),
		],
		load_balancers: [aLoadBalancer("app.test", ["p"], { counter_scope: "isolate" })],
	}),
	{ state: 5 },
);

const planned = (plan: RoutePlan) => {
	if (!plan.ok) throw new Error(plan.detail);
	return plan;
};

describe("IsolateCounters", () => {
	it("plans with leases that name the data center's counter object and mark the isolate", () => {
		const local = new IsolateCounters("abc");
		const plan = planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_000));
		expect(shardOfLease(plan.leaseId as string)).toBe(KEY);
		expect(isIsolateLease(plan.leaseId as string)).toBe(true);
		expect(plan.state).toBe(5);
	});

	it("counts its own requests in flight (least_connections spreads them) until their outcomes end them", () => {
		const local = new IsolateCounters("abc");
		const plans = [0, 1, 2].map(() => planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_000)));
		expect(new Set(plans.map((plan) => plan.attempts[0]?.origin))).toEqual(new Set(["a", "b", "c"]));
		expect(local.reportFor(KEY, 1_000)).toEqual({
			isolate: "iso-abc",
			inFlight: { "p/a": 1, "p/b": 1, "p/c": 1 },
		});
		expect(local.release(anOutcome(plans[1]?.leaseId as string), 1_001)).toBe(true);
		const freed = plans[1]?.attempts[0]?.key as string;
		const still = Object.fromEntries(["p/a", "p/b", "p/c"].filter((key) => key !== freed).map((key) => [key, 1]));
		expect(local.reportFor(KEY, 1_001)?.inFlight).toEqual(still);
		// The freed origin is the least loaded: the next request goes there.
		expect(planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_002)).attempts[0]?.origin).toBe(
			plans[1]?.attempts[0]?.origin,
		);
	});

	it("does not eject on its own: passive health is the counter object's, checked by the authority", () => {
		const local = new IsolateCounters("abc");
		for (let i = 0; i < 20; i++) {
			const plan = planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_000 + i));
			const origin = plan.attempts[0]?.key as string;
			local.release(
				{
					...anOutcome(plan.leaseId as string),
					servedBy: origin,
					status: 503,
					failures: [{ origin, kind: "status", status: 503 }],
				},
				1_000 + i,
			);
		}
		const chosen = new Set(
			[0, 1, 2, 3, 4, 5].map(
				() => planned(local.plan(KEY, { hostname: "app.test" }, replica, 2_000)).attempts[0]?.origin,
			),
		);
		expect(chosen).toEqual(new Set(["a", "b", "c"]));
	});

	it("leaves outcomes of leases it did not issue alone", () => {
		const local = new IsolateCounters("abc");
		local.plan(KEY, { hostname: "app.test" }, replica, 1_000);
		expect(local.release(anOutcome(`${toLeasePrefix(KEY, "objectx")}-1`), 1_001)).toBe(false);
		expect(local.release(anOutcome(`${toLeasePrefix("lb:other@FRA", "iso-abc")}-1`), 1_001)).toBe(false);
		expect(local.reportFor("lb:other@FRA", 1_001)).toBeUndefined();
	});
});

describe("IsolateCounters' bound (issue 14, item 3)", () => {
	it("plans for at most MAX_ISOLATE_CORES counter objects at once; a forgotten one starts afresh from the replica", () => {
		const local = new IsolateCounters("abc");
		const first = planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_000));
		// The same load balancer through many data centers (only the dev-only colo header does that).
		for (let i = 0; i < 3 * MAX_ISOLATE_CORES; i++) {
			planned(local.plan(`lb:app.test@C${i}`, { hostname: "app.test" }, replica, 1_000));
		}
		expect(local.size).toBeLessThanOrEqual(MAX_ISOLATE_CORES);
		expect(local.plansFor(KEY)).toBe(false);
		// Its leases are no longer this isolate's to end (their outcomes still go to the counter object).
		expect(local.release(anOutcome(first.leaseId as string), 1_001)).toBe(false);
		const again = planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_002));
		expect(shardOfLease(again.leaseId as string)).toBe(KEY);
		expect(local.reportFor(KEY, 1_002)?.inFlight).toEqual({ [again.attempts[0]?.key as string]: 1 });
	});

	it("keeps the counter objects in steady use", () => {
		const local = new IsolateCounters("abc");
		for (let i = 0; i < 3 * MAX_ISOLATE_CORES; i++) {
			planned(local.plan(`lb:app.test@C${i}`, { hostname: "app.test" }, replica, 1_000));
			if (i % 10 === 0) planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_000));
		}
		expect(local.plansFor(KEY)).toBe(true);
		expect(local.reportFor(KEY, 1_000)?.inFlight).toEqual({ "p/a": 13, "p/b": 13, "p/c": 13 });
	});
});

describe("a counter object hearing from isolates", () => {
	it("counts their requests as its data center's traffic and adds up their last reports of what is in flight", () => {
		const core = new CounterCore(KEY, toLeasePrefix(KEY, "obj"));
		core.adopt(replica, 0);
		const isolateLease = (n: number) => `${toLeasePrefix(KEY, "iso-abc")}-${n}`;
		core.noteIsolates(
			[anOutcome(isolateLease(1)), anOutcome(isolateLease(2))],
			{ isolate: "iso-abc", inFlight: { "p/a": 2 } },
			1_000,
		);
		core.noteIsolates(
			[anOutcome(`${toLeasePrefix(KEY, "obj")}-9`)],
			{ isolate: "iso-def", inFlight: { "p/a": 1, "p/b": 1 } },
			2_000,
		);
		expect(core.isolateRouted).toBe(2);
		expect(core.counters(2_000).inFlight).toEqual({ "p/a": 3, "p/b": 1 });
		// A report not renewed for 30 s is dropped: that isolate went away.
		expect(core.counters(31_500).inFlight).toEqual({ "p/a": 1, "p/b": 1 });
		expect(core.counters(32_500).inFlight).toEqual({});
	});
});

describe("CounterClient in the isolate scope", () => {
	function client(replicaCalls: { held: unknown }[], failing = false) {
		let now = 10_000;
		const stubs: CounterStubs = {
			route: async () => {
				throw new Error("no counter object call in the isolate scope");
			},
			replica: async (held) => {
				replicaCalls.push({ held });
				if (failing && held !== null) throw new Error("hub down");
				return held === null ? replica : null;
			},
		};
		const replicas = new ReplicaCache(() => now);
		const counter = new CounterClient(replicas, new ShardedOutcomes(async () => {}), stubs, new UnmatchedHostBudget(), {
			now: () => now,
		});
		return { counter, tick: (ms: number) => (now += ms) };
	}

	it("plans without a call, and checks the replica with the hub at most every REVALIDATE_MS", async () => {
		const replicaCalls: { held: unknown }[] = [];
		const { counter, tick } = client(replicaCalls);
		const background: Promise<unknown>[] = [];
		for (let i = 0; i < 5; i++) {
			expect((await counter.route({ hostname: "app.test", colo: "FRA" }, (p) => background.push(p))).ok).toBe(true);
			tick(REVALIDATE_MS / 2);
		}
		await Promise.all(background);
		expect(replicaCalls).toEqual([
			{ held: null },
			{ held: { state: 5, checks: 0 } },
			{ held: { state: 5, checks: 0 } },
		]);
	});

	it("keeps planning when the hub fails its check", async () => {
		const replicaCalls: { held: unknown }[] = [];
		const { counter, tick } = client(replicaCalls, true);
		const background: Promise<unknown>[] = [];
		await counter.route({ hostname: "app.test", colo: "FRA" }, (p) => background.push(p));
		tick(REVALIDATE_MS);
		expect((await counter.route({ hostname: "app.test", colo: "FRA" }, (p) => background.push(p))).ok).toBe(true);
		await Promise.all(background);
		expect(replicaCalls).toHaveLength(2);
	});
});

describe("an isolate's cores share its one RoutingState (issue 16, item 3: memory)", () => {
	it("plans every load balancer from the replica cache's state: no copy of the replica per core", async () => {
		const replicas = new ReplicaCache(() => 1_000);
		await replicas.load({ replica: async () => replica });
		const local = new IsolateCounters("abc", MAX_ISOLATE_CORES, () => replicas.routingState);
		planned(local.plan(KEY, { hostname: "app.test" }, replica, 1_000));
		planned(local.plan("lb:app.test@LHR", { hostname: "app.test" }, replica, 1_000));
		const cores = [...(Reflect.get(local, "cores") as { values(): Iterable<CounterCore> }).values()];
		expect(cores).toHaveLength(2);
		for (const core of cores) expect(core.routing).toBe(replicas.routingState);
		// A newer replica, adopted once by the cache, is what every core plans from next.
		await replicas.refreshFor(6, { replica: async () => ({ ...replica, state: 6 }) });
		planned(local.plan(KEY, { hostname: "app.test" }, { ...replica, state: 6 }, 2_000));
		for (const core of cores) expect(core.routing).toBe(replicas.routingState);
	});
});
