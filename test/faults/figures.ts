/**
 * The figures a fault case reports: what it sent, what failed, what it compared, what it left
 * behind, how long recovery took. Kept in the test's `meta` (vitest carries it into the JSON report
 * from every pool, the Workers runtime included); scripts/faults-report.ts turns them into the table
 * of docs/reliability.md. Import nothing runtime-specific here: every fault project uses it.
 */

export interface Figures {
	/** The case, as the table names it. */
	readonly case: string;
	/** Requests sent through the balancer (or inputs tried, for fuzzing). */
	readonly requests: number;
	/** Requests whose answer broke the case's rule (what "failed" means is in `passing`). */
	readonly failed: number;
	/** Bytes compared with what was sent or expected (0 when the case compares none). */
	readonly bytesCompared?: number;
	/** Requests still counted in flight when the case ended. */
	readonly leasesLeft?: number;
	/** From the fault to the first good answer (or to health converging), ms. */
	readonly recoveryMs?: number;
	/** What passing means for this case, in a few words. */
	readonly passing: string;
	/** Anything else worth a column: p99 latency, retries, … */
	readonly notes?: string;
}

declare module "vitest" {
	interface TaskMeta {
		figures?: Figures[];
	}
}

/** Adds a case's figures to the running test's report (a test may report several cases). */
export function recordFigures(task: { meta: { figures?: Figures[] } }, figures: Figures): void {
	task.meta.figures = [...(task.meta.figures ?? []), figures];
}
