import { describe, expect, it, vi } from "vitest";
import type { Replica } from "../../../src/contract/replica";
import type { OtherShard, RoutePlan, RouteRequest, ShardRouteRequest } from "../../../src/contract/route";
import type { CompactPlan } from "../../../src/contract/wire";
import {
	CounterClient,
	type CounterClientOptions,
	type CounterStubs,
	UNMATCHED_ASKS_PER_SECOND,
	UnmatchedHostBudget,
} from "../../../src/edge/counter-client";
import { ShardedOutcomes } from "../../../src/edge/outcome-batcher";
import { REPLICA_LOAD_STALE_MS, ReplicaCache } from "../../../src/edge/replica-cache";
import { AUTHORITY, shardKeyFor, toLeasePrefix } from "../../../src/routing/shard-keys";
import { aConfig, aLoadBalancer, anOrigin, aPool } from "../../fixtures/config";
import { deferred } from "../../fixtures/fetch";
import { anOutcome } from "../../fixtures/outcomes";
import { aReplica } from "../../fixtures/replica";

const aRecord = (leaseId: string) => anOutcome(leaseId);
const leaseOf = (lb: string, n: number) => `${toLeasePrefix(shardKeyFor(lb), "i")}-${n}`;

/** A replica with load balancers a.test and b.test over one pool. */
function copyOf(state: number, names = ["a.test", "b.test"]): Replica {
	const config = aConfig({
		monitors: [],
		pools: [aPool("p", [anOrigin("x")])],
		// The global scope: one counter object per load balancer, "lb:<name>" (the colo scope has its own test).
		load_balancers: names.map((name) => aLoadBalancer(name, ["p"], { counter_scope: "global" })),
	});
	return aReplica(config, { state });
}

const okPlan = (loadBalancer: string, state = 1): RoutePlan =>
	({ ok: true, loadBalancer, pool: "p", fallback: false, attempts: [], proxy: {}, state }) as never;

/** Stubs that record every call and answer each shard with a plan for the load balancer it keeps. */
function recordingStubs(
	answer?: (
		shard: string,
		request: ShardRouteRequest,
	) => RoutePlan | OtherShard | CompactPlan | Promise<RoutePlan | OtherShard | CompactPlan>,
	copyState = 1,
) {
	const calls: { shard: string; request: ShardRouteRequest }[] = [];
	let copies = 0;
	const stubs: CounterStubs = {
		route: async (shard, request) => {
			calls.push({ shard, request });
			return answer ? answer(shard, request) : okPlan(shard.slice(3));
		},
		replica: async () => {
			copies++;
			return copyOf(copyState);
		},
	};
	return { stubs, calls, copies: () => copies };
}

const noSends = () => new ShardedOutcomes(async () => {});

/** One request route of the client, its waitUntil: `background` given once, up front. */
function remoteOver(
	replicas: ReplicaCache,
	outcomes: ShardedOutcomes,
	stubs: CounterStubs,
	unmatched: UnmatchedHostBudget,
	options: CounterClientOptions & { background?: (promise: Promise<unknown>) => void } = {},
) {
	const client = new CounterClient(replicas, outcomes, stubs, unmatched, options);
	return { route: (request: RouteRequest) => client.route(request, options.background) };
}

