import { describe, expect, it } from "vitest";
import { FailOpenPlanner, type RemoteRegistry, type StateCopy } from "../../../src/proxy/fail-open";
import type { RoutePlan } from "../../../src/registry/plan";
import { aConfig, aLoadBalancer, anOrigin, aPool, aValidConfig } from "../../fixtures/config";

function copyOf(state: number): StateCopy {
	const config = aValidConfig(
		aConfig({
			monitors: [],
			pools: [aPool("primary", [anOrigin("a"), anOrigin("b")])],
			load_balancers: [aLoadBalancer("app.example.com", ["primary"])],
		}),
	);
	return { state, configJson: JSON.stringify(config), version: 1, unhealthy: ["primary/b"], draining: [] };
}

const okPlan = (state: number, leaseId: string): RoutePlan =>
	({
		ok: true,
		loadBalancer: "app.example.com",
		pool: "primary",
		fallback: false,
		attempts: [],
		proxy: {},
		state,
		leaseId,
	}) as never;

describe("FailOpenPlanner", () => {
	it("plans from its copy when the registry misses the deadline, and hands back the late reply's lease", async () => {
		const planner = new FailOpenPlanner(20);
		const background: Promise<unknown>[] = [];
		const late: string[] = [];
		// First a healthy reply, which makes the planner fetch its copy.
		const healthy: RemoteRegistry = { route: async () => okPlan(7, "l1"), stateCopy: async () => copyOf(7) };
		await planner.for(healthy, (promise) => background.push(promise)).route({ hostname: "app.example.com" });
		await Promise.all(background);

		let answer: (plan: RoutePlan) => void = () => {};
		const slow: RemoteRegistry = {
			route: () => new Promise<RoutePlan>((resolve) => (answer = resolve)),
			stateCopy: async () => copyOf(7),
		};
		const plan = await planner
			.for(
				slow,
				(promise) => background.push(promise),
				(leaseId) => late.push(leaseId),
			)
			.route({ hostname: "app.example.com" });
		expect(plan).toMatchObject({ ok: true, failOpen: true, pool: "primary" });
		// The copy says b is unhealthy: the local plan only has a.
		expect(plan.ok && plan.attempts.map((attempt) => attempt.origin)).toEqual(["a"]);

		answer(okPlan(7, "late-lease"));
		await Promise.all(background);
		expect(late).toEqual(["late-lease"]);
	});

	it("without a copy yet, a registry failure is the caller's error", async () => {
		const planner = new FailOpenPlanner(20);
		const failing: RemoteRegistry = {
			route: async () => {
				throw new Error("registry down");
			},
			stateCopy: async () => copyOf(1),
		};
		await expect(planner.for(failing, () => {}).route({ hostname: "app.example.com" })).rejects.toThrow(
			"registry down",
		);
	});
});

// Issue 4: route replies come from several counter shards, one of which may lag behind the copy.
describe("FailOpenPlanner with counter shards", () => {
	it("refreshes its copy only for a newer state, never back to an older one", async () => {
		const planner = new FailOpenPlanner(20);
		const copies: number[] = [];
		let state = 7;
		const remote: RemoteRegistry = {
			route: async () => okPlan(state, "l"),
			stateCopy: async () => {
				copies.push(state);
				return copyOf(state);
			},
		};
		const route = async () => {
			const background: Promise<unknown>[] = [];
			await planner.for(remote, (promise) => background.push(promise)).route({ hostname: "app.example.com" });
			await Promise.all(background);
		};
		await route();
		state = 6; // a shard that has not had the push yet
		await route();
		state = 8;
		await route();
		expect(copies).toEqual([7, 8]);
	});

	it("loads a copy on demand and resolves hostnames from it", async () => {
		const planner = new FailOpenPlanner(20);
		expect(planner.hasCopy).toBe(false);
		expect(planner.loadBalancerOf("app.example.com")).toBeUndefined();
		await planner.load({ stateCopy: async () => copyOf(3) });
		expect(planner.hasCopy).toBe(true);
		expect(planner.loadBalancerOf("APP.example.com")?.name).toBe("app.example.com");
		expect(planner.loadBalancerOf("other.example.com")).toBeUndefined();
		await expect(
			planner.load({
				stateCopy: async () => {
					throw new Error("down");
				},
			}),
		).rejects.toThrow("down");
		expect(planner.hasCopy).toBe(true); // the copy it had stays
	});
});
