/**
 * The isolate's wiring (src/isolate.ts) against fake object namespaces: which object each call
 * reaches. Issue 11 (found by the review of the house): route requests for hostnames the replica
 * does not know queued behind one another and went as one `routeMany` to a counter object named
 * "global", which nobody keeps current; they must each ask the authority.
 */
import { describe, expect, it } from "vitest";
import type { RoutePlan } from "../../src/contract/route";
import type { WireRouteRequest } from "../../src/contract/wire";
import type { Env } from "../../src/env";
import { wireIsolate } from "../../src/isolate";
import { fromWireRoute } from "../../src/routing/wire";
import { aConfig, aLoadBalancer, anOrigin, aPool } from "../fixtures/config";
import { aReplica } from "../fixtures/replica";

const config = aConfig({
	monitors: [],
	pools: [aPool("p", [anOrigin("x")])],
	load_balancers: [aLoadBalancer("a.test", ["p"])],
});

function fakeEnv() {
	const calls: string[] = [];
	const plan = (hostname: string): RoutePlan =>
		({ ok: true, loadBalancer: hostname, pool: "p", fallback: false, attempts: [], proxy: {}, state: 1 }) as never;
	const authority = {
		resolve: async (hostname: string) => {
			calls.push(`REGISTRY global resolve ${hostname}`);
			return { ok: false, problem: "no_load_balancer", detail: `no load balancer answers the host "${hostname}"` };
		},
	};
	// Read as the counter object reads them (they cross the wire as text).
	const counter = (name: string) => ({
		route: async (wire: WireRouteRequest) => {
			const request = fromWireRoute(wire);
			calls.push(`COUNTERS ${name} route ${request.hostname}`);
			return plan(request.hostname);
		},
		routeMany: async (wires: WireRouteRequest[]) => {
			const requests = wires.map(fromWireRoute);
			calls.push(`COUNTERS ${name} routeMany ${requests.map((request) => request.hostname).join(",")}`);
			return requests.map((request) => plan(request.hostname));
		},
		release: async () => ({ released: 0 }),
	});
	const hub = { replica: async () => aReplica(config) };
	const env = {
		REGISTRY: { getByName: (name: string) => (name === "global" ? authority : undefined) },
		COUNTERS: { getByName: (name: string) => counter(name) },
		HUBS: { getByName: (name: string) => (name === "colo:local" ? hub : undefined) },
	} as unknown as Env;
	return { env, calls };
}

describe("wireIsolate", () => {
	it("asks the authority about every unknown hostname, even when such requests arrive together", async () => {
		const { env, calls } = fakeEnv();
		const planner = wireIsolate(env, []).planner;
		const background: Promise<unknown>[] = [];
		const route = (hostname: string) => planner.for((promise) => background.push(promise)).route({ hostname });
		await route("a.test"); // the replica, and one known hostname
		const plans = await Promise.all(Array.from({ length: 5 }, () => route("new.test")));
		await Promise.all(background);
		expect(plans.every((plan) => !plan.ok && plan.problem === "no_load_balancer")).toBe(true);
		expect(calls).toEqual([
			"COUNTERS lb:a.test@local route a.test",
			...Array.from({ length: 5 }, () => "REGISTRY global resolve new.test"),
		]);
	});

	it("shares one call between requests for a known hostname that queue behind a call out", async () => {
		const { env, calls } = fakeEnv();
		const planner = wireIsolate(env, []).planner;
		const background: Promise<unknown>[] = [];
		const route = () => planner.for((promise) => background.push(promise)).route({ hostname: "a.test" });
		await route();
		const plans = await Promise.all(Array.from({ length: 4 }, route));
		await Promise.all(background);
		expect(plans.every((plan) => plan.ok)).toBe(true);
		expect(calls[1]).toBe("COUNTERS lb:a.test@local route a.test"); // the first goes alone
		expect(calls.slice(2)).toEqual(["COUNTERS lb:a.test@local routeMany a.test,a.test,a.test"]);
	});
});