describe("CounterClient", () => {
	it("sends each hostname's route to its load balancer's shard; a cold isolate fetches the copy once", async () => {
		const { stubs, calls, copies } = recordingStubs();
		const remote = remoteOver(new ReplicaCache(), noSends(), stubs, new UnmatchedHostBudget());
		await remote.route({ hostname: "a.test" });
		await remote.route({ hostname: "b.test" });
		await remote.route({ hostname: "A.TEST" });
		expect(calls.map((call) => [call.shard, call.request.shardTry])).toEqual([
			["lb:a.test", 1],
			["lb:b.test", 1],
			["lb:a.test", 1],
		]);
		expect(copies()).toBe(1);
	});

	it("answers a hostname no load balancer matches with the 404 plan, asking the authority within a budget", async () => {
		const { stubs, calls } = recordingStubs((_shard, request) => ({
			ok: false,
			problem: "no_load_balancer",
			detail: `no load balancer answers the host "${request.hostname}"`,
		}));
		let now = 0;
		const remote = remoteOver(new ReplicaCache(), noSends(), stubs, new UnmatchedHostBudget(), {
			now: () => now,
		});
		const plans: RoutePlan[] = [];
		for (let i = 0; i < UNMATCHED_ASKS_PER_SECOND + 5; i++) plans.push(await remote.route({ hostname: "nope.test" }));
		expect(calls).toHaveLength(UNMATCHED_ASKS_PER_SECOND);
		expect(calls.every((call) => call.shard === AUTHORITY)).toBe(true);
		// Beyond the budget, the same answer from the copy, without a call.
		expect(new Set(plans.map((plan) => JSON.stringify(plan))).size).toBe(1);
		expect(plans[0]).toEqual({
			ok: false,
			problem: "no_load_balancer",
			detail: 'no load balancer answers the host "nope.test"',
		});
		now = 1_000;
		await remote.route({ hostname: "nope.test" });
		expect(calls).toHaveLength(UNMATCHED_ASKS_PER_SECOND + 1);
	});

	it("asks once more where a shard with a newer copy sends it, and plans there", async () => {
		const { stubs, calls } = recordingStubs((shard, request) =>
			shard === "lb:a.test" && request.shardTry === 1
				? { ok: false, problem: "other_shard", loadBalancer: "*", shard: "lb:*", state: 2 }
				: okPlan("*", 2),
		);
		const outcomes = noSends();
		outcomes.giveBack([aRecord(leaseOf("a.test", 1)), aRecord(leaseOf("*", 1))]);
		const remote = remoteOver(new ReplicaCache(), outcomes, stubs, new UnmatchedHostBudget());
		const plan = await remote.route({ hostname: "a.test" });
		expect(plan).toMatchObject({ ok: true, loadBalancer: "*" });
		expect(
			calls.map((call) => [call.shard, call.request.shardTry, call.request.releases?.map((r) => r.leaseId)]),
		).toEqual([
			["lb:a.test", 1, [leaseOf("a.test", 1)]],
			["lb:*", 2, [leaseOf("*", 1)]],
		]);
	});

	it("sends along only the outcomes of the shard it calls, and gives them back when the call fails", async () => {
		let fail = true;
		const calls: { shard: string; request: ShardRouteRequest }[] = [];
		const stubs: CounterStubs = {
			route: async (shard, request) => {
				calls.push({ shard, request });
				if (fail) throw new Error("shard unavailable");
				return okPlan(shard.slice(3));
			},
			replica: async () => copyOf(1),
		};
		const outcomes = noSends();
		outcomes.giveBack([aRecord(leaseOf("a.test", 1)), aRecord(leaseOf("b.test", 1))]);
		const remote = remoteOver(new ReplicaCache(), outcomes, stubs, new UnmatchedHostBudget());
		// A lease of b.test handed back with a route for a.test (a re-ask after a config change) goes to b.test.
		const request = { hostname: "a.test", releases: [aRecord(leaseOf("a.test", 2)), aRecord(leaseOf("b.test", 2))] };
		await expect(remote.route(request)).rejects.toThrow("shard unavailable");
		expect(calls[0]?.request.releases?.map((record) => record.leaseId)).toEqual([
			leaseOf("a.test", 2),
			leaseOf("a.test", 1),
		]);
		fail = false;
		await remote.route({ hostname: "a.test" });
		expect(calls[1]?.request.releases?.map((record) => record.leaseId).sort()).toEqual(
			[leaseOf("a.test", 1), leaseOf("a.test", 2)].sort(),
		);
		expect(outcomes.take("lb:b.test").map((record) => record.leaseId)).toEqual([
			leaseOf("b.test", 1),
			leaseOf("b.test", 2),
		]);
	});

	it("tells the shard its copy's state, and makes a compact reply whole from the copy", async () => {
		const compact: CompactPlan = ["plan", 7, "lease-1", "p", 0, "p/x"];
		const { stubs, calls } = recordingStubs((_shard, request) => (request.known === 7 ? compact : okPlan("a.test")), 7);
		const remote = remoteOver(new ReplicaCache(), noSends(), stubs, new UnmatchedHostBudget());
		const plan = await remote.route({ hostname: "a.test" });
		expect(calls.map((call) => call.request.known)).toEqual([7]);
		expect(plan).toMatchObject({
			ok: true,
			loadBalancer: "a.test",
			pool: "p",
			fallback: false,
			leaseId: "lease-1",
			state: 7,
			attempts: [{ key: "p/x", pool: "p", origin: "x", base: { host: "x.example.com" } }],
			proxy: { timeout_ms: 30_000, retries: 2 },
		});
	});

	it("asks for the whole plan, handing the lease back, when the copy moved on while the compact reply was out", async () => {
		const planner = new ReplicaCache();
		const { stubs, calls } = recordingStubs(async (_shard, request) => {
			if (request.shardTry !== 1) return okPlan("a.test", 8);
			// Another request of the isolate refreshes the copy to state 8 meanwhile.
			await planner.load({ replica: async () => copyOf(8) });
			return ["plan", 7, leaseOf("a.test", 1), "p", 0, "p/x"];
		}, 7);
		const remote = remoteOver(planner, noSends(), stubs, new UnmatchedHostBudget());
		const plan = await remote.route({ hostname: "a.test" });
		expect(plan).toMatchObject({ ok: true, loadBalancer: "a.test", state: 8 });
		expect(calls.map((call) => [call.shard, call.request.shardTry, call.request.known])).toEqual([
			["lb:a.test", 1, 7],
			["lb:a.test", 2, undefined],
		]);
		expect(calls[1]?.request.releases).toEqual([
			{ leaseId: leaseOf("a.test", 1), attempts: 0, retried: false, totalMs: 0, aborted: true },
		]);
	});

	it("fetches a cold isolate's copy once: requests arriving meanwhile wait for it, then go to their shard", async () => {
		const copy = deferred<Replica>();
		let copies = 0;
		const calls: string[] = [];
		const stubs: CounterStubs = {
			route: async (shard) => {
				calls.push(shard);
				return okPlan(shard.slice(3));
			},
			replica: () => {
				copies++;
				return copy.promise;
			},
		};
		const remote = remoteOver(new ReplicaCache(), noSends(), stubs, new UnmatchedHostBudget(), {
			sleep: () => new Promise((resolve) => setTimeout(resolve, 0)),
		});
		const plans = Promise.all(Array.from({ length: 20 }, () => remote.route({ hostname: "a.test" })));
		copy.resolve(copyOf(1));
		expect((await plans).every((plan) => plan.ok)).toBe(true);
		expect(copies).toBe(1);
		expect(calls).toEqual(Array.from({ length: 20 }, () => "lb:a.test")); // none to the authority
	});

	it("does not wait on a copy fetch that has run too long (its request may be gone): fetches again", async () => {
		const planner = new ReplicaCache();
		let now = 1_000_000;
		const spy = vi.spyOn(Date, "now").mockImplementation(() => now);
		try {
			void planner.load({ replica: () => new Promise<never>(() => {}) }); // never answers
			expect(planner.loading).toBe(true);
			now += REPLICA_LOAD_STALE_MS;
			expect(planner.loading).toBe(false);
			await planner.load({ replica: async () => copyOf(3) });
			expect(planner.hasReplica).toBe(true);
		} finally {
			spy.mockRestore();
		}
	});

	it("keeps alive the flush of outcomes handed back after a failed call: they go out without more traffic", async () => {
		const sent: [string, string[]][] = [];
		const outcomes = new ShardedOutcomes(async (shard, batch) => {
			sent.push([shard, batch.map((record) => record.leaseId)]);
		}, 1);
		const stubs: CounterStubs = {
			route: async () => {
				throw new Error("shard unavailable");
			},
			replica: async () => copyOf(1),
		};
		const kept: Promise<unknown>[] = [];
		const remote = remoteOver(new ReplicaCache(), outcomes, stubs, new UnmatchedHostBudget(), {
			background: (promise) => kept.push(promise),
		});
		await expect(
			remote.route({ hostname: "a.test", releases: [aRecord(leaseOf("a.test", 1)), aRecord(leaseOf("b.test", 1))] }),
		).rejects.toThrow("shard unavailable");
		await Promise.all(kept);
		expect(sent.sort()).toEqual([
			["lb:a.test", [leaseOf("a.test", 1)]],
			["lb:b.test", [leaseOf("b.test", 1)]],
		]);
	});

	it("fails (so the planner plans from its copy) when the authority cannot give a cold isolate its copy", async () => {
		const stubs: CounterStubs = {
			route: async () => okPlan("a.test"),
			replica: async () => {
				throw new Error("authority down");
			},
		};
		const remote = remoteOver(new ReplicaCache(), noSends(), stubs, new UnmatchedHostBudget());
		await expect(remote.route({ hostname: "a.test" })).rejects.toThrow("authority down");
	});
});

