/**
 * The counter objects as one Worker isolate sees them: `route` goes to the counter object of the
 * load balancer the hostname resolves to in the isolate's replica (a cold isolate fetches the
 * replica first, once), with the outcomes pending for that object riding along; a hostname the
 * replica does not know is asked of the authority, within a budget.
 *
 * Still at most one object call per proxied request (fewer when route requests share a call, see
 * route-lanes.ts, which sits behind `CounterStubs.route`). Only while the replica is stale can the
 * object asked answer "ask that object" (`OtherShard`); then it asks once more, so a load
 * balancer's counters never split between objects.
 */
import type { LoadBalancer } from "../config/schema";
import type { OutcomeRecord } from "../contract/outcome";
import { toUnusedLease } from "../contract/outcome";
import type { Replica } from "../contract/replica";
import {
	isOtherShard,
	LOCAL_COLO,
	type RoutePlan,
	type RouteRequest,
	type ShardRouteRequest,
	toRouteRequest,
} from "../contract/route";
import { isCompactPlan, type RouteReply } from "../contract/wire";
import { toNoLoadBalancer } from "../routing/plan";
import { AUTHORITY, counterKeyFor, shardOfLease } from "../routing/shard-keys";
import type { CounterRtt } from "./counter-rtt";
import { IsolateCounters } from "./isolate-counters";
import type { ShardedOutcomes } from "./outcome-batcher";
import type { ReplicaCache, ReplicaSource } from "./replica-cache";

/**
 * How many route calls per second one isolate may send the authority for hostnames its replica
 * does not know. Such a hostname may belong to a load balancer added since the replica was taken
 * (the authority knows, and sends the Worker on to its counter object); junk hostnames beyond
 * this get the 404 from the replica without a call, so they cannot flood the authority.
 */
export const UNMATCHED_ASKS_PER_SECOND = 10;

/** A fixed one-second window of asks about unmatched hostnames. Time is passed in. */
export class UnmatchedHostBudget {
	private windowStart = Number.NEGATIVE_INFINITY;
	private used = 0;

	constructor(private readonly perSecond = UNMATCHED_ASKS_PER_SECOND) {}

	tryAsk(now: number): boolean {
		if (now - this.windowStart >= 1000) {
			this.windowStart = now;
			this.used = 0;
		}
		if (this.used >= this.perSecond) return false;
		this.used++;
		return true;
	}
}

/** The calls the Worker makes, by object name; `background` is the calling request's waitUntil. */
export interface CounterStubs extends ReplicaSource {
	/** A route request to counter object `shard` (AUTHORITY: "which object is it?"). */
	route(
		shard: string,
		request: ShardRouteRequest,
		background: (promise: Promise<unknown>) => void,
	): Promise<RouteReply>;
}

export interface CounterClientOptions {
	readonly now?: () => number;
	readonly sleep?: (ms: number) => Promise<void>;
	/** Round trips to counter objects, measured by the stubs: over a load balancer's budget, the isolate plans. */
	readonly rtt?: CounterRtt;
}

/** How often a request of a cold isolate looks whether the replica another request is fetching has come. */
export const REPLICA_POLL_MS = 5;

const platformSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const NO_BACKGROUND = () => {};

export class CounterClient {
	private readonly now: () => number;
	private readonly sleep: (ms: number) => Promise<void>;
	private readonly rtt: CounterRtt | undefined;

	constructor(
		private readonly replicas: ReplicaCache,
		private readonly outcomes: ShardedOutcomes,
		private readonly stubs: CounterStubs,
		private readonly unmatched: UnmatchedHostBudget = new UnmatchedHostBudget(),
		options: CounterClientOptions = {},
		/** The isolate scope's counters (the isolate's own). */
		private readonly local: IsolateCounters = new IsolateCounters(),
	) {
		this.now = options.now ?? Date.now;
		this.sleep = options.sleep ?? platformSleep;
		this.rtt = options.rtt;
	}

	/**
	 * The plan for `request`; `background` keeps alive what outlives it (a flush of outcomes handed
	 * back). A plan made here (the isolate scope, or an object over its latency budget) comes back
	 * as a value, not a promise: nothing to wait for, so nothing to time out (planner.ts).
	 */
	route(
		request: RouteRequest,
		background: (promise: Promise<unknown>) => void = NO_BACKGROUND,
	): RoutePlan | Promise<RoutePlan> {
		const replicas = this.replicas;
		if (!replicas.hasReplica) return this.routeCold(request, background);
		const lb = replicas.loadBalancerOf(request.hostname);
		if (!lb) return this.routeUnmatched(request, background);
		const shard = this.shardOf(lb, request.colo ?? LOCAL_COLO);
		// The isolate scope; or the object is further than the load balancer's budget: planned here too.
		if (lb.counter_scope === "isolate" || this.rtt?.isOver(shard, lb.counter_rtt_budget_ms)) {
			return this.planHere(shard, request, background);
		}
		return this.routeBy(shard, lb, request, background);
	}

	/** The last load balancer and data center asked for, and their counter object's key. */
	private last: { readonly lb: LoadBalancer; readonly colo: string; readonly shard: string } | undefined;

