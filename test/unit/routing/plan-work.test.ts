// Issue 14, item 2: while an origin warmed up (slow start), a plan asked every candidate's warmth and
// each answer scanned the candidate's whole pool for a warm origin: O(n²) per plan (2,000 origins:
// 310 ms per request for 30 s; 10,000: 8 s). These tests count the work of one plan, not its time
// (time is `npm run bench`'s): every keyed lookup the planner makes (Map and Set get/has, in
// whatever module) stays within a small constant times the number of origins.
import { describe, expect, it } from "vitest";
import type { ConfigInput, OriginPolicyName } from "../../../src/config/schema";
import { LOCAL_COLO } from "../../../src/contract/route";
import { isCompactPlan, type RouteReply } from "../../../src/contract/wire";
import { CounterCore } from "../../../src/routing/counter";
import { counterKeyFor, toLeasePrefix } from "../../../src/routing/shard-keys";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool } from "../../fixtures/config";
import { aReplica } from "../../fixtures/replica";

const HOST = "app.example.com";
const SHARD = counterKeyFor({ name: HOST, counter_scope: "colo" }, LOCAL_COLO);
/** Origins in the big pool. */
const N = 10_000;
/** Lookups one plan may make per origin (about 15–18 when written). Before the fix one plan made about N² (10⁸). */
const PER_ORIGIN = 40;
const SLOW_START_S = 30;
/** Five seconds into the slow start: a warming origin's share is 0.25. */
const NOW = 5_000;

/**
 * Pool "big" of N origins (`policy`; monitored, but not checked yet, when `monitored`) behind HOST,
 * steered by least outstanding requests with a small pool "small" (so pool facts are asked too),
 * slow start 30 s.
 */
function bigPool(policy: OriginPolicyName, monitored = false): ConfigInput {
	return aConfig({
		monitors: [aMonitor("mon")],
		pools: [
			aPool(
				"big",
				Array.from({ length: N }, (_, i) => anOrigin(`o${i}`, `o${i}.example.com`)),
				{ origin_steering: { policy }, ...(monitored ? { monitor: "mon" } : {}) },
			),
			aPool("small", [anOrigin("s")]),
		],
		load_balancers: [
			aLoadBalancer(HOST, ["big", "small"], {
				steering_policy: "least_outstanding_requests",
				slow_start_s: SLOW_START_S,
			}),
		],
	});
}

/** Which origins of "big" started warming at 0: every one, or all but the last `warm`. */
const SCENARIOS = [
	{ name: "the whole pool is new (every origin warming)", warm: 0, monitored: false },
	{ name: "all but the last 10 origins are new", warm: 10, monitored: false },
	{ name: "a monitored pool, checked by nobody yet, is new", warm: 0, monitored: true },
] as const;

const POLICIES: OriginPolicyName[] = [
	"random",
	"round_robin",
	"weighted_round_robin",
	"least_connections",
	"p2c",
	"ewma",
];

/**
 * Runs `plan` counting every Map.get/has and Set.has; throws as soon as it passes `limit` (the
 * quadratic planner would otherwise run for seconds before failing).
 */
function countLookups<T>(limit: number, plan: () => T): { readonly result: T; readonly lookups: number } {
	const mapGet = Map.prototype.get;
	const mapHas = Map.prototype.has;
	const setHas = Set.prototype.has;
	let lookups = 0;
	const count = () => {
		if (++lookups > limit) throw new Error(`one plan made more than ${limit} lookups (${N} origins)`);
	};
	Map.prototype.get = function (this: Map<unknown, unknown>, key: unknown) {
		count();
		return mapGet.call(this, key);
	};
	Map.prototype.has = function (this: Map<unknown, unknown>, key: unknown) {
		count();
		return mapHas.call(this, key);
	};
	Set.prototype.has = function (this: Set<unknown>, value: unknown) {
		count();
		return setHas.call(this, value);
	};
	try {
		return { result: plan(), lookups };
	} finally {
		Map.prototype.get = mapGet;
		Map.prototype.has = mapHas;
		Set.prototype.has = setHas;
	}
}

/** The origin a plan tries first; its lease is ended, so the next plan sees the pools idle again. */
function firstKey(core: CounterCore, reply: RouteReply): string {
	if (isCompactPlan(reply) || !reply.ok) throw new Error(`expected a plan, got ${JSON.stringify(reply)}`);
	core.leases.release(reply.leaseId as string);
	return (reply.attempts[0] as { key: string }).key;
}

describe("one plan's work while origins warm up (issue 14, item 2)", () => {
	describe.each(SCENARIOS)("$name", ({ warm, monitored }) => {
		const healthySince = Array.from({ length: N - warm }, (_, i) => ({ key: `big/o${i}`, since: 0 }));

		it.each(POLICIES)("%s: at most a constant times n lookups per plan", (policy) => {
			const core = new CounterCore(SHARD, toLeasePrefix(SHARD, "t"));
			core.adopt(aReplica(bigPool(policy, monitored), { healthySince }), 0);
			// 0.5 is above a warming origin's share (0.25): warming origins sit out while a warm one is there.
			const random = () => 0.5;
			for (let plan = 0; plan < 3; plan++) {
				const { result, lookups } = countLookups(PER_ORIGIN * N, () =>
					core.route({ hostname: HOST }, NOW + plan, random),
				);
				expect(lookups).toBeLessThanOrEqual(PER_ORIGIN * N);
				const first = firstKey(core, result);
				expect(first.startsWith("big/")).toBe(true);
				if (warm > 0) expect(Number(first.slice("big/o".length))).toBeGreaterThanOrEqual(N - warm);
			}
		});
	});

	it("asking every origin's warmth, as /status does, is linear too", () => {
		const core = new CounterCore(SHARD, toLeasePrefix(SHARD, "t"));
		const healthySince = Array.from({ length: N }, (_, i) => ({ key: `big/o${i}`, since: 0 }));
		core.adopt(aReplica(bigPool("random"), { healthySince }), 0);
		const routing = core.routing;
		const { result } = countLookups(PER_ORIGIN * N, () =>
			Array.from({ length: N }, (_, i) => routing.warmthOf(`big/o${i}`, NOW)),
		);
		// Nobody is warm yet: nobody is held back.
		expect(result.every((share) => share === 1)).toBe(true);
	});
});
