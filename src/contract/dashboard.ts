/**
 * What GET /_lb/api/dashboard answers (in the admin API's envelope, as `result`): the dashboard's
 * one read. The Worker builds it from the authority's report (observe/dashboard-data.ts); the page
 * (observe/dashboard/) turns two of them into rates. Shared here so both sides agree on the shape.
 */
import type { EventEntry, PoolStatus, StatusReport } from "./status";

/**
 * One counter object's counts for one origin since that object started. The page takes the
 * difference between two reads of the same series; a count that went down means the object
 * restarted (its series began again at 0), as Prometheus reads a counter reset.
 */
export interface TrafficSeries {
	/** The counter object's key ("lb:<name>@<colo>"). */
	readonly counter: string;
	readonly pool: string;
	readonly origin: string;
	/** Requests it answered or failed, every status class. */
	readonly requests: number;
	/** Of those: 5xx answers and requests no origin answered. */
	readonly errors: number;
	/**
	 * Answered requests by time to response headers: one count per bound of `duration_buckets_s`
	 * (not cumulative), then one for those slower than the last bound.
	 */
	readonly buckets: readonly number[];
}

export interface DashboardData {
	/** The token's role: a read token sees no buttons (and could not use them). */
	readonly role: "admin" | "read";
	/** When the authority gathered it (ISO 8601); rates are taken between two of these. */
	readonly at: string;
	readonly version: number;
	readonly load_errors?: readonly string[];
	readonly load_balancers: StatusReport["load_balancers"];
	readonly pools: readonly PoolStatus[];
	/** Upper bounds, in seconds, of TrafficSeries.buckets. */
	readonly duration_buckets_s: readonly number[];
	readonly traffic: readonly TrafficSeries[];
	/** Counter objects (or hubs) that did not answer: their requests are missing from the counts. */
	readonly unanswered: readonly { readonly name: string; readonly error: string }[];
	/** The latest events, newest first. */
	readonly events: readonly EventEntry[];
}