	/**
	 * The counter object of `lb` in `colo`: the same string as last time when they are the same (an
	 * isolate's requests come through one data center), so the maps keyed by it need not hash a new one.
	 */
	private shardOf(lb: LoadBalancer, colo: string): string {
		const last = this.last;
		if (last?.lb === lb && last.colo === colo) return last.shard;
		const shard = counterKeyFor(lb, colo);
		this.last = { lb, colo, shard };
		return shard;
	}

	/** A cold isolate: the replica first (once, shared), then as any other request. */
	private async routeCold(request: RouteRequest, background: (promise: Promise<unknown>) => void): Promise<RoutePlan> {
		await this.ensureReplica(request.colo);
		return this.route(request, background);
	}

	/** A hostname the replica does not know: the authority says which object plans it, within a budget. */
	private async routeUnmatched(
		request: RouteRequest,
		background: (promise: Promise<unknown>) => void,
	): Promise<RoutePlan> {
		if (!this.unmatched.tryAsk(this.now())) {
			if (request.releases?.length) this.giveBack(request.releases, background);
			return toNoLoadBalancer(request.hostname);
		}
		return this.routeBy(AUTHORITY, undefined, request, background);
	}

	/** Asks the counter object `shard` (the authority for a hostname the replica does not know). */
	private async routeBy(
		shard: string,
		lb: LoadBalancer | undefined,
		request: RouteRequest,
		background: (promise: Promise<unknown>) => void,
	): Promise<RoutePlan> {
		const replicas = this.replicas;
		const known = lb ? replicas.state : undefined;
		const first = await this.ask(shard, toRouteRequest({ ...request, shardTry: 1, known }), background);
		if (isCompactPlan(first)) {
			const whole = lb && replicas.expand(first, lb);
			if (whole) return whole;
			// The replica moved on while the question was out: ask for the whole plan, handing the lease back.
			const retry = toRouteRequest({ ...request, shardTry: 2, releases: [toUnusedLease(first[2])] });
			return wholePlan(await this.ask(shard, retry, background), shard);
		}
		if (!isOtherShard(first)) return first;
		// The replica is stale (the reply's state is newer, so the planner refreshes it in the background).
		const again = toRouteRequest({ ...request, shardTry: 2, releases: undefined });
		return wholePlan(await this.ask(first.shard, again, background), first.shard);
	}

	/**
	 * A cold isolate fetches the replica once: requests arriving meanwhile wait for it (polling a
	 * flag; the pending fetch itself belongs to the request that started it). Throws when the hub
	 * does not answer.
	 */
	async ensureReplica(colo: string | undefined): Promise<void> {
		const replicas = this.replicas;
		while (!replicas.hasReplica && replicas.loading) await this.sleep(REPLICA_POLL_MS);
		if (!replicas.hasReplica) await replicas.load(this.stubs, colo);
	}

	/**
	 * The isolate scope: planned by this isolate, no call on the request's path; the replica is
	 * checked with the hub in the background at most every REVALIDATE_MS (besides the news its outcome
	 * batches bring back, no route reply brings any here).
	 */
	private planHere(key: string, request: RouteRequest, background: (promise: Promise<unknown>) => void): RoutePlan {
		const now = this.now();
		const replicas = this.replicas;
		const check = replicas.revalidateIfDue(this.stubs, request.colo, now);
		if (check) background(check);
		// Leases handed back with a second ask: this isolate's own end here, others go to their object.
		if (request.releases?.length) {
			const foreign = request.releases.filter((record) => !this.local.release(record, now));
			if (foreign.length > 0) this.giveBack(foreign, background);
		}
		return this.local.plan(key, request, replicas.replica as Replica, now);
	}

	/** One route call to `shard`, with the outcomes pending for it riding along. */
	private async ask(
		shard: string,
		request: ShardRouteRequest,
		background: (promise: Promise<unknown>) => void,
	): Promise<RouteReply> {
		const carried = request.releases ?? [];
		const elsewhere = carried.filter((record) => shardOfLease(record.leaseId) !== shard);
		if (elsewhere.length > 0) this.giveBack(elsewhere, background);
		const own = elsewhere.length > 0 ? carried.filter((record) => !elsewhere.includes(record)) : carried;
		const taken = this.outcomes.take(shard);
		const releases = own.length > 0 ? [...own, ...taken] : taken;
		try {
			const sent = toRouteRequest({ ...request, releases: releases.length > 0 ? releases : undefined });
			return await this.stubs.route(shard, sent, background);
		} catch (error) {
			this.giveBack(releases, background);
			throw error;
		}
	}

	private giveBack(records: readonly OutcomeRecord[], background: (promise: Promise<unknown>) => void): void {
		const flush = this.outcomes.giveBack(records);
		if (flush) background(flush);
	}
}

/** A second answer, asked without `known` and for this object regardless: a plan, or something is confused. */
function wholePlan(reply: RouteReply, shard: string): RoutePlan {
	if (isCompactPlan(reply)) throw new Error(`counter object ${shard} answered compactly when asked for the whole plan`);
	if (isOtherShard(reply)) throw new Error(`counter object ${shard} sent the request on to ${reply.shard}`);
	return reply;
}
