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
	/** True when the client went away before the body ended. */
	readonly aborted: boolean;
}

/**
 * Collects outcome records from concurrent requests of one isolate and sends them in one call
 * every `delayMs`, so releases never add a registry round trip to a request's critical path.
 * `add` resolves once the batch holding the record was sent (keep it in ctx.waitUntil).
 */
export class OutcomeBatcher {
	private pending: OutcomeRecord[] = [];
	private flushing: Promise<void> | undefined;

	constructor(
		private readonly send: (batch: OutcomeRecord[]) => Promise<unknown>,
		private readonly delayMs = 5,
	) {}

	add(record: OutcomeRecord): Promise<void> {
		this.pending.push(record);
		this.flushing ??= new Promise<void>((resolve) => setTimeout(resolve, this.delayMs)).then(() => this.flush());
		return this.flushing;
	}

	private async flush(): Promise<void> {
		const batch = this.pending;
		this.pending = [];
		this.flushing = undefined;
		try {
			await this.send(batch);
		} catch (error) {
			// Leases expire by themselves; a lost batch costs accuracy for a while, never correctness.
			console.error(`releasing ${batch.length} leases failed`, error);
		}
	}
}
