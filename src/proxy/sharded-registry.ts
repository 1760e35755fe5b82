/**
 * The registry as one Worker isolate sees it once counters are sharded (see src/registry/shard.ts):
 * `route` goes to the counter shard of the load balancer the hostname resolves to in the isolate's
 * copy (a cold isolate fetches the copy from the authority first, once), outcome records go back
 * to the shard that issued their lease, and the copy itself comes from the authority.
 *
 * Still at most one object call per proxied request (fewer when route requests share a call, see
 * route-batch.ts, which sits behind `ShardStubs.route`). Only while the isolate's copy is stale can the shard
 * it asked answer "ask that shard" (`OtherShard`); then it asks once more, as it does when its
 * affinity header cache turns out stale, so a load balancer's counters never split between shards.
 */
import type { LoadBalancer } from "../config/schema";
import type { RoutePlan } from "../registry/plan";
import { toNoLoadBalancer } from "../registry/plan";
import {
	AUTHORITY,
	groupByShard,
	isOtherShard,
	type OtherShard,
	type ShardRouteRequest,
	shardKeyFor,
	shardOfLease,
} from "../registry/shard";
import { type CompactPlan, isCompactPlan } from "../registry/wire";
import type { RemoteRegistry, StateCopy } from "./fail-open";
import { OutcomeBatcher, type OutcomeRecord, toUnusedLease } from "./outcome";
import type { RouteRequest } from "./proxy";

/**
 * Outcome records batched per shard: one OutcomeBatcher per shard key, so a release call (or a
 * route call they ride along with) only ever carries leases of the shard it goes to.
 */
export class ShardedOutcomes {
	private readonly batchers = new Map<string, OutcomeBatcher>();

	constructor(
		private readonly send: (shard: string, batch: OutcomeRecord[]) => Promise<unknown>,
		private readonly delayMs?: number,
	) {}

	add(record: OutcomeRecord): Promise<void> | undefined {
		return this.batcherOf(shardOfLease(record.leaseId)).add(record);
	}

	/** The records pending for `shard`, for a route call going there anyway. */
	take(shard: string): OutcomeRecord[] {
		return this.batchers.get(shard)?.take() ?? [];
	}

	/** See OutcomeBatcher.giveBack: a returned promise is a flush that started, to keep alive. */
	giveBack(records: readonly OutcomeRecord[]): Promise<unknown> | undefined {
		const flushes: Promise<void>[] = [];
		for (const [shard, group] of groupByShard(records)) {
			const flush = this.batcherOf(shard).giveBack(group);
			if (flush) flushes.push(flush);
		}
		return flushes.length > 0 ? Promise.all(flushes) : undefined;
	}

	private batcherOf(shard: string): OutcomeBatcher {
		let batcher = this.batchers.get(shard);
		if (!batcher) {
			batcher = new OutcomeBatcher((batch) => this.send(shard, batch), this.delayMs);
			this.batchers.set(shard, batcher);
		}
		return batcher;
	}
}

/**
 * How many route calls per second one isolate may send the authority for hostnames its copy does
 * not know. Such a hostname may belong to a load balancer added since the copy was taken (the
 * authority knows, and sends the Worker on to its shard); junk hostnames beyond this get the 404
 * from the copy without a call, so they cannot flood the authority.
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

/** The isolate's copy of the authority's state (the FailOpenPlanner keeps it). */
export interface IsolateCopy {
	readonly hasCopy: boolean;
	/** True while some request of the isolate is fetching the copy (`load`). */
	readonly loading: boolean;
	/** The copy's registry state: sent as `known`, so that the shard may answer compactly. */
	readonly state: number | undefined;
	loadBalancerOf(hostname: string): LoadBalancer | undefined;
	load(remote: Pick<RemoteRegistry, "stateCopy">): Promise<void>;
	/** A compact reply made whole, or undefined when the copy is no longer the reply's state. */
	expand(compact: CompactPlan, lb: LoadBalancer): RoutePlan | undefined;
}