describe("ShardedOutcomes", () => {
	it("sends a lease handed back even when its load balancer gets no more traffic", async () => {
		const sent: string[] = [];
		const outcomes = new ShardedOutcomes(async (_shard, batch) => {
			sent.push(...batch.map((record) => record.leaseId));
		}, 1);
		const flush = outcomes.giveBack([aRecord(leaseOf("a.test", 1))]);
		expect(flush).toBeDefined();
		await outcomes.add(aRecord(leaseOf("b.test", 1)));
		await flush;
		expect(sent.sort()).toEqual([leaseOf("a.test", 1), leaseOf("b.test", 1)].sort());
	});

	it("batches records per shard: one send per shard, never a mix", async () => {
		const sent: [string, string[]][] = [];
		const outcomes = new ShardedOutcomes(async (shard, batch) => {
			sent.push([shard, batch.map((record) => record.leaseId)]);
		}, 1);
		await Promise.all([
			outcomes.add(aRecord(leaseOf("a.test", 1))),
			outcomes.add(aRecord(leaseOf("b.test", 1))),
			outcomes.add(aRecord(leaseOf("a.test", 2))),
		]);
		expect(sent.sort()).toEqual([
			["lb:a.test", [leaseOf("a.test", 1), leaseOf("a.test", 2)]],
			["lb:b.test", [leaseOf("b.test", 1)]],
		]);
	});
});

describe("UnmatchedHostBudget", () => {
	it("allows a number of asks per one-second window", () => {
		const budget = new UnmatchedHostBudget(2);
		expect([budget.tryAsk(0), budget.tryAsk(10), budget.tryAsk(999)]).toEqual([true, true, false]);
		expect(budget.tryAsk(1_000)).toBe(true);
	});
});
