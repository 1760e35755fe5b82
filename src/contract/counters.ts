/** What counter objects tell the authority: their counters for /status, the ejections they decided. */
import type { CounterMetrics } from "./metrics";

/** A counter object's counters as the authority's status shows them, per origin key. */
export interface ShardCounters {
	readonly inFlight: Record<string, number>;
	/** Failed requests in a row, as this object counted them. */
	readonly passiveFailures: Record<string, number>;
	/** Ejections this object honours, until when. */
	readonly ejectedUntil: Record<string, number>;
	/** Since the object started: requests it planned, and the route calls they came in (fewer when shared). */
	readonly traffic?: {
		readonly routed: number;
		readonly routeCalls: number;
		/** Of `routed`: requests isolates planned themselves and reported here. */
		readonly plannedByIsolates?: number;
		/** Requests load shedding steered away from each pool (by pool id), of those it planned. */
		readonly shed?: Record<string, number>;
	};
	/** Since the object started: how often each load balancing rule matched, by rule name. */
	readonly rules?: Record<string, number>;
	/** Its traffic counts, for GET /_lb/metrics (only when asked for them). */
	readonly metrics?: CounterMetrics;
}

/** An ejection a counter object decided, as it tells the authority (which records the event and tells every object). */
export interface ReportedEjection {
	readonly key: string;
	readonly until: number;
	readonly reason: string;
	/** When the object ejected it. */
	readonly at: number;
}

/** What a hub says about one of its counter objects for /status. */
export interface CounterReport {
	/** The counter object's key, e.g. "lb:www.example.com@FRA". */
	readonly key: string;
	/** False when it did not answer in time, or was not asked (beyond what one invocation may call). */
	readonly answered: boolean;
	readonly error?: string;
	readonly counters?: ShardCounters;
}

/** What an isolate planning by itself (the isolate scope) tells its data center's counter object with a batch of outcomes. */
export interface IsolateReport {
	/** Which isolate (random per isolate). */
	readonly isolate: string;
	/** Its requests in flight per origin key, now. */
	readonly inFlight: Record<string, number>;
}
