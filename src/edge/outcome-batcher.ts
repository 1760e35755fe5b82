/**
 * Outcome records on their way back to the counter objects that planned their requests, in few
 * calls: one batcher per counter object, so a release call (or a route call they ride along with)
 * only ever carries leases of the object it goes to.
 */
import type { OutcomeRecord } from "../contract/outcome";
import { BoundedMap } from "../routing/bounded-map";
import { groupByShard, shardOfLease } from "../routing/shard-keys";

/** How long outcomes wait for company by default (a counter object that route calls go to anyway). */
export const DEFAULT_BATCH_WAIT_MS = 5;

/**
 * Collects outcome records from concurrent requests of one isolate and sends them in few calls,
 * so releases never add a registry round trip to a request's critical path. Under steady traffic
 * they ride along with the next request's `route` (see `take`). Otherwise one timer at a time
 * waits `delayMs`, then sends whatever is pending. No promise, timer or stub is shared between
 * requests: the Workers runtime ties those to the request that made them, so the request that
 * started the timer is the one that waits for it (in its ctx.waitUntil).
 */
export class OutcomeBatcher {
	private pending: OutcomeRecord[] = [];
	/** True while some request's flush timer is running: others just add their records. */
	private flushScheduled = false;

	constructor(
		private readonly send: (batch: OutcomeRecord[]) => Promise<unknown>,
		/** How long a flush waits: a number, or asked afresh at each flush (ShardedOutcomes). */
		private readonly delayMs: number | (() => number) = DEFAULT_BATCH_WAIT_MS,
	) {}

	/**
	 * Hands the pending records to a call that is going to the registry anyway (a `route`), so
	 * under steady traffic releases cost no call of their own. Give them back if that call fails.
	 */
	take(): OutcomeRecord[] {
		const batch = this.pending;
		this.pending = [];
		return batch;
	}

	/**
	 * Records back from a call that did not take them (it failed, or they belong elsewhere), or a
	 * lease handed back unused. They are sent by the next flush, which starts now if none is
	 * scheduled: waiting for the next call that happens to go to the same registry object could
	 * take as long as that object gets no traffic from this isolate. The caller keeps a returned
	 * promise alive (waitUntil).
	 */
	giveBack(records: readonly OutcomeRecord[]): Promise<void> | undefined {
		this.pending.push(...records);
		return this.pending.length > 0 ? this.scheduleFlush() : undefined;
	}

	/**
	 * Adds a record. The first request to add one while no flush is scheduled runs the timer (and
	 * keeps the returned promise in its waitUntil); the others get nothing to wait for — they never
	 * wait on another request's promise, and need no waitUntil of their own.
	 */
	add(record: OutcomeRecord): Promise<void> | undefined {
		this.pending.push(record);
		return this.scheduleFlush();
	}

	/** Starts the flush timer unless one is running: the returned promise is that flush, to keep alive. */
	private scheduleFlush(): Promise<void> | undefined {
		if (this.flushScheduled) return undefined;
		this.flushScheduled = true;
		return this.flushSoon();
	}

	private async flushSoon(): Promise<void> {
		try {
			const delayMs = typeof this.delayMs === "number" ? this.delayMs : this.delayMs();
			await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
		} finally {
			this.flushScheduled = false;
		}
		if (this.pending.length === 0) return;
		const batch = this.take();
		try {
			await this.send(batch);
		} catch (error) {
			// Leases expire by themselves; a lost batch costs accuracy for a while, never correctness.
			console.error(`releasing ${batch.length} leases failed`, error);
		}
	}
}

/**
 * Counter objects an isolate keeps a batcher for: one per load balancer and data center its leases
 * name. Beyond this the least recently used is forgotten, which loses nothing: a batcher holding
 * records always has its flush timer running, and that flush still sends them; only a route call
 * to that object no longer carries them along.
 */
export const MAX_OUTCOME_BATCHERS = 1024;

/**
 * Outcome records batched per counter object: one OutcomeBatcher per object key, so a release call
 * (or a route call they ride along with) only ever carries leases of the object it goes to.
 */
export class ShardedOutcomes {
	private readonly batchers: BoundedMap<string, OutcomeBatcher>;

	constructor(
		private readonly send: (shard: string, batch: OutcomeRecord[]) => Promise<unknown>,
		private readonly delayMs?: number,
		/**
		 * A longer wait for some objects' batches (those that get no route calls to ride along with),
		 * asked at every flush: whether an isolate plans an object's requests itself changes (its replica
		 * learns the load balancer, the object goes over its latency budget and comes back).
		 */
		private readonly delayFor?: (shard: string) => number | undefined,
		maxBatchers = MAX_OUTCOME_BATCHERS,
	) {
		this.batchers = new BoundedMap(maxBatchers);
	}

	/** Counter objects it keeps a batcher for now (at most the bound). */
	get size(): number {
		return this.batchers.size;
	}

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
			const delayFor = this.delayFor;
			const delayMs = this.delayMs ?? DEFAULT_BATCH_WAIT_MS;
			batcher = new OutcomeBatcher(
				(batch) => this.send(shard, batch),
				delayFor ? () => delayFor(shard) ?? delayMs : delayMs,
			);
			this.batchers.set(shard, batcher);
		}
		return batcher;
	}
}
