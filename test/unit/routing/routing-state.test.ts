// Issue 11: RoutingState is the one builder of "what planning knows besides the configuration" for
// the authority, counter objects and Worker isolates; these tests hold the three copies to one answer.
import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../../src/config/schema";
import { validateConfig } from "../../../src/config/validate";
import { DEFAULT_OUTLIERS, RoutingState } from "../../../src/routing/routing-state";
import {
	aConfig,
	aLoadBalancer,
	aMonitor,
	anOrigin,
	aPool,
	aValidConfig,
	type LoadBalancerInput,
	type OriginInput,
	type PoolInput,
} from "../../fixtures/config";

const HOST = "app.example.com";
const DOWN = { healthy: false, upStreak: 0, downStreak: 1, changedAt: 1 };
const UP = { healthy: true, upStreak: 1, downStreak: 0, changedAt: 1 };

function stateOf(input: ConfigInput, now?: number, version = 1): RoutingState {
	const routing = new RoutingState();
	routing.install(aValidConfig(input), version, now);
	return routing;
}

/** Pool p with `origins`, monitored when `monitored`, behind one load balancer. */
function poolP(
	origins: OriginInput[],
	{
		monitored = false,
		lb = {},
		pool = {},
	}: { monitored?: boolean; lb?: Partial<LoadBalancerInput>; pool?: Partial<PoolInput> } = {},
): ConfigInput {
	return aConfig({
		monitors: [aMonitor("mon")],
		pools: [aPool("p", origins, { ...(monitored ? { monitor: "mon" } : {}), ...pool })],
		load_balancers: [aLoadBalancer(HOST, ["p"], lb)],
	});
}

const origins = (...names: string[]) => names.map((name) => anOrigin(name));

describe("origin identity and pending origins (issue 14, item 1)", () => {
	const monitored = (...list: OriginInput[]) => poolP(list, { monitored: true, lb: { slow_start_s: 30 } });

	it("a pending origin takes traffic only while no checked origin of its pool can (fail open)", () => {
		const routing = stateOf(monitored(anOrigin("a"), anOrigin("b")));
		// Nothing checked yet: both pending, both tried.
		expect(routing.isOriginHealthy("p/a", 0)).toBe(true);
		expect(routing.isOriginHealthy("p/b", 0)).toBe(true);
		routing.health.set("p/a", { state: UP });
		expect(routing.isOriginHealthy("p/b", 0)).toBe(false);
		// a checked but down, ejected or drained: b is tried again.
		routing.health.set("p/a", { state: DOWN });
		expect(routing.isOriginHealthy("p/b", 0)).toBe(true);
		routing.health.set("p/a", { state: UP });
		routing.drains.set("p/a", { since: 0, actor: "admin" });
		expect(routing.isOriginHealthy("p/b", 0)).toBe(true);
		routing.drains.clear();
		routing.outliers.recordEjection("p/a", 10_000, 0);
		expect(routing.isOriginHealthy("p/b", 5000)).toBe(true);
		expect(routing.isOriginHealthy("p/b", 10_000)).toBe(false);
	});

	it("a change of address or port starts the origin afresh: health, ejection, slow start; other origins keep theirs", () => {
		const routing = stateOf(monitored(anOrigin("a"), anOrigin("b")));
		routing.health.set("p/a", { state: UP, rttEwmaMs: 12 });
		routing.health.set("p/b", { state: UP, rttEwmaMs: 40 });
		routing.outliers.recordEjection("p/b", 60_000, 0);
		routing.healthySince.set("p/b", 0);
		routing.install(aValidConfig(monitored(anOrigin("a"), anOrigin("b", "elsewhere.example.com"))), 2, 1000);
		expect(routing.renewed).toEqual(["p/b"]);
		expect(routing.health.has("p/b")).toBe(false);
		expect(routing.outliers.isEjected("p/b", 1000)).toBe(false);
		expect(routing.healthySince.get("p/b")).toBe(1000);
		expect(routing.health.get("p/a")?.rttEwmaMs).toBe(12);
		expect(routing.isOriginHealthy("p/b", 1000)).toBe(false); // pending beside checked a
		// The replica leaves pending origins out: every holder sees them pending.
		expect(routing.toReplica(1, 0, 1000).health.map((entry) => entry.key)).toEqual(["p/a"]);
		routing.install(aValidConfig(monitored(anOrigin("a"), anOrigin("b", "elsewhere.example.com", { port: 8443 }))), 3);
		expect(routing.renewed).toEqual(["p/b"]);
	});

	it("asks each pool's pending rule once per plan, whatever the pool's size", () => {
		const many = Array.from({ length: 2000 }, (_, i) => anOrigin(`o${i}`));
		const routing = stateOf(monitored(...many));
		let lookups = 0;
		const health = routing.health;
		const get = health.get.bind(health);
		health.get = (key: string) => {
			lookups++;
			return get(key);
		};
		const isHealthy = routing.healthAt(0);
		for (const origin of many) isHealthy(`p/${origin.name}`);
		expect(lookups).toBeLessThanOrEqual(3 * many.length);
	});
});

