// Issue 11: a counter object's core (routing/counter.ts) is pure now; these tests hold it to what the
// Durable Object did per request, with time and randomness passed in.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConfigInput } from "../../../src/config/schema";
import type { OutcomeRecord } from "../../../src/contract/outcome";
import type { Replica } from "../../../src/contract/replica";
import type { ShardRouteRequest } from "../../../src/contract/route";
import { LOCAL_COLO } from "../../../src/contract/route";
import { COMPACT_TAG, isCompactPlan, type RouteReply } from "../../../src/contract/wire";
import { CounterCore, ISOLATE_REPORT_TTL_MS, MAX_COLO_LATENCIES } from "../../../src/routing/counter";
import { counterKeyFor, REVALIDATE_MS, toLeasePrefix } from "../../../src/routing/shard-keys";
import {
	aConfig,
	aLoadBalancer,
	aMonitor,
	anOrigin,
	aPool,
	type LoadBalancerInput,
	type PoolInput,
} from "../../fixtures/config";
import { anOutcome } from "../../fixtures/outcomes";
import { aReplica } from "../../fixtures/replica";

const HOST = "app.example.com";
const OTHER = "other.example.com";
/** This object: HOST's counter object for requests that name no data center (the default colo scope). */
const SHARD = counterKeyFor({ name: HOST, counter_scope: "colo" }, LOCAL_COLO);
const LEASE_PREFIX = toLeasePrefix(SHARD, "t");
/** Two failures in a row eject for 10 s; at most half a pool. */
const PASSIVE = { consecutive_failures: 2, base_ejection_s: 10, max_ejection_percent: 50 };
const ZERO = () => 0;

/** Pool p (round robin over a, b, c, d, unmonitored) behind HOST (this object's) and OTHER. */
function fourOrigins(lb: Partial<LoadBalancerInput> = {}, pool: Partial<PoolInput> = {}): ConfigInput {
	return aConfig({
		monitors: [],
		pools: [
			aPool(
				"p",
				["a", "b", "c", "d"].map((name) => anOrigin(name)),
				{ origin_steering: { policy: "round_robin" }, ...pool },
			),
		],
		load_balancers: [
			aLoadBalancer(HOST, ["p"], { outlier_detection: PASSIVE, slow_start_s: 0, ...lb }),
			aLoadBalancer(OTHER, ["p"]),
		],
	});
}

/** Pool p with two origins a and b (round robin), whose whole pool may be ejected: only the last-origin rule holds. */
function twoOrigins(pool: Partial<PoolInput> = {}): ConfigInput {
	return aConfig({
		monitors: [aMonitor("mon")],
		pools: [aPool("p", [anOrigin("a"), anOrigin("b")], { origin_steering: { policy: "round_robin" }, ...pool })],
		load_balancers: [
			aLoadBalancer(HOST, ["p"], {
				outlier_detection: { ...PASSIVE, max_ejection_percent: 100 },
				slow_start_s: 0,
			}),
		],
	});
}

function aCore(input: ConfigInput = fourOrigins(), replica: Partial<Replica> = {}, now = 0): CounterCore {
	const core = new CounterCore(SHARD, LEASE_PREFIX);
	expect(core.adopt(aReplica(input, replica), now)).toBe(true);
	return core;
}

function fullPlan(reply: RouteReply) {
	if (isCompactPlan(reply) || !reply.ok) throw new Error(`expected a full plan, got ${JSON.stringify(reply)}`);
	return reply;
}

const keysOf = (reply: RouteReply) => fullPlan(reply).attempts.map((attempt) => attempt.key);

function route(core: CounterCore, now = 0, request: Partial<ShardRouteRequest> = {}, random = ZERO): RouteReply {
	return core.route({ hostname: HOST, ...request }, now, random);
}

/** The origin each of `n` routes sends to first. */
function firstChoices(core: CounterCore, n: number, now = 0, random = ZERO, request: Partial<ShardRouteRequest> = {}) {
	return Array.from({ length: n }, () => keysOf(route(core, now, request, random))[0]);
}

/** A request `key` answered with `status` (no lease of this object's). */
const servedWith = (key: string, status: number, overrides: Partial<OutcomeRecord> = {}) =>
	anOutcome("elsewhere-1", { servedBy: key, status, ...overrides });

