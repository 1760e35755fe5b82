import { describe, expect, it } from "vitest";
import type { Replica } from "../../../src/contract/replica";
import type { RoutePlan } from "../../../src/contract/route";
import { DeadlineTimer } from "../../../src/deadline";
import { EdgePlanner } from "../../../src/edge/planner";
import { ReplicaCache } from "../../../src/edge/replica-cache";
import { aConfig, aLoadBalancer, anOrigin, aPool } from "../../fixtures/config";
import { aReplica } from "../../fixtures/replica";

function replicaOf(state: number): Replica {
	const config = aConfig({
		monitors: [],
		pools: [aPool("primary", [anOrigin("a"), anOrigin("b")])],
		load_balancers: [aLoadBalancer("app.example.com", ["primary"])],
	});
	// b is out (ejected by passive health) in this replica.
	return aReplica(config, { state, ejections: [{ key: "primary/b", until: Date.now() + 3_600_000 }] });
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

/** What the planner calls: the counter object's answer and the authority's replica, swappable per step. */
interface Remote {
	route(): Promise<RoutePlan>;
	replica(): Promise<Replica>;
}

function plannerOver(start: Remote, deadlineMs = 20) {
	let remote = start;
	const replicas = new ReplicaCache();
	const planner = new EdgePlanner(
		replicas,
		{ route: () => remote.route() },
		{ replica: () => remote.replica() },
		deadlineMs,
	);
	return { planner, replicas, use: (next: Remote) => (remote = next) };
}

describe("EdgePlanner (fail open)", () => {
	it("plans from its replica when the counter object misses the deadline, and hands back the late reply's lease", async () => {
		const background: Promise<unknown>[] = [];
		const late: string[] = [];
		// First a healthy reply, which makes the planner fetch its replica.
		const healthy: Remote = { route: async () => okPlan(7, "l1"), replica: async () => replicaOf(7) };
		const { planner, use } = plannerOver(healthy);
		await planner.for((promise) => background.push(promise)).route({ hostname: "app.example.com" });
		await Promise.all(background);

		let answer: (plan: RoutePlan) => void = () => {};
		use({ route: () => new Promise<RoutePlan>((resolve) => (answer = resolve)), replica: async () => replicaOf(7) });
		const plan = await planner
			.for(
				(promise) => background.push(promise),
				(leaseId) => late.push(leaseId),
			)
			.route({ hostname: "app.example.com" });
		expect(plan).toMatchObject({ ok: true, failOpen: true, pool: "primary" });
		// The replica says b is unhealthy: the local plan only has a.
		expect(plan.ok && plan.attempts.map((attempt) => attempt.origin)).toEqual(["a"]);

		answer(okPlan(7, "late-lease"));
		await Promise.all(background);
		expect(late).toEqual(["late-lease"]);
	});

	it("without a replica yet, a counter object failure is the caller's error", async () => {
		const { planner } = plannerOver({
			route: async () => {
				throw new Error("registry down");
			},
			replica: async () => replicaOf(1),
		});
		await expect(planner.for(() => {}).route({ hostname: "app.example.com" })).rejects.toThrow("registry down");
	});
});

// Issue 4: route replies come from several counter objects, one of which may lag behind the replica.
describe("EdgePlanner with several counter objects", () => {
	it("refreshes its replica only for a newer state, never back to an older one", async () => {
		const copies: number[] = [];
		let state = 7;
		const { planner } = plannerOver({
			route: async () => okPlan(state, "l"),
			replica: async () => {
				copies.push(state);
				return replicaOf(state);
			},
		});
		const route = async () => {
			const background: Promise<unknown>[] = [];
			await planner.for((promise) => background.push(promise)).route({ hostname: "app.example.com" });
			await Promise.all(background);
		};
		await route();
		state = 6; // a counter object that has not had the push yet
		await route();
		state = 8;
		await route();
		expect(copies).toEqual([7, 8]);
	});

	it("loads a replica on demand and resolves hostnames from it", async () => {
		const replicas = new ReplicaCache();
		expect(replicas.hasReplica).toBe(false);
		expect(replicas.loadBalancerOf("app.example.com")).toBeUndefined();
		await replicas.load({ replica: async () => replicaOf(3) });
		expect(replicas.hasReplica).toBe(true);
		expect(replicas.loadBalancerOf("APP.example.com")?.name).toBe("app.example.com");
		expect(replicas.loadBalancerOf("other.example.com")).toBeUndefined();
		await expect(
			replicas.load({
				replica: async () => {
					throw new Error("down");
				},
			}),
		).rejects.toThrow("down");
		expect(replicas.hasReplica).toBe(true); // the replica it had stays
	});
});

// Issue 16, item 4: a plan made in the isolate waits for nothing, so it arms no deadline.
describe("EdgePlanner with a plan made in the isolate", () => {
	it("returns it as a value without arming the request's deadline timer", async () => {
		const armed: number[] = [];
		const timer = new DeadlineTimer({
			now: () => 0,
			setTimeout: (_callback, ms) => armed.push(ms),
			clearTimeout: () => {},
		});
		const planner = new EdgePlanner(
			new ReplicaCache(),
			{ route: () => okPlan(3, "here") },
			{ replica: async () => replicaOf(3) },
			20,
		);
		const plan = planner.for(() => {}).route({ hostname: "app.example.com" }, timer);
		expect(plan).not.toBeInstanceOf(Promise);
		expect(plan).toMatchObject({ ok: true, leaseId: "here" });
		expect(armed).toEqual([]);
		// A call still arms it (the same planner, a client that asks an object).
		const calling = new EdgePlanner(
			new ReplicaCache(),
			{ route: async () => okPlan(3, "called") },
			{ replica: async () => replicaOf(3) },
			20,
		);
		await expect(calling.for(() => {}).route({ hostname: "app.example.com" }, timer)).resolves.toMatchObject({
			leaseId: "called",
		});
		expect(armed).toEqual([20]);
	});

	it("turns a client that throws into the caller's error, as a failed call is", async () => {
		const planner = new EdgePlanner(
			new ReplicaCache(),
			{
				route: () => {
					throw new Error("broken core");
				},
			},
			{ replica: async () => replicaOf(3) },
			20,
		);
		await expect(planner.for(() => {}).route({ hostname: "app.example.com" })).rejects.toThrow("broken core");
	});
});
