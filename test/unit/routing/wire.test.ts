import { describe, expect, it } from "vitest";
import { createOriginPolicy } from "../../../src/balancing";
import { type OutcomeRecord, toOutcomeRecord, toUnusedLease } from "../../../src/contract/outcome";
import { type RoutePlan, type ShardRouteRequest, toRouteRequest } from "../../../src/contract/route";
import { isCompactPlan } from "../../../src/contract/wire";
import { type PlanContext, planRoute } from "../../../src/routing/plan";
import {
	fromCompactPlan,
	fromWireOutcomes,
	fromWireRoute,
	toCompactPlan,
	toWireOutcomes,
	toWireRoute,
} from "../../../src/routing/wire";
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

describe("outcomes on the wire", () => {
	const served: OutcomeRecord = {
		leaseId: "lb:app@ams~x-1",
		attempts: 2,
		retried: true,
		totalMs: 41,
		failures: [{ origin: "eu/a", kind: "refused" }],
		colo: "AMS",
		servedBy: "eu/b",
		status: 200,
		ttfbMs: 12,
		aborted: false,
	};
	const failed: OutcomeRecord = {
		leaseId: "lb:app@ams~x-2",
		attempts: 3,
		retried: true,
		totalMs: 5003,
		failures: [
			{ origin: "eu/a", kind: "timeout" },
			{ origin: "eu/b", kind: "status", status: 503 },
			{ origin: "us/c", kind: "unreachable" },
		],
		failOpen: true,
		error: "unreachable",
		aborted: false,
		rules: [0, 2],
	};
	const unused = toUnusedLease("lb:app@ams~x-3");

	it("come back as the records that were sent, every field and its absence kept", () => {
		const batch = [served, failed, unused, { ...served, leaseId: "lb:app@ams~x-4", failures: [], aborted: true }];
		const back = fromWireOutcomes(toWireOutcomes(batch));
		expect(back).toStrictEqual(batch.map(toOutcomeRecord));
		expect(back).toEqual(batch);
		expect(back[2]?.servedBy).toBeUndefined();
		expect(back[2]?.failures).toBeUndefined();
		expect(back[3]?.failures).toEqual([]);
	});

	it("are one text, without property names, so the runtime copies it whole", () => {
		const wire = toWireOutcomes([served]);
		expect(typeof wire).toBe("string");
		expect(wire).not.toContain("leaseId");
		expect(wire.length).toBeLessThan(JSON.stringify([served]).length / 2);
		expect(toWireOutcomes([])).toBe("[]");
		expect(fromWireOutcomes("[]")).toEqual([]);
	});

	it("are taken as records too, as a Worker of the version before sends them, in the one shape", () => {
		expect(fromWireOutcomes([served, unused])).toStrictEqual([served, unused].map(toOutcomeRecord));
	});

	it("refuse what is not a batch of outcomes, naming it", () => {
		expect(() => fromWireOutcomes('{"leaseId":"x"}')).toThrow("outcomes: not a list");
		expect(() => fromWireOutcomes('[["x"]]')).toThrow('outcomes: not an outcome: ["x"]');
		expect(() => fromWireOutcomes("[[1,null,null,null,0,0,0,null,null,null,null]]")).toThrow("not an outcome");
		expect(() => fromWireOutcomes('[["x",null,null,null,0,1,0,null,null,[["eu/a"]],null]]')).toThrow(
			'outcomes: not a failure: ["eu/a"]',
		);
		expect(() => fromWireOutcomes("not json")).toThrow(SyntaxError);
	});

	it("ride a route request, itself one text, and are read back by the counter object", () => {
		const request: ShardRouteRequest = { hostname: "app.example.com", shardTry: 1, releases: [served, unused] };
		const wire = toWireRoute(request);
		expect(typeof wire).toBe("string");
		expect(fromWireRoute(wire)).toStrictEqual(
			toRouteRequest({ ...request, releases: [served, unused].map(toOutcomeRecord) }),
		);
	});
});

describe("route requests on the wire", () => {
	const whole: ShardRouteRequest = {
		hostname: "app.example.com",
		clientIp: "198.51.100.7",
		location: { colo: "AMS", country: "NL", continent: "EU", latitude: 52.3, longitude: 4.9 },
		pin: { pool: "eu", origin: "a" },
		headers: { "x-user": "42" },
		known: 17,
		colo: "AMS",
		rules: { version: 17, digest: "d1", matched: [0, 2] },
		shardTry: 2,
	};

	it("are one text without property names, and come back as the request sent, every field kept", () => {
		const wire = toWireRoute(whole);
		expect(typeof wire).toBe("string");
		expect(wire).not.toContain("hostname");
		expect(fromWireRoute(wire)).toStrictEqual(toRouteRequest(whole));
		const bare: ShardRouteRequest = { hostname: "app.example.com" };
		expect(fromWireRoute(toWireRoute(bare))).toStrictEqual(toRouteRequest(bare));
		expect(fromWireRoute(toWireRoute(bare))).toEqual(bare);
	});

	it("are taken as objects too, as a Worker of the version before sends them", () => {
		expect(fromWireRoute({ ...whole })).toStrictEqual(toRouteRequest(whole));
		expect(fromWireRoute({ hostname: "a.test", releases: toWireOutcomes([toUnusedLease("l-1")]) })).toEqual({
			hostname: "a.test",
			releases: [toUnusedLease("l-1")],
		});
	});

	it("refuse what is not a route request, naming it", () => {
		expect(() => fromWireRoute('{"hostname":"a.test"}')).toThrow("route request: not one");
		expect(() => fromWireRoute("[1,null,null,null,null,null,null,null,null,null]")).toThrow("not one");
		expect(() => fromWireRoute('["a.test"]')).toThrow("not one");
		expect(() => fromWireRoute("nope")).toThrow(SyntaxError);
	});
});