/** Two failures in a row of `key`: an ejection under PASSIVE. */
const twoFailures = (key: string) => [servedWith(key, 503), servedWith(key, 503)];

beforeEach(() => {
	// Every ejection is logged; the tests read it from takeUnreported instead.
	vi.spyOn(console, "warn").mockImplementation(() => {});
});

afterEach(() => {
	vi.restoreAllMocks();
});

describe("CounterCore.route", () => {
	it("plans from its replica at the replica's state, with a lease that counts the first origin in flight", () => {
		const core = aCore(fourOrigins(), { state: 5 });
		const plan = fullPlan(route(core));
		expect(plan).toMatchObject({ ok: true, loadBalancer: HOST, pool: "p", state: 5, fallback: false });
		expect(plan.attempts.map((attempt) => attempt.key)).toEqual(["p/a", "p/b", "p/c", "p/d"]);
		expect(plan.leaseId?.startsWith(`${LEASE_PREFIX}-`)).toBe(true);
		expect(core.counters(0).inFlight).toEqual({ "p/a": 1 });
		expect(core.routed).toBe(1);
	});

	it.each([
		{ hostname: OTHER, shardTry: 1 as const, sentOn: true },
		{ hostname: OTHER, shardTry: 2 as const, sentOn: false },
		{ hostname: HOST, shardTry: 1 as const, sentOn: false },
	])("$hostname on try $shardTry: sent to the other object → $sentOn", ({ hostname, shardTry, sentOn }) => {
		const core = aCore(fourOrigins(), { state: 5 });
		const reply = core.route({ hostname, shardTry }, 0, ZERO);
		if (sentOn) {
			expect(reply).toEqual({
				ok: false,
				problem: "other_shard",
				loadBalancer: OTHER,
				shard: counterKeyFor({ name: OTHER, counter_scope: "colo" }, LOCAL_COLO),
				state: 5,
			});
			// Its counters live elsewhere: no lease here.
			expect(core.counters(0).inFlight).toEqual({});
		} else {
			expect(fullPlan(reply).loadBalancer).toBe(hostname);
		}
	});

	it("answers compactly when the Worker's replica is its state: the lease, pool, flags and origin keys", () => {
		const core = aCore(fourOrigins(), { state: 5 });
		const reply = route(core, 0, { known: 5 });
		expect(isCompactPlan(reply)).toBe(true);
		expect(reply).toEqual([
			COMPACT_TAG,
			5,
			expect.stringMatching(`^${LEASE_PREFIX}-`),
			"p",
			0,
			"p/a",
			"p/b",
			"p/c",
			"p/d",
		]);
		expect(core.counters(0).inFlight).toEqual({ "p/a": 1 });
	});

	it.each([
		{ name: "the Worker's replica is older", known: 4, lb: {} },
		{ name: "the Worker has no replica", known: undefined, lb: {} },
		{ name: "the plan carries session affinity", known: 5, lb: { session_affinity: "cookie" as const } },
	])("answers with the whole plan when $name", ({ known, lb }) => {
		const core = aCore(fourOrigins(lb), { state: 5 });
		const plan = fullPlan(route(core, 0, known === undefined ? {} : { known }));
		expect(plan).toMatchObject({ state: 5, leaseId: expect.stringMatching(`^${LEASE_PREFIX}-`) });
		expect(plan.attempts).toHaveLength(4);
	});

	it("applies the outcomes riding along before it plans: their leases end and their failures count", () => {
		const core = aCore();
		const lease = fullPlan(route(core)).leaseId as string;
		const plan = fullPlan(
			route(core, 1000, {
				releases: [
					anOutcome(lease, { servedBy: "p/a", status: 502 }),
					anOutcome("elsewhere-2", { failures: [{ origin: "p/a", kind: "refused" }] }),
				],
			}),
		);
		// p/a was ejected by the outcomes, so this very plan leaves it out.
		expect(plan.attempts.map((attempt) => attempt.key)).not.toContain("p/a");
		expect(core.counters(1000).inFlight).not.toHaveProperty("p/a");
		expect(core.counters(1000).ejectedUntil).toEqual({ "p/a": 11_000 });
	});

	it("applies the outcomes riding along even when it sends the request on to another object", () => {
		const core = aCore();
		const lease = fullPlan(route(core)).leaseId as string;
		const reply = core.route(
			{ hostname: OTHER, shardTry: 1, releases: [anOutcome(lease, { servedBy: "p/a", status: 200 })] },
			0,
			ZERO,
		);
		expect(reply).toMatchObject({ ok: false, problem: "other_shard" });
		// The Worker sends each object's outcomes to it once: they must not be lost here.
		expect(core.counters(0).inFlight).toEqual({});
	});

	it.each<{ name: string; lb: Partial<LoadBalancerInput>; request: Partial<ShardRouteRequest>; sticky: boolean }>([
		{
			name: "header affinity hashes the configured headers, whatever their case",
			lb: { session_affinity: "header" as const, session_affinity_attributes: { headers: ["X-User"] } },
			request: { headers: { "x-user": "alice" } },
			sticky: true,
		},
		{
			name: "header affinity without any of its headers",
			lb: { session_affinity: "header" as const, session_affinity_attributes: { headers: ["X-User"] } },
			request: { headers: { "x-other": "alice" } },
			sticky: false,
		},
		{
			name: "header affinity that requires all headers, one missing",
			lb: {
				session_affinity: "header" as const,
				session_affinity_attributes: { headers: ["x-user", "x-team"], require_all_headers: true },
			},
			request: { headers: { "x-user": "alice" } },
			sticky: false,
		},
		{
			name: "ip_cookie affinity hashes the client's IP",
			lb: { session_affinity: "ip_cookie" as const },
			request: { clientIp: "192.0.2.7" },
			sticky: true,
		},
	])("$name (sticky: $sticky)", ({ lb, request, sticky }) => {
		const core = aCore(fourOrigins(lb));
		const firsts = new Set(firstChoices(core, 8, 0, ZERO, request));
		// Round robin would visit all four; a hashed key keeps one origin.
		expect(firsts.size).toBe(sticky ? 1 : 4);
	});
});

