/**
 * What became of one proxied request, reported to the registry when it is no longer in flight
 * (its response body ended, or the client went away). The registry uses it to release the lease
 * it handed out with the plan; later versions feed passive health and metrics from the same record.
 */
import type { FailureKind } from "./failure";

export interface OutcomeRecord {
	/** The lease `route` handed out with the plan. */
	readonly leaseId: string;
	/** The origin that answered ("<pool>/<origin>"), when one did. */
	readonly servedBy?: string;
	/** The status the client got from the origin, when one answered. */
	readonly status?: number;
	/** Why the last attempt failed, when none answered. */
	readonly error?: FailureKind;
	readonly attempts: number;
	readonly retried: boolean;
	/** Milliseconds until the origin's response headers, when it answered. */
	readonly ttfbMs?: number;
	/** Milliseconds until the body ended or the client went away. */
	readonly totalMs: number;
	/** True when the client went away (or the body stalled) before it ended. */
	readonly aborted: boolean;
	/** Every failed attempt, in order: which origin, and how it failed (passive health feeds on these). */
	readonly failures?: readonly {
		readonly origin: string;
		readonly kind: FailureKind | "status";
		readonly status?: number;
	}[];
	/** True when the plan came from the Worker's own snapshot because the registry did not answer. */
	readonly failOpen?: boolean;
	/** The Cloudflare data center the visitor came through: dynamic_latency learns per colo. */
	readonly colo?: string;
}

/** The outcome of a lease that was taken but never used (a plan given up on or asked again). */
export function toUnusedLease(leaseId: string): OutcomeRecord {
	return { leaseId, attempts: 0, retried: false, totalMs: 0, aborted: true };
}

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
		private readonly delayMs = 5,
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
			await new Promise<void>((resolve) => setTimeout(resolve, this.delayMs));
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
