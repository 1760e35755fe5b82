/**
 * The contract every planner of a load balancer's requests keeps, whoever runs it: a counter object
 * (CounterCore answering route calls) or an isolate planning by itself (IsolateCounters). Issue 12:
 * "one pure planner serves the counter objects and the isolate; one contract suite runs both".
 * Each planner's test file runs it in one line: `runPlannerContract({ name, make })`.
 */
import { describe, expect, it } from "vitest";
import type { OutcomeRecord } from "../../../src/contract/outcome";
import type { Replica } from "../../../src/contract/replica";
import type { RoutePlan, RouteRequest } from "../../../src/contract/route";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool, type PoolInput } from "../../fixtures/config";
import { anOutcome } from "../../fixtures/outcomes";
import { aReplica } from "../../fixtures/replica";

/** A planner under test: plans from a replica, and hears the outcomes of what it planned. */
export interface PlannerUnderTest {
	plan(request: RouteRequest, replica: Replica, now: number): RoutePlan;
	release(record: OutcomeRecord, now: number): void;
}

export interface PlannerContract {
	readonly name: string;
	/** A fresh planner for load balancer "app.test" (its requests' data center: FRA). */
	readonly make: () => PlannerUnderTest;
}

const HOST = "app.test";
const request: RouteRequest = { hostname: HOST, colo: "FRA" };

function replicaOf(pool: Partial<PoolInput>, extra: Partial<Replica> = {}, state = 1): Replica {
	return aReplica(
		aConfig({
			monitors: [aMonitor("mon")],
			pools: [
				aPool(
					"p",
					["a", "b", "c"].map((name) => anOrigin(name)),
					{ monitor: "mon", ...pool },
				),
			],
			load_balancers: [aLoadBalancer(HOST, ["p"], { slow_start_s: 0 })],
		}),
		{ state, ...extra },
	);
}

function planned(plan: RoutePlan): Extract<RoutePlan, { ok: true }> {
	if (!plan.ok) throw new Error(`expected a plan, got ${plan.problem}: ${plan.detail}`);
	return plan;
}

const first = (plan: RoutePlan) => planned(plan).attempts[0]?.origin;

export function runPlannerContract({ name, make }: PlannerContract): void {
	describe(`planner contract: ${name}`, () => {
		it("rotates exactly with round robin, with the others as alternates, a lease and the replica's state", () => {
			const planner = make();
			const replica = replicaOf({ origin_steering: { policy: "round_robin" } }, {}, 7);
			const plans = Array.from({ length: 6 }, (_, i) => planned(planner.plan(request, replica, 1_000 + i)));
			const order = plans.map((plan) => plan.attempts[0]?.origin);
			const start = ["a", "b", "c"].indexOf(order[0] as string);
			expect(order).toEqual(order.map((_, i) => ["a", "b", "c"][(start + i) % 3]));
			for (const plan of plans) {
				expect(plan.attempts.map((attempt) => attempt.origin).sort()).toEqual(["a", "b", "c"]);
				expect(plan.leaseId).toBeTruthy();
				expect(plan.state).toBe(7);
			}
			expect(new Set(plans.map((plan) => plan.leaseId)).size).toBe(6);
		});

		it("counts requests in flight for least_connections until their outcomes end them", () => {
			const planner = make();
			const replica = replicaOf({ origin_steering: { policy: "least_connections" } });
			const held = [0, 1, 2].map(() => planned(planner.plan(request, replica, 1_000)));
			expect(new Set(held.map((plan) => plan.attempts[0]?.origin))).toEqual(new Set(["a", "b", "c"]));
			const freed = held[1] as Extract<RoutePlan, { ok: true }>;
			planner.release(anOutcome(freed.leaseId as string), 1_001);
			expect(first(planner.plan(request, replica, 1_002))).toBe(freed.attempts[0]?.origin);
		});

		it("leaves out what the replica says is down, drained or ejected", () => {
			const planner = make();
			const replica = replicaOf(
				{ origin_steering: { policy: "round_robin" } },
				{
					health: [{ key: "p/a", healthy: false, changedAt: 1 }],
					drains: [{ key: "p/b", since: 1 }],
					ejections: [],
				},
			);
			for (let i = 0; i < 4; i++) expect(first(planner.plan(request, replica, 1_000 + i))).toBe("c");
			const ejected = replicaOf(
				{},
				{ ejections: [{ key: "p/c", until: 10_000 }], health: [{ key: "p/a", healthy: false, changedAt: 1 }] },
				2,
			);
			for (let i = 0; i < 4; i++) expect(first(planner.plan(request, ejected, 2_000 + i))).toBe("b");
		});

		it("follows a newer replica, and ignores an older one", () => {
			const planner = make();
			const up = replicaOf({ origin_steering: { policy: "round_robin" } }, {}, 5);
			const down = replicaOf(
				{ origin_steering: { policy: "round_robin" } },
				{
					drains: [
						{ key: "p/a", since: 1 },
						{ key: "p/b", since: 1 },
					],
				},
				6,
			);
			expect(first(planner.plan(request, down, 1_000))).toBe("c");
			// An older replica arriving late changes nothing.
			for (let i = 0; i < 3; i++) expect(first(planner.plan(request, up, 1_001 + i))).toBe("c");
		});

		it("answers a hostname no load balancer answers with the 404 problem", () => {
			const plan = make().plan({ hostname: "nope.test", colo: "FRA" }, replicaOf({}), 1_000);
			expect(plan).toMatchObject({ ok: false, problem: "no_load_balancer" });
		});
	});
}