describe("CounterCore.applyOutcomes", () => {
	it("ends each lease once and counts the leases it ended", () => {
		const core = aCore();
		const first = fullPlan(route(core)).leaseId as string;
		const second = fullPlan(route(core)).leaseId as string;
		expect(core.counters(0).inFlight).toEqual({ "p/a": 1, "p/b": 1 });
		expect(core.applyOutcomes([anOutcome(first), anOutcome(first), anOutcome(second), anOutcome("unknown-9")], 0)).toBe(
			2,
		);
		expect(core.applyOutcomes([anOutcome(first), anOutcome(second)], 0)).toBe(0);
		expect(core.counters(0).inFlight).toEqual({});
	});

	it.each([
		{ name: "a 503 from the origin that served", record: servedWith("p/a", 503), why: "status 503" },
		{
			name: "an attempt that timed out",
			record: anOutcome("elsewhere-3", { failures: [{ origin: "p/a", kind: "timeout" }] }),
			why: "timeout",
		},
		{
			name: "an attempt answered 502 and retried elsewhere",
			record: anOutcome("elsewhere-4", {
				servedBy: "p/b",
				status: 200,
				failures: [{ origin: "p/a", kind: "status", status: 502 }],
			}),
			why: "status 502",
		},
	])("$name counts towards ejection", ({ record, why }) => {
		const core = aCore();
		core.applyOutcomes([record], 1000);
		expect(core.counters(1000).passiveFailures).toEqual({ "p/a": 1 });
		expect(core.takeUnreported(1000)).toEqual([]);
		core.applyOutcomes([record], 2000);
		expect(core.counters(2000).ejectedUntil).toEqual({ "p/a": 12_000 });
		expect(core.takeUnreported(2000)).toEqual([
			{ key: "p/a", until: 12_000, reason: expect.stringContaining(`(last: ${why})`), at: 2000 },
		]);
		expect(new Set(firstChoices(core, 6, 2000))).toEqual(new Set(["p/b", "p/c", "p/d"]));
	});

	it.each([
		{ name: "a 200", record: servedWith("p/a", 200) },
		{ name: "a 404 (the origin's answer, not its failure)", record: servedWith("p/a", 404) },
	])("$name resets the failure count", ({ record }) => {
		const core = aCore();
		core.applyOutcomes([servedWith("p/a", 503), record, servedWith("p/a", 503)], 0);
		expect(core.counters(0)).toEqual({ inFlight: {}, passiveFailures: { "p/a": 1 }, ejectedUntil: {} });
		expect(core.hasUnreported).toBe(false);
	});

	it("never ejects more than max_ejection_percent of a pool", () => {
		const core = aCore();
		core.applyOutcomes([...twoFailures("p/a"), ...twoFailures("p/b"), ...twoFailures("p/c")], 0);
		expect(Object.keys(core.counters(0).ejectedUntil).sort()).toEqual(["p/a", "p/b"]);
		expect(new Set(firstChoices(core, 4))).toEqual(new Set(["p/c", "p/d"]));
	});

	it.each([
		{ name: "the other origin is available", config: twoOrigins(), replica: {}, ejected: true },
		{
			name: "the other origin is draining",
			config: twoOrigins(),
			replica: { drains: [{ key: "p/b", since: 0 }] },
			ejected: false,
		},
		{
			name: "the other origin is down by its monitor",
			config: twoOrigins({ monitor: "mon" }),
			replica: { health: [{ key: "p/b", healthy: false, changedAt: 0 }] },
			ejected: false,
		},
	])("ejects an origin only while another can take its traffic: $name → $ejected", ({ config, replica, ejected }) => {
		const core = aCore(config, replica);
		core.applyOutcomes([...twoFailures("p/a"), ...twoFailures("p/a")], 0);
		expect(core.counters(0).ejectedUntil["p/a"] !== undefined).toBe(ejected);
		expect(core.hasUnreported).toBe(ejected);
	});

	it.each([
		{ slow: "p/a", first: "p/b" },
		{ slow: "p/b", first: "p/a" },
	])("feeds time to first byte to the ewma policy: $slow slow → $first first", ({ slow, first }) => {
		const config = fourOrigins({}, { origins: [anOrigin("a"), anOrigin("b")], origin_steering: { policy: "ewma" } });
		const core = aCore(config);
		const fast = slow === "p/a" ? "p/b" : "p/a";
		core.applyOutcomes([servedWith(slow, 200, { ttfbMs: 900 }), servedWith(fast, 200, { ttfbMs: 20 })], 0);
		// random 0 samples a, then b: the cheaper of the two wins.
		expect(keysOf(route(core, 100))[0]).toBe(first);
	});

	it("feeds time to first byte per colo to dynamic_latency steering", () => {
		const config = aConfig({
			monitors: [],
			pools: [aPool("far", [anOrigin("y")]), aPool("near", [anOrigin("x")])],
			load_balancers: [aLoadBalancer(HOST, ["far", "near"], { steering_policy: "dynamic_latency" })],
		});
		const core = aCore(config);
		core.applyOutcomes(
			[
				servedWith("far/y", 200, { ttfbMs: 400, colo: "FRA" }),
				servedWith("near/x", 200, { ttfbMs: 30, colo: "FRA" }),
				// Measured without a colo: the origin's latency only, not a colo's.
				servedWith("far/y", 200, { ttfbMs: 1 }),
			],
			0,
		);
		const poolFrom = (colo?: string) => fullPlan(route(core, 100, colo ? { location: { colo } } : {})).pool;
		expect(poolFrom("FRA")).toBe("near");
		expect(poolFrom("SJC")).toBe("far"); // nothing measured from there: default order
		expect(poolFrom()).toBe("far");
	});

	it("keeps the latencies of at most MAX_COLO_LATENCIES (pool, colo) pairs: a forgotten one is unmeasured until measured again (issue 14, item 3)", () => {
		const config = aConfig({
			monitors: [],
			pools: [aPool("far", [anOrigin("y")]), aPool("near", [anOrigin("x")])],
			load_balancers: [aLoadBalancer(HOST, ["far", "near"], { steering_policy: "dynamic_latency" })],
		});
		const core = aCore(config);
		const fast = (colo: string) => servedWith("near/x", 200, { ttfbMs: 30, colo });
		core.applyOutcomes([servedWith("far/y", 200, { ttfbMs: 400, colo: "FRA" }), fast("FRA")], 0);
		const poolFrom = (colo: string) => fullPlan(route(core, 100, { location: { colo } })).pool;
		expect(poolFrom("FRA")).toBe("near");
		// As many pairs measured since, from other data centers (only the dev-only colo header makes that many).
		core.applyOutcomes(
			Array.from({ length: MAX_COLO_LATENCIES }, (_, i) => fast(`C${i}`)),
			0,
		);
		expect(poolFrom("FRA")).toBe("far"); // forgotten: default order, as before its first sample
		expect(poolFrom(`C${MAX_COLO_LATENCIES - 1}`)).toBe("near");
		core.applyOutcomes([fast("FRA")], 0);
		expect(poolFrom("FRA")).toBe("near");
	});
});