/** The calls the Worker makes, by object name. */
export interface ShardStubs {
	route(shard: string, request: ShardRouteRequest): Promise<RoutePlan | OtherShard | CompactPlan>;
	/** The authority's state copy. */
	stateCopy(): Promise<StateCopy>;
}

export interface ShardedRemoteOptions {
	readonly now?: () => number;
	/** The request's waitUntil: keeps alive a flush of outcomes handed back. */
	readonly background?: (promise: Promise<unknown>) => void;
	readonly sleep?: (ms: number) => Promise<void>;
}

/** How often a request of a cold isolate looks whether the copy another request is fetching has come. */
export const COPY_POLL_MS = 5;

const platformSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function toShardedRemote(
	copy: IsolateCopy,
	outcomes: ShardedOutcomes,
	stubs: ShardStubs,
	unmatched: UnmatchedHostBudget,
	options: ShardedRemoteOptions = {},
): RemoteRegistry {
	const { now = Date.now, background = () => {}, sleep = platformSleep } = options;
	const giveBack = (records: readonly OutcomeRecord[]) => {
		const flush = outcomes.giveBack(records);
		if (flush) background(flush);
	};
	/** One route call to `shard`, with the outcomes pending for it riding along. */
	const ask = async (shard: string, request: ShardRouteRequest): Promise<RoutePlan | OtherShard | CompactPlan> => {
		const { releases: carried = [], ...rest } = request;
		const elsewhere = carried.filter((record) => shardOfLease(record.leaseId) !== shard);
		if (elsewhere.length > 0) giveBack(elsewhere);
		const own = elsewhere.length > 0 ? carried.filter((record) => !elsewhere.includes(record)) : carried;
		const taken = outcomes.take(shard);
		const releases = own.length > 0 ? [...own, ...taken] : taken;
		try {
			return await stubs.route(shard, releases.length > 0 ? { ...rest, releases } : rest);
		} catch (error) {
			giveBack(releases);
			throw error;
		}
	};

	return {
		route: async (request: RouteRequest): Promise<RoutePlan> => {
			if (!copy.hasCopy) {
				// A cold isolate fetches the copy once: requests arriving meanwhile wait for it (polling
				// a flag; the pending fetch itself belongs to the request that started it).
				while (copy.loading) await sleep(COPY_POLL_MS);
				if (!copy.hasCopy) await copy.load(stubs);
			}
			const lb = copy.loadBalancerOf(request.hostname);
			if (!lb && !unmatched.tryAsk(now())) {
				if (request.releases?.length) giveBack(request.releases);
				return toNoLoadBalancer(request.hostname);
			}
			const shard = lb ? shardKeyFor(lb.name) : AUTHORITY;
			const known = lb ? copy.state : undefined;
			const first = await ask(shard, { ...request, shardTry: 1, ...(known !== undefined ? { known } : {}) });
			const { releases: _sent, ...again } = request;
			if (isCompactPlan(first)) {
				const whole = lb && copy.expand(first, lb);
				if (whole) return whole;
				// The copy moved on while the question was out: ask for the whole plan, handing the lease back.
				return wholePlan(await ask(shard, { ...again, shardTry: 2, releases: [toUnusedLease(first[2])] }), shard);
			}
			if (!isOtherShard(first)) return first;
			// The copy is stale (the reply's state is newer, so the planner refreshes it in the background).
			return wholePlan(await ask(first.shard, { ...again, shardTry: 2 }), first.shard);
		},
		stateCopy: () => stubs.stateCopy(),
	};
}

/** A second answer, asked without `known` and for this shard regardless: a plan, or the registry is confused. */
function wholePlan(reply: RoutePlan | OtherShard | CompactPlan, shard: string): RoutePlan {
	if (isCompactPlan(reply)) throw new Error(`shard ${shard} answered compactly when asked for the whole plan`);
	if (isOtherShard(reply)) throw new Error(`shard ${shard} sent the request on to ${reply.shard}`);
	return reply;
}
