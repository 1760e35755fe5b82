/**
 * The Worker's planner, the proxy's `plan` hook: asks the counter object (counter-client.ts) and,
 * when it does not answer in time (reset by a deploy, overloaded, unreachable), plans from the
 * isolate's replica with the same pure routing code (fail open), marking the plan `failOpen`.
 * Every reply carries the authority's state; a newer one refreshes the replica in the background.
 * One per isolate.
 */
import { type RoutePlan, type RouteRequest, type RouteRules, toRouteRequest } from "../contract/route";
import { type DeadlineTimer, withTimeout } from "../deadline";
import type { ReplicaCache, ReplicaSource } from "./replica-cache";

/** A `route` slower than this is given up on, and the request planned locally (when a replica exists). */
export const ROUTE_DEADLINE_MS = 1000;

/** The route calls the planner makes (a CounterClient): a plan made in the isolate comes as a value. */
export interface RouteClient {
	route(request: RouteRequest, background: (promise: Promise<unknown>) => void): RoutePlan | Promise<RoutePlan>;
}

/** What the proxy calls for one request's plan (proxy.ts `Planner`). */
export interface RequestPlanner {
	route(request: RouteRequest, timer?: DeadlineTimer): RoutePlan | Promise<RoutePlan>;
}

export class EdgePlanner {
	constructor(
		private readonly replicas: ReplicaCache,
		private readonly client: RouteClient,
		private readonly source: ReplicaSource,
		private readonly deadlineMs = ROUTE_DEADLINE_MS,
	) {}

	/**
	 * A planner for one request: `background` is its ctx.waitUntil (a refresh runs in the context of
	 * the request that noticed the change); `onLateLease` takes the lease of a reply that came after
	 * the deadline; `rules`, the load balancing rules the request matched (rule-matcher.ts), ride
	 * every route request it makes.
	 */
	for(
		background: (promise: Promise<unknown>) => void,
		onLateLease: (leaseId: string) => unknown = () => undefined,
		rules?: RouteRules,
	): RequestPlanner {
		if (rules) {
			return {
				route: (request, timer) => this.route(toRouteRequest({ ...request, rules }), background, onLateLease, timer),
			};
		}
		return { route: (request, timer) => this.route(request, background, onLateLease, timer) };
	}

	/**
	 * A plan made in the isolate (the isolate scope, an object over budget) is returned as it is: no
	 * call was made, so there is no deadline to arm and no promise to race (a measurable share of
	 * such a request's CPU, docs/benchmarks.md).
	 */
	private route(
		request: RouteRequest,
		background: (promise: Promise<unknown>) => void,
		onLateLease: (leaseId: string) => unknown,
		timer?: DeadlineTimer,
	): RoutePlan | Promise<RoutePlan> {
		let answer: RoutePlan | Promise<RoutePlan>;
		try {
			answer = this.client.route(request, background);
		} catch (error) {
			answer = Promise.reject(error);
		}
		if (!(answer instanceof Promise)) {
			const refresh = answer.ok ? this.replicas.refreshFor(answer.state, this.source, request.colo) : undefined;
			if (refresh) background(refresh);
			return answer;
		}
		return this.awaitCall(answer, request, background, onLateLease, timer);
	}

	private async awaitCall(
		answer: Promise<RoutePlan>,
		request: RouteRequest,
		background: (promise: Promise<unknown>) => void,
		onLateLease: (leaseId: string) => unknown,
		timer?: DeadlineTimer,
	): Promise<RoutePlan> {
		try {
			const plan = await withTimeout(answer, this.deadlineMs, `route took longer than ${this.deadlineMs} ms`, {
				...(timer ? { timer } : {}),
				// A reply that comes after we gave up carries a lease nobody will use: hand it back.
				onTimeout: () =>
					background(
						answer.then(
							(plan) => (plan.ok && plan.leaseId ? onLateLease(plan.leaseId) : undefined),
							() => {},
						),
					),
			});
			const refresh = plan.ok ? this.replicas.refreshFor(plan.state, this.source, request.colo) : undefined;
			if (refresh) background(refresh);
			return plan;
		} catch (error) {
			if (!this.replicas.hasReplica) throw error;
			console.error(`counter object unavailable, planning from state ${this.replicas.state}:`, error);
			return this.replicas.planLocally(request);
		}
	}
}