describe("RoutingState.install", () => {
	it("starts a slow start for origins a change adds, at `now`; none for those loaded at start-up or kept", () => {
		const routing = stateOf(poolP(origins("a", "b"), { lb: { slow_start_s: 30 } }));
		expect(routing.warmingUntil).toBe(0);
		expect(routing.healthySince.size).toBe(0);

		const keys = routing.install(aValidConfig(poolP(origins("a", "b", "c"), { lb: { slow_start_s: 30 } })), 2, 5000);
		expect([...keys]).toEqual(["p/a", "p/b", "p/c"]);
		expect([...routing.healthySince]).toEqual([["p/c", 5000]]);
		expect(routing.warmingUntil).toBe(35_000);
		expect(routing.warmthOf("p/c", 5000)).toBeCloseTo(0.1);
		expect(routing.warmthOf("p/a", 5000)).toBe(1);
	});

	it("forgets the slow starts and passive-health records of origins a change removes", () => {
		const config = (...names: string[]) => aValidConfig(poolP(origins(...names), { lb: { slow_start_s: 30 } }));
		const routing = new RoutingState();
		routing.install(config("a", "b"), 1);
		routing.install(config("a", "b", "c"), 2, 1000);
		routing.outliers.recordEjection("p/b", 60_000, 1000);
		routing.install(config("a"), 3, 2000);
		expect(routing.healthySince.size).toBe(0);
		expect(routing.warmingUntil).toBe(0);
		expect(routing.outliers.ejections(2000)).toEqual([]);
		// Added back later, b starts afresh: no ejection carried over.
		routing.install(config("a", "b"), 4, 3000);
		expect(routing.isOriginHealthy("p/b", 3000)).toBe(true);
	});

	it("takes a pool's outlier detection and slow start from the first load balancer using it", () => {
		const routing = stateOf(
			aConfig({
				monitors: [],
				pools: [aPool("p", origins("a", "b")), aPool("q", origins("x")), aPool("r", origins("z"))],
				load_balancers: [
					aLoadBalancer("first.example.com", ["q"], { fallback_pool: "p", slow_start_s: 0 }),
					aLoadBalancer("second.example.com", ["p", "r"], {
						outlier_detection: { consecutive_failures: 9 },
						slow_start_s: 60,
					}),
				],
			}),
		);
		// p is first used by first.example.com (as its fallback): its defaults apply.
		expect(routing.outlierSettings("p")).toEqual(DEFAULT_OUTLIERS);
		expect(routing.outlierSettings("r")).toEqual({ ...DEFAULT_OUTLIERS, consecutive_failures: 9 });
		routing.healthySince.set("p/b", 0);
		routing.noteWarming();
		expect(routing.warmingUntil).toBe(0);
		expect(routing.outlierSettings("unknown")).toEqual(DEFAULT_OUTLIERS);
	});
});

describe("RoutingState.isOriginHealthy", () => {
	const config = aConfig({
		monitors: [aMonitor("mon")],
		pools: [aPool("m", origins("a"), { monitor: "mon" }), aPool("u", origins("a"))],
		load_balancers: [aLoadBalancer(HOST, ["m", "u"])],
	});

	it.each([
		{ name: "monitored, never checked", key: "m/a", health: undefined, ejectedUntil: 0, healthy: true },
		{ name: "monitored, checked down", key: "m/a", health: DOWN, ejectedUntil: 0, healthy: false },
		{ name: "monitored, checked up", key: "m/a", health: UP, ejectedUntil: 0, healthy: true },
		{ name: "monitored, up but ejected", key: "m/a", health: UP, ejectedUntil: 20_000, healthy: false },
		{ name: "unmonitored, with a down record", key: "u/a", health: DOWN, ejectedUntil: 0, healthy: true },
		{ name: "unmonitored, ejected", key: "u/a", health: undefined, ejectedUntil: 20_000, healthy: false },
		{ name: "unmonitored, its ejection over", key: "u/a", health: undefined, ejectedUntil: 10_000, healthy: true },
	])("$name → $healthy", ({ key, health, ejectedUntil, healthy }) => {
		const routing = stateOf(config);
		if (health) routing.health.set(key, { state: health });
		if (ejectedUntil) routing.outliers.recordEjection(key, ejectedUntil, 0);
		expect(routing.isOriginHealthy(key, 10_000)).toBe(healthy);
	});
});

