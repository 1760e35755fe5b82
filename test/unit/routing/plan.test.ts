import { describe, expect, it } from "vitest";
import type { OriginPolicy } from "../../../src/balancing/policy";
import { roundRobin } from "../../../src/balancing/round-robin";
import type { RoutePlan } from "../../../src/contract/route";
import { isPoolHealthy, type PlanContext, planRoute } from "../../../src/routing/plan";
import type { Snapshot } from "../../../src/routing/snapshot";
import {
	aConfig,
	aLoadBalancer,
	anOrigin,
	aPool,
	aSnapshot,
	type LoadBalancerInput,
	type PoolInput,
} from "../../fixtures/config";

const HOST = "app.example.com";

/** primary [a, b, c], secondary [d, e], backup [f, g, h (disabled)]; the LB fails over primary → secondary, falls back to backup. */
function threePools(lb: Partial<LoadBalancerInput> = {}, primary: Partial<PoolInput> = {}): Snapshot {
	return aSnapshot(
		aConfig({
			monitors: [],
			pools: [
				aPool("primary", [anOrigin("a"), anOrigin("b"), anOrigin("c")], primary),
				aPool("secondary", [anOrigin("d"), anOrigin("e")]),
				aPool("backup", [anOrigin("f"), anOrigin("g"), anOrigin("h", undefined, { enabled: false })]),
			],
			load_balancers: [aLoadBalancer(HOST, ["primary", "secondary"], { fallback_pool: "backup", ...lb })],
		}),
	);
}

/** A context whose health comes from a set of unhealthy origin keys, with one round robin per pool. */
function aContext(unhealthy: Iterable<string> = []): PlanContext {
	const down = new Set(unhealthy);
	const policies = new Map<string, OriginPolicy>();
	return {
		isHealthy: (key) => !down.has(key),
		policyFor: (poolId) => {
			let policy = policies.get(poolId);
			if (!policy) {
				policy = roundRobin();
				policies.set(poolId, policy);
			}
			return policy;
		},
		random: () => 0,
	};
}

function routed(plan: RoutePlan) {
	if (!plan.ok) throw new Error(`expected a route, got ${plan.problem}: ${plan.detail}`);
	return plan;
}

const keysOf = (plan: RoutePlan) => routed(plan).attempts.map((attempt) => attempt.key);

describe("planRoute: pool choice", () => {
	it.each([
		{
			name: "all healthy → first pool",
			unhealthy: [],
			pool: "primary",
			attempts: ["primary/a", "primary/b", "primary/c"],
		},
		{
			name: "one origin down → first pool without it",
			unhealthy: ["primary/a"],
			pool: "primary",
			attempts: ["primary/b", "primary/c"],
		},
		{
			name: "first pool down → second pool",
			unhealthy: ["primary/a", "primary/b", "primary/c"],
			pool: "secondary",
			attempts: ["secondary/d", "secondary/e"],
		},
		{
			name: "origins down in other pools do not matter",
			unhealthy: ["secondary/d", "backup/f"],
			pool: "primary",
			attempts: ["primary/a", "primary/b", "primary/c"],
		},
	])("$name", ({ unhealthy, pool, attempts }) => {
		const plan = routed(planRoute(threePools(), HOST, aContext(unhealthy)));
		expect(plan).toMatchObject({ loadBalancer: HOST, pool, fallback: false });
		expect(keysOf(plan)).toEqual(attempts);
	});

	it("never lists an unhealthy origin, whatever the rotation", () => {
		const snapshot = threePools();
		const ctx = aContext(["primary/b"]);
		for (let i = 0; i < 6; i++) {
			expect(keysOf(planRoute(snapshot, HOST, ctx))).not.toContain("primary/b");
		}
	});

	it.each([
		{ healthyInPrimary: 3, pool: "primary" },
		{ healthyInPrimary: 2, pool: "primary" },
		{ healthyInPrimary: 1, pool: "secondary" },
		{ healthyInPrimary: 0, pool: "secondary" },
	])("minimum_origins 2 with $healthyInPrimary healthy → $pool", ({ healthyInPrimary, pool }) => {
		const unhealthy = ["primary/a", "primary/b", "primary/c"].slice(healthyInPrimary);
		const plan = routed(planRoute(threePools({}, { minimum_origins: 2 }), HOST, aContext(unhealthy)));
		expect(plan.pool).toBe(pool);
		expect(plan.fallback).toBe(false);
	});

	it("skips a disabled pool", () => {
		const plan = routed(planRoute(threePools({}, { enabled: false }), HOST, aContext()));
		expect(plan.pool).toBe("secondary");
	});

	it("uses the fallback pool regardless of health when no pool is healthy, with all its enabled origins", () => {
		const everything = ["a", "b", "c"].map((o) => `primary/${o}`);
		everything.push("secondary/d", "secondary/e", "backup/f", "backup/g", "backup/h");
		const plan = routed(planRoute(threePools(), HOST, aContext(everything)));
		expect(plan).toMatchObject({ pool: "backup", fallback: true });
		expect(keysOf(plan)).toEqual(["backup/f", "backup/g"]);
	});

	it("in the fallback pool, sends only to its healthy origins when it has some", () => {
		const unhealthy = ["primary/a", "primary/b", "primary/c", "secondary/d", "secondary/e", "backup/f"];
		const plan = routed(planRoute(threePools(), HOST, aContext(unhealthy)));
		expect(plan).toMatchObject({ pool: "backup", fallback: true });
		expect(keysOf(plan)).toEqual(["backup/g"]);
	});

	it("without fallback_pool falls back to the last default pool", () => {
		const snapshot = threePools({ fallback_pool: undefined });
		const unhealthy = ["primary/a", "primary/b", "primary/c", "secondary/d", "secondary/e"];
		const plan = routed(planRoute(snapshot, HOST, aContext(unhealthy)));
		expect(plan).toMatchObject({ pool: "secondary", fallback: true });
		expect(keysOf(plan)).toEqual(["secondary/d", "secondary/e"]);
	});

	it("carries the load balancer's proxy settings", () => {
		const snapshot = threePools({ proxy: { timeout_ms: 1234, retries: 0, debug_headers: true } });
		expect(routed(planRoute(snapshot, HOST, aContext())).proxy).toMatchObject({
			timeout_ms: 1234,
			retries: 0,
			debug_headers: true,
		});
	});

	it("describes each attempt with its pool, origin name and parsed address", () => {
		const plan = routed(planRoute(threePools(), HOST, aContext()));
		expect(plan.attempts[0]).toEqual({
			key: "primary/a",
			pool: "primary",
			origin: "a",
			base: { protocol: undefined, host: "a.example.com", hostname: "a.example.com", pathPrefix: "" },
		});
	});

	it("routes a host matched by a wildcard load balancer", () => {
		const snapshot = threePools({ name: "*.example.com" });
		expect(routed(planRoute(snapshot, "Shop.Example.com", aContext())).loadBalancer).toBe("*.example.com");
	});
});

