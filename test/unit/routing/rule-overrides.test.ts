/**
 * Rule overrides as the planner applies them (issue 20): layered in the order the rules ran, a
 * later field winning; DNS-only fields ignored; applied only to the same rules (digest); and the
 * plan made with them, by the counter core, as a counter object or an isolate makes it.
 */
import { describe, expect, it } from "vitest";
import { createOriginPolicy } from "../../../src/balancing";
import type { RouteRules } from "../../../src/contract/route";
import { planRoute } from "../../../src/routing/plan";
import { applyRuleOverrides, rulesOf } from "../../../src/routing/rule-overrides";
import { findLoadBalancer } from "../../../src/routing/snapshot";
import { aConfig, aLoadBalancer, anOrigin, aPool, aSnapshot } from "../../fixtures/config";

const snapshot = aSnapshot(
	aConfig({
		pools: [aPool("web", [anOrigin("w1")]), aPool("api", [anOrigin("a1")]), aPool("canary", [anOrigin("c1")])],
		load_balancers: [
			aLoadBalancer("app.example.com", ["web"], {
				fallback_pool: "web",
				rules: [
					{
						name: "api",
						condition: 'starts_with(http.request.uri.path, "/api")',
						overrides: { default_pools: ["api"], steering_policy: "random", ttl: 5 },
					},
					{
						name: "canary",
						condition: 'http.cookie contains "canary"',
						overrides: { default_pools: ["canary"], session_affinity: "cookie" },
					},
				],
			}),
		],
	}),
);
const lb = findLoadBalancer(snapshot, "app.example.com") as NonNullable<ReturnType<typeof findLoadBalancer>>;
const digest = rulesOf(snapshot, lb)?.digest as string;
const matched = (...indexes: number[]): RouteRules => ({ version: snapshot.version, digest, matched: indexes });

describe("applyRuleOverrides", () => {
	it("lays each matched rule's overrides over the load balancer, a later rule's field winning", () => {
		const one = applyRuleOverrides(snapshot, lb, matched(0));
		expect(one.default_pools).toEqual(["api"]);
		expect(one.steering_policy).toBe("random");
		expect(one.session_affinity).toBe("none");
		const both = applyRuleOverrides(snapshot, lb, matched(0, 1));
		expect(both.default_pools).toEqual(["canary"]);
		expect(both.steering_policy).toBe("random");
		expect(both.session_affinity).toBe("cookie");
		// The other order: the first rule's pools win.
		expect(applyRuleOverrides(snapshot, lb, matched(1, 0)).default_pools).toEqual(["api"]);
		// DNS-only fields are not laid over.
		expect((one as Record<string, unknown>).ttl).toBeUndefined();
		// The load balancer itself is untouched, and a combination is built once per snapshot.
		expect(lb.default_pools).toEqual(["web"]);
		expect(applyRuleOverrides(snapshot, lb, matched(0, 1))).toBe(both);
	});

	it("applies nothing for other rules (a digest from another configuration) or none matched", () => {
		expect(applyRuleOverrides(snapshot, lb, { ...matched(0), digest: "00000000" })).toBe(lb);
		expect(applyRuleOverrides(snapshot, lb, matched())).toBe(lb);
		expect(applyRuleOverrides(snapshot, lb, undefined)).toBe(lb);
	});

	it("makes the plan send the request to the overriding pool", () => {
		const ctx = { isHealthy: () => true, policyFor: () => createOriginPolicy("round_robin"), random: () => 0 };
		const plain = planRoute(snapshot, "app.example.com", ctx);
		const ruled = planRoute(snapshot, "app.example.com", ctx, applyRuleOverrides(snapshot, lb, matched(0)));
		expect(plain.ok && plain.attempts.map((attempt) => attempt.key)).toEqual(["web/w1"]);
		expect(ruled.ok && ruled.attempts.map((attempt) => attempt.key)).toEqual(["api/a1"]);
	});
});