describe("RoutingState.warmthOf", () => {
	/** Pool p: a warming since 0 (slow_start_s 10), b warm unless `bSince`, c disabled and warm. */
	function warming(bSince?: number, slowStartS = 10): RoutingState {
		const routing = stateOf(
			poolP([anOrigin("a"), anOrigin("b"), anOrigin("c", undefined, { enabled: false })], {
				lb: { slow_start_s: slowStartS },
			}),
		);
		routing.healthySince.set("p/a", 0);
		if (bSince !== undefined) routing.healthySince.set("p/b", bSince);
		routing.noteWarming();
		return routing;
	}

	it.each([
		{ name: "at the start of its slow start, beside a warm origin", routing: () => warming(), at: 0, share: 0.1 },
		{ name: "half-way", routing: () => warming(), at: 5000, share: 0.55 },
		{ name: "once slow_start_s has passed", routing: () => warming(), at: 10_000, share: 1 },
		{
			name: "when the rest of the pool is warming too (only a disabled origin is warm)",
			routing: () => warming(1000),
			at: 5000,
			share: 1,
		},
		{ name: "with slow start turned off", routing: () => warming(undefined, 0), at: 0, share: 1 },
	])("of an origin $name: $share", ({ routing, at, share }) => {
		expect(routing().warmthOf("p/a", at)).toBeCloseTo(share);
	});

	it("is 1 for an origin that is not warming", () => {
		expect(warming().warmthOf("p/b", 0)).toBe(1);
	});
});

describe("RoutingState.poolFacts", () => {
	const config = poolP(
		[
			anOrigin("a"),
			anOrigin("b", undefined, { weight: 0.5 }),
			anOrigin("c"),
			anOrigin("d"),
			anOrigin("e", undefined, { enabled: false }),
		],
		{ monitored: true, pool: { latitude: 50.1, longitude: 8.7 } },
	);

	it("adds up requests in flight and the weights of usable healthy origins, and averages health-check RTTs", () => {
		const routing = stateOf(config);
		routing.health.set("p/a", { state: UP, rttEwmaMs: 10 });
		routing.health.set("p/b", { state: UP, rttEwmaMs: 30 });
		routing.drains.set("p/c", { since: 0, actor: "admin" });
		routing.health.set("p/d", { state: DOWN });
		const inFlight = (key: string) => ({ "p/a": 2, "p/c": 1 })[key] ?? 0;
		expect(routing.poolFacts("p", 0, inFlight)).toEqual({
			latitude: 50.1,
			longitude: 8.7,
			inFlight: 3,
			capacity: 1.5,
			rttMs: 20,
		});
	});

	it("gives the latency from the visitor's colo decayed as of now", () => {
		const routing = stateOf(config);
		const facts = routing.poolFacts("p", 10_000, undefined, { valueMs: 100, at: 0 });
		expect(facts.latencyFromColoMs).toBeCloseTo(100 * Math.exp(-1));
		expect(routing.poolFacts("p", 10_000)).not.toHaveProperty("latencyFromColoMs");
	});

	it("gives a disabled pool no capacity, and an unknown pool nothing", () => {
		const routing = stateOf(poolP(origins("a"), { pool: { enabled: false } }));
		expect(routing.poolFacts("p", 0).capacity).toBe(0);
		expect(routing.poolFacts("nope", 0)).toEqual({ inFlight: 0, capacity: 0 });
	});
});