describe("CounterCore: reporting ejections to the authority", () => {
	it("hands each ejection out once", () => {
		const core = aCore();
		core.applyOutcomes(twoFailures("p/a"), 1000);
		expect(core.hasUnreported).toBe(true);
		expect(core.takeUnreported(1000)).toEqual([{ key: "p/a", until: 11_000, reason: expect.any(String), at: 1000 }]);
		expect(core.hasUnreported).toBe(false);
		expect(core.takeUnreported(1000)).toEqual([]);
	});

	it("lifts the ejections the authority refused, and only those", () => {
		const core = aCore();
		core.applyOutcomes([...twoFailures("p/a"), ...twoFailures("p/b")], 0);
		core.takeUnreported(0);
		core.reported(["p/a"]);
		expect(core.counters(0).ejectedUntil).toEqual({ "p/b": 10_000 });
		expect(new Set(firstChoices(core, 6))).toEqual(new Set(["p/a", "p/c", "p/d"]));
	});

	it("after a failed report, tries again only after REVALIDATE_MS, with the ejections still in force", () => {
		const core = aCore();
		core.applyOutcomes(twoFailures("p/a"), 0); // until 10 000
		core.applyOutcomes(twoFailures("p/b"), 8000); // until 18 000
		const batch = core.takeUnreported(8000);
		expect(batch.map((ejection) => ejection.key)).toEqual(["p/a", "p/b"]);
		core.reportFailed(batch, 12_000);
		expect(core.hasUnreported).toBe(true);
		expect(core.takeUnreported(12_000 + REVALIDATE_MS - 1)).toEqual([]);
		expect(core.takeUnreported(12_000 + REVALIDATE_MS)).toEqual([batch[1]]);
		expect(core.takeUnreported(12_000 + REVALIDATE_MS)).toEqual([]);
	});
});

