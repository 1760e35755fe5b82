/**
 * What became of one proxied request, reported to the counter object that planned it when it is
 * no longer in flight (its response body ended, or the client went away): its lease ends, and
 * passive health and latency learn from it.
 */

/**
 * - `refused`: the request certainly did not reach the origin (no connection, no TLS, no DNS), so
 *   even a POST may be sent elsewhere;
 * - `unreachable`: the connection failed, and whether the origin saw the request is unknown (a
 *   local `fetch` throws the same error for a refused and a reset connection);
 * - `timeout`: connected, but no response headers in time.
 */
export type FailureKind = "refused" | "unreachable" | "timeout";

export interface OutcomeRecord {
	/** The lease `route` handed out with the plan. */
	readonly leaseId: string;
	/** The origin that answered ("<pool>/<origin>"), when one did. */
	readonly servedBy?: string;
	/** The status the client got from the origin, when one answered. */
	readonly status?: number;
	/** Why the last attempt failed, when none answered ("client": the client's body broke or stalled). */
	readonly error?: FailureKind | "client";
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
	/** True when the plan came from the Worker's own replica because the counter object did not answer. */
	readonly failOpen?: boolean;
	/** The Cloudflare data center the visitor came through: dynamic_latency learns per colo. */
	readonly colo?: string;
	/** Indexes of the load balancing rules the request matched (RouteRules.matched): counted for /status. */
	readonly rules?: readonly number[];
}

/** One finished request, as the proxy hands it to its observe hook (Analytics Engine, src/observe/analytics.ts). */
export interface RequestSample {
	readonly loadBalancer: string;
	/** The pool planned (the one that answered, when one did). */
	readonly pool: string;
	readonly record: OutcomeRecord;
	/** The response body's length when known (read whole, or declared), else 0. */
	readonly bytes: number;
	readonly colo: string;
	/** The names of the load balancing rules the request matched, joined by ",", when any did. */
	readonly rules?: string;
}

/**
 * A record in the one shape every record has: each field present, undefined where it has no value,
 * always in this order. Records are made on every request, by the proxy and by the wire's reader,
 * and read by code shared between them; built field by field or spread together they took many
 * shapes that nothing kept alive, and each garbage collection that took a shape away threw away
 * the optimised code that had read it (bench:deopts).
 */
export function toOutcomeRecord(fields: OutcomeRecord): OutcomeRecord {
	return {
		leaseId: fields.leaseId,
		servedBy: fields.servedBy,
		status: fields.status,
		error: fields.error,
		attempts: fields.attempts,
		retried: fields.retried,
		ttfbMs: fields.ttfbMs,
		totalMs: fields.totalMs,
		aborted: fields.aborted,
		failures: fields.failures,
		failOpen: fields.failOpen,
		colo: fields.colo,
		rules: fields.rules,
	};
}

/** The outcome of a lease that was taken but never used (a plan given up on or asked again). */
export function toUnusedLease(leaseId: string): OutcomeRecord {
	return toOutcomeRecord({ leaseId, attempts: 0, retried: false, totalMs: 0, aborted: true });
}