describe("RoutingState.othersAvailable", () => {
	it.each([
		{ name: "another healthy origin", b: {}, setUp: () => {}, available: true },
		{ name: "another origin, disabled", b: { enabled: false }, setUp: () => {}, available: false },
		{ name: "another origin, weight 0", b: { weight: 0 }, setUp: () => {}, available: false },
		{
			name: "another origin, draining",
			b: {},
			setUp: (routing: RoutingState) => routing.drains.set("p/b", { since: 0, actor: "admin" }),
			available: false,
		},
		{
			name: "another origin, down by its monitor",
			b: {},
			setUp: (routing: RoutingState) => routing.health.set("p/b", { state: DOWN }),
			available: false,
		},
		{
			name: "another origin, ejected",
			b: {},
			setUp: (routing: RoutingState) => routing.outliers.recordEjection("p/b", 60_000, 0),
			available: false,
		},
	])("for p/a with $name: $available", ({ b, setUp, available }) => {
		const routing = stateOf(poolP([anOrigin("a"), anOrigin("b", undefined, b)], { monitored: true }));
		setUp(routing);
		const entry = routing.snapshot.pools.get("p");
		if (!entry) throw new Error("no pool p");
		expect(routing.othersAvailable(entry, "p/a", 1000)).toBe(available);
	});
});

// Issue 11: the authority decides on every ejection a counter object reports.
describe("RoutingState.decideEjection", () => {
	const fourOrigins = poolP(origins("a", "b", "c", "d"));
	const ejection = (key: string, until: number, at = 0) => ({ key, until, reason: "test", at });
	const REFUSED = { accepted: false, event: false, moved: false };

	it.each(["p/zz", "nope/a"])("refuses an origin it does not know (%s)", (key) => {
		const routing = stateOf(fourOrigins);
		expect(routing.decideEjection(ejection(key, 60_000), 1000)).toEqual(REFUSED);
	});

	it("accepts an ejection that is over already, without recording it", () => {
		const routing = stateOf(fourOrigins);
		expect(routing.decideEjection(ejection("p/a", 1000), 1000)).toEqual({ accepted: true, event: false, moved: false });
		expect(routing.isOriginHealthy("p/a", 1000)).toBe(true);
	});

	it("records a new ejection: an event, and a change every replica must hear of", () => {
		const routing = stateOf(fourOrigins);
		expect(routing.decideEjection(ejection("p/a", 60_000), 1000)).toEqual({ accepted: true, event: true, moved: true });
		expect(routing.outliers.ejections(1000)).toEqual([{ key: "p/a", until: 60_000 }]);
		expect(routing.isOriginHealthy("p/a", 1000)).toBe(false);
	});

	it.each([
		{ until: 60_000, moved: false, end: 60_000 },
		{ until: 50_000, moved: false, end: 60_000 },
		{ until: 70_000, moved: true, end: 70_000 },
	])(
		"accepts an origin ejected by another object already, without an event (until $until: moved $moved)",
		({ until, moved, end }) => {
			const routing = stateOf(fourOrigins);
			routing.decideEjection(ejection("p/a", 60_000), 1000);
			expect(routing.decideEjection(ejection("p/a", until), 2000)).toEqual({ accepted: true, event: false, moved });
			expect(routing.outliers.ejectedUntil("p/a", 2000)).toBe(end);
		},
	);

	it("refuses an ejection beyond max_ejection_percent of the pool's enabled origins, counting every object's", () => {
		// Three enabled origins at 50%: one may be out.
		const routing = stateOf(
			poolP([...origins("a", "b", "c"), anOrigin("d", undefined, { enabled: false })], {
				lb: { outlier_detection: { max_ejection_percent: 50 } },
			}),
		);
		expect(routing.decideEjection(ejection("p/a", 60_000), 1000).accepted).toBe(true);
		expect(routing.decideEjection(ejection("p/b", 60_000), 1000)).toEqual(REFUSED);
		expect(routing.isOriginHealthy("p/b", 1000)).toBe(true);
	});

	it.each([
		{ name: "draining", setUp: (routing: RoutingState) => routing.drains.set("p/b", { since: 0, actor: "admin" }) },
		{ name: "ejected", setUp: (routing: RoutingState) => routing.outliers.recordEjection("p/b", 60_000, 0) },
	])("refuses to eject the pool's last available origin (the other one $name)", ({ setUp }) => {
		const routing = stateOf(poolP(origins("a", "b"), { lb: { outlier_detection: { max_ejection_percent: 100 } } }));
		setUp(routing);
		expect(routing.decideEjection(ejection("p/a", 60_000), 1000)).toEqual(REFUSED);
		expect(routing.isOriginHealthy("p/a", 1000)).toBe(true);
	});
});

