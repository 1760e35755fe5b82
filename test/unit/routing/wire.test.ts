import { describe, expect, it } from "vitest";
import { createOriginPolicy } from "../../../src/balancing";
import type { RoutePlan } from "../../../src/contract/route";
import { isCompactPlan } from "../../../src/contract/wire";
import { type PlanContext, planRoute } from "../../../src/routing/plan";
import { fromCompactPlan, toCompactPlan } from "../../../src/routing/wire";
import { aConfig, aLoadBalancer, anOrigin, aPool, aSnapshot } from "../../fixtures/config";

const context = (unhealthy: string[] = []): PlanContext => ({
	isHealthy: (key) => !unhealthy.includes(key),
	policyFor: () => createOriginPolicy("round_robin"),
	random: () => 0,
});

type OkPlan = Extract<RoutePlan, { ok: true }>;

function okPlan(plan: RoutePlan): OkPlan {
	if (!plan.ok) throw new Error(plan.detail);
	return plan;
}

/** Two pools with failover across them, a proxy section that is not the default, and a geo steering policy. */
const snapshot = aSnapshot(
	aConfig({
		monitors: [],
		pools: [
			aPool("eu", [anOrigin("a", "http://a.example.com/api"), anOrigin("b", "https://b.example.com:8443")]),
			aPool("us", [anOrigin("c")]),
		],
		load_balancers: [
			aLoadBalancer("app.test", ["eu", "us"], {
				steering_policy: "geo",
				adaptive_routing: { failover_across_pools: true },
				proxy: { timeout_ms: 1234, retries: 3, debug_headers: true },
			}),
			aLoadBalancer("sticky.test", ["eu"], { session_affinity: "cookie" }),
		],
	}),
);

describe("compact route replies", () => {
	it("carry a plan that the Worker's copy of the same state makes whole again, equal to the original", () => {
		const plan = okPlan(planRoute(snapshot, "app.test", context()));
		const sent = { ...plan, state: 42, leaseId: "lb:app.test~i-1" };
		const compact = toCompactPlan(plan, 42, "lb:app.test~i-1");
		expect(compact).toBeDefined();
		expect(isCompactPlan(compact)).toBe(true);
		const lb = snapshot.loadBalancers.get("app.test");
		if (!compact || !lb) throw new Error("setup");
		expect(fromCompactPlan(compact, lb, snapshot)).toEqual(sent);
	});

	it("keep the attempts' order, origins of other pools included, and the flags", () => {
		const plan = okPlan(planRoute(snapshot, "app.test", context(["eu/a"])));
		expect(plan.attempts.map((attempt) => attempt.key)).toEqual(["eu/b", "us/c"]);
		const compact = toCompactPlan(plan, 1, "l");
		const lb = snapshot.loadBalancers.get("app.test");
		if (!compact || !lb) throw new Error("setup");
		const whole = fromCompactPlan(compact, lb, snapshot);
		expect(whole?.attempts.map((attempt) => attempt.key)).toEqual(plan.attempts.map((attempt) => attempt.key));
		expect(whole?.fallback).toBe(plan.fallback);
		expect(whole?.needsLocation).toBe(true);
	});

	it("are not used for session affinity, whose plan carries per-request facts", () => {
		const plan = okPlan(planRoute(snapshot, "sticky.test", context()));
		expect(plan.affinity).toBeDefined();
		expect(toCompactPlan(plan, 1, "l")).toBeUndefined();
	});

	it("cannot be made whole from a copy that does not know an origin they name", () => {
		const plan = okPlan(planRoute(snapshot, "app.test", context()));
		const compact = toCompactPlan(plan, 1, "l");
		const other = aSnapshot(
			aConfig({
				monitors: [],
				pools: [aPool("eu", [anOrigin("z")])],
				load_balancers: [aLoadBalancer("app.test", ["eu"])],
			}),
		);
		const lb = other.loadBalancers.get("app.test");
		if (!compact || !lb) throw new Error("setup");
		expect(fromCompactPlan(compact, lb, other)).toBeUndefined();
	});

	it("are told apart from whole plans and problems", () => {
		expect(isCompactPlan(okPlan(planRoute(snapshot, "app.test", context())))).toBe(false);
		expect(isCompactPlan(planRoute(snapshot, "nope.test", context()))).toBe(false);
		expect(isCompactPlan(["something", 1])).toBe(false);
	});
});
