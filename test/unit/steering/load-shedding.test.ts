import { describe, expect, it } from "vitest";
import { murmur3 } from "../../../src/balancing/hash";
import type { RoutePlan } from "../../../src/contract/route";
import { type PlanContext, planRoute } from "../../../src/routing/plan";
import type { Snapshot } from "../../../src/routing/snapshot";
import { applyLoadShedding, isShed, type ShedInput } from "../../../src/steering/load-shedding";
import { aConfig, aLoadBalancer, anOrigin, aPool, aSnapshot, type PoolInput } from "../../fixtures/config";

/** A generator of numbers in [0, 1) that is the same on every run (a linear congruential generator). */
function seeded(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
}

type Shedding = NonNullable<PoolInput["load_shedding"]>;

const shedding = (overrides: Partial<Shedding>): Shedding => ({
	default_percent: 0,
	default_policy: "random",
	session_percent: 0,
	session_policy: "hash",
	...overrides,
});

function inputOf(settings: Record<string, Shedding>, random: () => number, hashKey?: string): ShedInput {
	return {
		settingsOf: (poolId) =>
			settings[poolId] && {
				default_percent: 0,
				default_policy: "random",
				session_percent: 0,
				session_policy: "hash",
				...settings[poolId],
			},
		random,
		...(hashKey !== undefined ? { hashKey } : {}),
		hash: murmur3,
	};
}

describe("applyLoadShedding", () => {
	it("keeps steering's order when no pool sheds", () => {
		expect(
			applyLoadShedding(
				["a", "b"],
				inputOf({}, () => 0),
			),
		).toEqual({ pools: ["a", "b"], shed: [] });
	});

	it("at 100% steers everything to the next pool, and past every pool that sheds all", () => {
		const input = inputOf({ a: shedding({ default_percent: 100 }), b: shedding({ default_percent: 100 }) }, seeded(1));
		expect(applyLoadShedding(["a", "b", "c"], input)).toEqual({ pools: ["c"], shed: ["a", "b"] });
		expect(applyLoadShedding(["a", "b"], input)).toEqual({ pools: [], shed: ["a", "b"] });
	});

	it("at 0% sheds nothing whatever the draw", () => {
		const input = inputOf({ a: shedding({ default_percent: 0 }) }, () => 0);
		expect(applyLoadShedding(["a", "b"], input).shed).toEqual([]);
	});

	it.each([10, 50, 90])("random at %i%% sheds that share of 10,000 draws (± 2%%)", (percent) => {
		const input = inputOf({ a: shedding({ default_percent: percent }) }, seeded(percent));
		let shed = 0;
		for (let i = 0; i < 10_000; i++) if (applyLoadShedding(["a", "b"], input).shed.length > 0) shed++;
		expect(Math.abs(shed / 100 - percent)).toBeLessThanOrEqual(2);
	});

	it("hash sheds the same clients every time, about the share asked, and no random draw decides", () => {
		const settings = { a: shedding({ default_percent: 30, default_policy: "hash" }) };
		const throws = () => {
			throw new Error("hash policy drew at random");
		};
		let shed = 0;
		for (let i = 0; i < 5_000; i++) {
			const ip = `10.${(i >> 8) & 255}.${i & 255}.7`;
			const first = isShed("a", false, inputOf(settings, throws, ip));
			expect(isShed("a", false, inputOf(settings, throws, ip))).toBe(first);
			if (first) shed++;
		}
		expect(Math.abs(shed / 50 - 30)).toBeLessThanOrEqual(3);
	});

	it("hash without a client address draws at random instead", () => {
		const input = inputOf({ a: shedding({ default_percent: 50, default_policy: "hash" }) }, () => 0.1);
		expect(isShed("a", false, input)).toBe(true);
		expect(
			isShed(
				"a",
				false,
				inputOf({ a: shedding({ default_percent: 50, default_policy: "hash" }) }, () => 0.9),
			),
		).toBe(false);
	});

	it("sessions are shed by session_percent, hashed; new traffic by default_percent", () => {
		const input = inputOf({ a: shedding({ default_percent: 0, session_percent: 100 }) }, () => 0, "10.0.0.1");
		expect(isShed("a", true, input)).toBe(true);
		expect(isShed("a", false, input)).toBe(false);
	});
});

const HOST = "app.example.com";

function twoPools(primary: Shedding, secondary?: Shedding, lb = {}): Snapshot {
	return aSnapshot(
		aConfig({
			pools: [
				aPool("primary", [anOrigin("a")], { load_shedding: primary }),
				aPool("secondary", [anOrigin("b")], secondary ? { load_shedding: secondary } : {}),
				aPool("backup", [anOrigin("c")]),
			],
			load_balancers: [aLoadBalancer(HOST, ["primary", "secondary"], { fallback_pool: "backup", ...lb })],
		}),
	);
}

function aContext(random: () => number, shed: string[], unhealthy: string[] = []): PlanContext {
	return {
		isHealthy: (key) => !unhealthy.includes(key),
		policyFor: () => ({ name: "first", pick: (candidates) => candidates[0] }),
		random,
		noteShed: (poolId) => shed.push(poolId),
	};
}

const poolOf = (plan: RoutePlan) => (plan.ok ? { pool: plan.pool, fallback: plan.fallback } : plan.problem);

describe("planRoute with load shedding", () => {
	it("sends what the primary sheds to the next pool in steering order, and says so", () => {
		const shed: string[] = [];
		const plan = planRoute(twoPools(shedding({ default_percent: 100 })), HOST, aContext(seeded(3), shed));
		expect(poolOf(plan)).toEqual({ pool: "secondary", fallback: false });
		expect(shed).toEqual(["primary"]);
	});

	it("sends to the fallback pool what every pool sheds", () => {
		const shed: string[] = [];
		const snapshot = twoPools(shedding({ default_percent: 100 }), shedding({ default_percent: 100 }));
		expect(poolOf(planRoute(snapshot, HOST, aContext(seeded(4), shed)))).toEqual({ pool: "backup", fallback: false });
		expect(shed).toEqual(["primary", "secondary"]);
	});

	it("sheds nothing when no pool is healthy: the fallback pool takes it regardless, as without shedding", () => {
		const shed: string[] = [];
		const plan = planRoute(
			twoPools(shedding({ default_percent: 100 })),
			HOST,
			aContext(seeded(5), shed, ["primary/a", "secondary/b"]),
		);
		expect(poolOf(plan)).toEqual({ pool: "backup", fallback: true });
		expect(shed).toEqual([]);
	});

	it("a pinned session stays unless its pool sheds sessions; then it goes on to the next pool", () => {
		const keep: string[] = [];
		const affinity = { pin: { pool: "primary", origin: "a" } };
		const lb = { session_affinity: "cookie" as const };
		const kept = planRoute(twoPools(shedding({ default_percent: 100 }), undefined, lb), HOST, {
			...aContext(seeded(6), keep),
			hashKey: "10.0.0.1",
			affinity,
		});
		// default_percent is for new traffic: the session keeps its origin.
		expect(poolOf(kept)).toEqual({ pool: "primary", fallback: false });
		expect(keep).toEqual([]);
		const shed: string[] = [];
		const moved = planRoute(twoPools(shedding({ session_percent: 100 }), undefined, lb), HOST, {
			...aContext(seeded(7), shed),
			hashKey: "10.0.0.1",
			affinity,
		});
		expect(poolOf(moved)).toEqual({ pool: "secondary", fallback: false });
		expect(shed).toEqual(["primary"]);
	});
});