describe("RoutingState.toReplica and adopt", () => {
	const config = (...names: string[]) =>
		aConfig({
			monitors: [aMonitor("mon")],
			pools: [aPool("m", origins(...names), { monitor: "mon" }), aPool("u", origins("x", "y"))],
			load_balancers: [aLoadBalancer(HOST, ["m", "u"], { slow_start_s: 20 })],
		});

	/** An authority's state with something of everything: down, RTTs, a drain, an ejection, two slow starts. */
	function authority(): RoutingState {
		const routing = stateOf(config("a", "b", "c"));
		routing.install(aValidConfig(config("a", "b", "c", "d")), 2, 1000); // d warming since 1000
		routing.health.set("m/a", { state: DOWN, rttEwmaMs: 40 });
		routing.health.set("m/b", { state: UP, rttEwmaMs: 12 });
		// Checked (not pending): a pending origin beside a checked healthy one takes no traffic.
		routing.health.set("m/c", { state: UP });
		routing.health.set("m/d", { state: UP });
		routing.healthySince.set("m/b", 900);
		routing.noteWarming();
		routing.drains.set("m/c", { since: 500, actor: "admin" });
		routing.outliers.recordEjection("u/x", 30_000, 1000);
		return routing;
	}

	function copyOf(original: RoutingState, now: number): RoutingState {
		const replica = original.toReplica(9, 4, now);
		const checked = validateConfig(JSON.parse(replica.configJson ?? "null"));
		if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
		const copy = new RoutingState();
		copy.install(checked.config, replica.version);
		copy.adopt(replica, now);
		return copy;
	}

	const answers = (routing: RoutingState, at: number) =>
		[...routing.snapshot.origins.keys()].map((key) => ({
			key,
			healthy: routing.isOriginHealthy(key, at),
			draining: routing.isDraining(key),
			warmth: routing.warmthOf(key, at),
		}));

	it.each([2000, 15_000, 40_000])("a replica adopted by a fresh state gives the same answers (at %i)", (at) => {
		const original = authority();
		const copy = copyOf(original, 2000);
		expect(answers(copy, at)).toEqual(answers(original, at));
		expect(copy.poolFacts("m", at)).toEqual(original.poolFacts("m", at));
		expect(copy.warmingUntil).toBe(original.warmingUntil);
	});

	it("the answers it carries are the authority's, not defaults", () => {
		const copy = copyOf(authority(), 2000);
		expect(answers(copy, 2000)).toEqual([
			{ key: "m/a", healthy: false, draining: false, warmth: 1 },
			{ key: "m/b", healthy: true, draining: false, warmth: expect.closeTo(0.1 + 0.9 * (1.1 / 20), 6) },
			{ key: "m/c", healthy: true, draining: true, warmth: 1 },
			{ key: "m/d", healthy: true, draining: false, warmth: expect.closeTo(0.1 + 0.9 * (1 / 20), 6) },
			{ key: "u/x", healthy: false, draining: false, warmth: 1 },
			{ key: "u/y", healthy: true, draining: false, warmth: 1 },
		]);
		expect(copy.poolFacts("m", 2000).rttMs).toBe(26);
	});

	it("marks the replica with the state, checks and version, and leaves the configuration out when asked", () => {
		const replica = authority().toReplica(9, 4, 2000, false);
		expect(replica).toMatchObject({ state: 9, checks: 4, version: 2 });
		expect(replica).not.toHaveProperty("configJson");
		expect(replica.ejections).toEqual([{ key: "u/x", until: 30_000 }]);
	});

	it("adopting replaces health, drains and slow starts, but never shortens an ejection it holds", () => {
		const routing = stateOf(config("a", "b", "c", "d"), undefined, 2);
		routing.health.set("m/a", { state: DOWN });
		routing.drains.set("m/b", { since: 0, actor: "admin" });
		routing.healthySince.set("m/c", 0);
		routing.outliers.recordEjection("u/x", 50_000, 0);
		routing.adopt(
			{
				state: 3,
				checks: 0,
				version: 2,
				health: [{ key: "m/d", healthy: false, changedAt: 5 }],
				healthySince: [],
				drains: [{ key: "m/c", since: 10 }],
				ejections: [{ key: "u/x", until: 20_000 }],
			},
			1000,
		);
		expect(answers(routing, 1000).filter((answer) => !answer.healthy || answer.draining || answer.warmth < 1)).toEqual([
			{ key: "m/c", healthy: true, draining: true, warmth: 1 },
			{ key: "m/d", healthy: false, draining: false, warmth: 1 },
			{ key: "u/x", healthy: false, draining: false, warmth: 1 },
		]);
		expect(routing.outliers.ejectedUntil("u/x", 1000)).toBe(50_000);
	});
});
