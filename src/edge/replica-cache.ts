/**
 * The isolate's replica of the authority's state: which load balancer a hostname belongs to (so
 * which counter object to ask), what a compact route reply means, and a plan of its own when the
 * counter object does not answer (fail open). Built with the same RoutingState as every other
 * holder of a replica. A cold isolate fetches it once (`load`); a newer state seen in a reply
 * refreshes it in the background (`refresh`), never on a request's critical path.
 */
import type { LoadBalancer } from "../config/schema";
import type { Replica, ReplicaMark } from "../contract/replica";
import type { RoutePlan, RouteRequest } from "../contract/route";
import type { CompactPlan } from "../contract/wire";
import { planRoute } from "../routing/plan";
import { RoutingState } from "../routing/routing-state";
import { applyRuleOverrides } from "../routing/rule-overrides";
import { isDueForRevalidation, isNewerReplica, REVALIDATE_MS } from "../routing/shard-keys";
import { findLoadBalancer } from "../routing/snapshot";
import { fromCompactPlan } from "../routing/wire";

/** A cold isolate's fetch of the replica that has run this long no longer holds other requests back. */
export const REPLICA_LOAD_STALE_MS = 2000;

/** Where replicas come from: the hub of the request's data center (null when `held` is current). */
export interface ReplicaSource {
	replica(held: ReplicaMark | null, colo?: string): Promise<Replica | null>;
}

export class ReplicaCache {
	constructor(
		/** The clock (tests pass their own). */
		private readonly clock: () => number = () => Date.now(),
	) {}

	private routing: RoutingState | undefined;
	private current: number | undefined;
	/** The replica installed, as it came (the isolate scope's counters adopt it). */
	private installed: Replica | undefined;
	/** When the replica was last fetched or confirmed current. */
	private validatedAt = 0;
	/** The newest state a refresh was started for, and when. */
	private newsFetched = Number.NEGATIVE_INFINITY;
	private newsFetchedAt = 0;
	/** When the running `load` started (see `loading`). */
	private loadingSince: number | undefined;
	/** The state a background refresh is fetching, so one reply's news starts one refresh. */
	private refreshing: number | undefined;

	/** Whether the isolate holds a replica yet: a cold one fetches it (`load`) before its first route. */
	get hasReplica(): boolean {
		return this.routing !== undefined;
	}

	/**
	 * True while some request's `load` runs, for at most REPLICA_LOAD_STALE_MS: a load whose request
	 * was cancelled never finishes, and must not keep the others waiting. A time, not the pending
	 * promise: the runtime ties promises to the request that made them.
	 */
	get loading(): boolean {
		return this.loadingSince !== undefined && this.clock() - this.loadingSince < REPLICA_LOAD_STALE_MS;
	}

	/** What the isolate plans from (its cores share it); undefined until a replica is installed. */
	get routingState(): RoutingState | undefined {
		return this.routing;
	}

	/** The authority's state the replica was taken at, if there is one. */
	get state(): number | undefined {
		return this.current;
	}

	/** The replica as it came, once there is one. */
	get replica(): Replica | undefined {
		return this.installed;
	}

	/**
	 * For isolates that hear from no counter object (the isolate scope): a check with the hub at most
	 * every REVALIDATE_MS, which fetches a newer replica; the returned promise is for the caller's
	 * waitUntil, undefined when none is due.
	 */
	revalidateIfDue(source: ReplicaSource, colo: string | undefined, now: number): Promise<void> | undefined {
		if (this.installed === undefined || this.refreshing !== undefined || !isDueForRevalidation(this.validatedAt, now)) {
			return undefined;
		}
		const mark = { state: this.installed.state, checks: this.installed.checks };
		this.refreshing = mark.state;
		this.validatedAt = now;
		// Null (current) or without configuration (only RTT averages moved) installs nothing.
		return this.refresh(source, mark.state, colo, mark);
	}

	/** The load balancer `hostname` resolves to in the replica: which counter object to ask. */
	loadBalancerOf(hostname: string): LoadBalancer | undefined {
		return this.routing && findLoadBalancer(this.routing.snapshot, hostname);
	}

	/** A compact route reply made whole; undefined unless the replica is the reply's state. */
	expand(compact: CompactPlan, lb: LoadBalancer): RoutePlan | undefined {
		if (!this.routing || this.current !== compact[1]) return undefined;
		return fromCompactPlan(compact, lb, this.routing.snapshot);
	}

	/** Fetches the replica and waits for it; throws when the authority does not answer. */
	async load(source: ReplicaSource, colo?: string): Promise<void> {
		const since = this.clock();
		this.loadingSince = since;
		try {
			this.install(await source.replica(null, colo));
		} finally {
			if (this.loadingSince === since) this.loadingSince = undefined;
		}
	}

	/**
	 * A reply carried `state`: when it is newer than the replica (replies come from several counter
	 * objects, and one may lag), the returned promise fetches the new one, for the caller's
	 * waitUntil; undefined when there is nothing to fetch.
	 */
	refreshFor(state: number | undefined, source: ReplicaSource, colo?: string): Promise<void> | undefined {
		if (state === undefined || state <= (this.current ?? Number.NEGATIVE_INFINITY) || state === this.refreshing) {
			return undefined;
		}
		// News already fetched for, recently, that brought an older replica (its hub lags the object
		// that told us): not again until that hub's next check could have caught up.
		const now = this.clock();
		if (state <= this.newsFetched && now - this.newsFetchedAt < REVALIDATE_MS) return undefined;
		this.newsFetched = state;
		this.newsFetchedAt = now;
		this.refreshing = state;
		return this.refresh(source, state, colo);
	}

	/** A plan from the replica alone (the counter object did not answer), marked `failOpen`. */
	planLocally(request: RouteRequest): RoutePlan {
		const routing = this.routing as RoutingState;
		const snapshot = routing.snapshot;
		const found = findLoadBalancer(snapshot, request.hostname);
		const plan = planRoute(
			snapshot,
			request.hostname,
			{
				...routing.planContext(this.clock(), Math.random),
				hashKey: request.clientIp,
				...(request.location ? { steering: { location: request.location } } : {}),
				...(request.pin ? { affinity: { pin: request.pin } } : {}),
			},
			applyRuleOverrides(snapshot, found, request.rules),
		);
		return plan.ok ? { ...plan, failOpen: true } : plan;
	}

	/** Fetches from the hub (the whole replica, or with `held` only what is newer) and installs it. */
	private async refresh(
		source: ReplicaSource,
		news: number,
		colo?: string,
		held: ReplicaMark | null = null,
	): Promise<void> {
		try {
			this.install(await source.replica(held, colo));
		} catch (error) {
			console.error("refreshing the replica failed", error);
			// A failure is no answer: the next news may try again.
			this.newsFetched = Number.NEGATIVE_INFINITY;
		} finally {
			// Only its own: a refresh for newer news may have started meanwhile, and is still out.
			if (this.refreshing === news) this.refreshing = undefined;
		}
	}

	private install(replica: Replica | null): void {
		if (!replica?.configJson) return;
		const held = this.installed;
		if (held && !isNewerReplica(replica, held)) return;
		// Adopted in place, as counter objects do: policies keep their rotation while the
		// configuration stays, and the isolate's cores (isolate-counters.ts) plan from this one state.
		// A replica whose configuration does not validate is not taken at all: the one held stays.
		const routing = this.routing ?? new RoutingState();
		if (routing.adoptReplica(replica, this.clock(), true).refused) return;
		this.routing = routing;
		this.current = replica.state;
		this.installed = replica;
		this.validatedAt = this.clock();
	}
}