describe("planRoute: origins that never take traffic", () => {
	const snapshot = aSnapshot(
		aConfig({
			monitors: [],
			pools: [
				aPool("p", [
					anOrigin("on"),
					anOrigin("off", undefined, { enabled: false }),
					anOrigin("zero", undefined, { weight: 0 }),
					anOrigin("light", undefined, { weight: 0.1 }),
				]),
			],
			load_balancers: [aLoadBalancer(HOST, ["p"])],
		}),
	);

	it("leaves out disabled and weight-0 origins, in normal routing", () => {
		const ctx = aContext();
		for (let i = 0; i < 4; i++) expect(keysOf(planRoute(snapshot, HOST, ctx)).sort()).toEqual(["p/light", "p/on"]);
	});

	it("leaves out disabled and weight-0 origins, in fallback routing", () => {
		const plan = routed(planRoute(snapshot, HOST, aContext(["p/on", "p/light", "p/off", "p/zero"])));
		expect(plan.fallback).toBe(true);
		expect(keysOf(plan).sort()).toEqual(["p/light", "p/on"]);
	});
});

describe("planRoute: problems", () => {
	it("no load balancer for the host", () => {
		expect(planRoute(threePools(), "unknown.example.org", aContext())).toMatchObject({
			ok: false,
			problem: "no_load_balancer",
			detail: expect.stringContaining("unknown.example.org"),
		});
	});

	it("a disabled load balancer", () => {
		expect(planRoute(threePools({ enabled: false }), HOST, aContext())).toMatchObject({
			ok: false,
			problem: "load_balancer_disabled",
			loadBalancer: HOST,
		});
	});

	it.each([
		{ name: "all origins disabled", pool: aPool("p", [anOrigin("a", undefined, { enabled: false })]) },
		{ name: "all origins weight 0", pool: aPool("p", [anOrigin("a", undefined, { weight: 0 })]) },
		{ name: "no origins", pool: aPool("p", []) },
		{ name: "the pool disabled", pool: aPool("p", [anOrigin("a")], { enabled: false }) },
	])("a pool with no enabled origin ($name)", ({ pool }) => {
		const snapshot = aSnapshot(aConfig({ monitors: [], pools: [pool], load_balancers: [aLoadBalancer(HOST, ["p"])] }));
		expect(planRoute(snapshot, HOST, aContext())).toEqual({
			ok: false,
			problem: "no_origin",
			loadBalancer: HOST,
			pool: "p",
			detail: expect.stringContaining('"p"'),
		});
	});
});

describe("planRoute: rotation", () => {
	it("spreads calls over the pool's origins", () => {
		const snapshot = threePools();
		const ctx = aContext();
		const firsts = Array.from({ length: 6 }, () => routed(planRoute(snapshot, HOST, ctx)).attempts[0]?.origin);
		expect(firsts).toEqual(["a", "b", "c", "a", "b", "c"]);
	});

	it("lists the alternates after the pick in wrap-around order", () => {
		const snapshot = threePools();
		const ctx = aContext();
		planRoute(snapshot, HOST, ctx);
		expect(keysOf(planRoute(snapshot, HOST, ctx))).toEqual(["primary/b", "primary/c", "primary/a"]);
	});

	it("passes the context's random to the pool policy", () => {
		const seen: number[] = [];
		const ctx: PlanContext = {
			isHealthy: () => true,
			policyFor: () => ({
				name: "spy",
				pick: (candidates, { random }) => {
					seen.push(random());
					return candidates.at(-1);
				},
			}),
			random: () => 0.42,
		};
		expect(keysOf(planRoute(threePools(), HOST, ctx))).toEqual(["primary/c", "primary/a", "primary/b"]);
		expect(seen).toEqual([0.42]);
	});
});

describe("isPoolHealthy", () => {
	const snapshot = threePools({}, { minimum_origins: 2 });
	const primary = snapshot.pools.get("primary");

	it.each([
		{ unhealthy: [], healthy: true },
		{ unhealthy: ["primary/a"], healthy: true },
		{ unhealthy: ["primary/a", "primary/b"], healthy: false },
	])("minimum_origins 2 with $unhealthy down → $healthy", ({ unhealthy, healthy }) => {
		expect(isPoolHealthy(primary, aContext(unhealthy).isHealthy)).toBe(healthy);
	});

	it("an unknown pool is unhealthy", () => {
		expect(isPoolHealthy(undefined, () => true)).toBe(false);
	});
});