describe("CounterCore.adopt", () => {
	it.each([
		{ state: 5, checks: 2, adopted: false },
		{ state: 4, checks: 9, adopted: false },
		{ state: 5, checks: 3, adopted: true },
		{ state: 6, checks: 0, adopted: true },
	])(
		"holding state 5, checks 2: a replica at state $state, checks $checks is adopted → $adopted",
		({ state, checks, adopted }) => {
			const core = aCore(fourOrigins(), { state: 5, checks: 2 });
			const copy = aReplica(fourOrigins(), { state, checks, drains: [{ key: "p/a", since: 0 }] });
			expect(core.adopt(copy, 1000)).toBe(adopted);
			expect(core.held).toEqual(adopted ? { state, checks } : { state: 5, checks: 2 });
			expect(keysOf(route(core, 1000)).includes("p/a")).toBe(!adopted);
		},
	);

	it.each([
		{ name: "the same configuration", configJson: "same" },
		{ name: "no configuration (a checks-only replica)", configJson: undefined },
	])("keeps the policies' cursors when a newer replica has $name", ({ configJson }) => {
		const core = aCore();
		expect(firstChoices(core, 2)).toEqual(["p/a", "p/b"]);
		const next = aReplica(fourOrigins(), { state: 2 });
		expect(core.adopt(configJson === "same" ? next : { ...next, configJson }, 0)).toBe(true);
		expect(firstChoices(core, 2)).toEqual(["p/c", "p/d"]);
	});

	it("installs a changed configuration, with fresh cursors", () => {
		const core = aCore();
		expect(firstChoices(core, 3)).toEqual(["p/a", "p/b", "p/c"]);
		const changed = fourOrigins({}, { origins: [anOrigin("a"), anOrigin("e")] });
		changed.load_balancers = changed.load_balancers?.slice(0, 1);
		expect(core.adopt(aReplica(changed, { state: 2, version: 2 }), 0)).toBe(true);
		// A cursor carried over (at 3) would start at e.
		expect(firstChoices(core, 2)).toEqual(["p/a", "p/e"]);
		expect(core.route({ hostname: OTHER }, 0, ZERO)).toMatchObject({ ok: false, problem: "no_load_balancer" });
	});

	it("keeps planning with the configuration it has when the replica's does not validate", () => {
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		const core = aCore();
		expect(core.adopt(aReplica(fourOrigins(), { state: 2, configJson: '{"pools": 5}' }), 0)).toBe(true);
		expect(error).toHaveBeenCalledOnce();
		expect(keysOf(route(core))).toEqual(["p/a", "p/b", "p/c", "p/d"]);
	});

	it("takes health, drains and ejections from the replica", () => {
		const config = fourOrigins(
			{},
			{ monitor: "mon", origins: ["a", "b", "c", "d", "e"].map((name) => anOrigin(name)) },
		);
		config.monitors = [aMonitor("mon")];
		const core = aCore(config, {
			health: [
				{ key: "p/a", healthy: false, changedAt: 0 },
				{ key: "p/c", healthy: true, changedAt: 0 },
				{ key: "p/d", healthy: true, changedAt: 0 },
				{ key: "p/e", healthy: true, changedAt: 0 },
			],
			drains: [{ key: "p/b", since: 0 }],
			ejections: [{ key: "p/c", until: 60_000 }],
		});
		expect(keysOf(route(core, 1000))).toEqual(["p/d", "p/e"]);
		expect(core.counters(1000).ejectedUntil).toEqual({ "p/c": 60_000 });
		expect(keysOf(route(core, 60_000)).sort()).toEqual(["p/c", "p/d", "p/e"]);
	});

	it("takes slow starts from the replica: a warming origin gets its share only until slow_start_s has passed", () => {
		const config = fourOrigins({ slow_start_s: 30 }, { origins: [anOrigin("a"), anOrigin("b")] });
		const core = aCore(config, { healthySince: [{ key: "p/a", since: 0 }] });
		const half = () => 0.5; // above a's 10% share at the start: a sits out every pick
		expect(firstChoices(core, 4, 0, half)).toEqual(["p/b", "p/b", "p/b", "p/b"]);
		expect(new Set(firstChoices(core, 4, 30_000, half))).toEqual(new Set(["p/a", "p/b"]));
	});
});

