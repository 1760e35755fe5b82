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