describe("CounterCore.counters", () => {
	it("shows requests in flight, failures in a row and ejections in force, per origin, leaving out zeros", () => {
		const core = aCore();
		route(core);
		route(core);
		route(core);
		core.applyOutcomes([...twoFailures("p/c"), servedWith("p/d", 500)], 0);
		expect(core.counters(0)).toEqual({
			inFlight: { "p/a": 1, "p/b": 1, "p/c": 1 },
			passiveFailures: { "p/d": 1 },
			ejectedUntil: { "p/c": 10_000 },
		});
		expect(core.counters(10_000).ejectedUntil).toEqual({});
	});
});

describe("CounterCore.isDueForRevalidation", () => {
	it("is due REVALIDATE_MS after the replica was adopted, and a replica that was not newer does not count", () => {
		const core = aCore(fourOrigins(), { state: 3 }, 1000);
		expect(core.isDueForRevalidation(1000 + REVALIDATE_MS - 1)).toBe(false);
		expect(core.isDueForRevalidation(1000 + REVALIDATE_MS)).toBe(true);
		expect(core.adopt(aReplica(fourOrigins(), { state: 3 }), 4000)).toBe(false);
		expect(core.isDueForRevalidation(1000 + REVALIDATE_MS)).toBe(true);
		expect(core.adopt(aReplica(fourOrigins(), { state: 4 }), 4000)).toBe(true);
		expect(core.isDueForRevalidation(1000 + REVALIDATE_MS)).toBe(false);
	});
});

describe("isolates' in-flight reports (issue 14, item 3)", () => {
	it("forgets an isolate not heard from for ISOLATE_REPORT_TTL_MS as reports come, not only when /status asks", () => {
		const core = aCore();
		const held = () => (Reflect.get(core, "isolateInFlight") as Map<string, unknown>).size;
		for (let i = 0; i < 1000; i++) core.noteIsolates([], { isolate: `isolate-${i}`, inFlight: { "p/a": 1 } }, i * 100);
		// 100 ms apart: only those of the last 30 s (and the one just heard) are kept.
		expect(held()).toBeLessThanOrEqual(ISOLATE_REPORT_TTL_MS / 100 + 1);
		expect(core.counters(99_900).inFlight["p/a"]).toBe(held());
	});
});
