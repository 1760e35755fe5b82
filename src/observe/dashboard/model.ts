/**
 * The dashboard's numbers, from the reads it keeps: requests per second, error rate, p50 and p99
 * time to response headers per origin, over the last RATE_WINDOW_MS. Counter objects count from
 * the moment they start, so a rate is a difference between two reads of the same series; a count
 * that went down means the object restarted and counts again from 0 (Prometheus' reading of a
 * counter reset: the new count is the increase). Quantiles interpolate inside the histogram's
 * bucket, as Prometheus' histogram_quantile does:
 * https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile
 * Pure: it runs in the browser and in the unit tests alike.
 */
import type { DashboardData, TrafficSeries } from "../../contract/dashboard";
import type { EventEntry, OriginStatus } from "../../contract/status";

/** Rates are taken over about this long (the oldest read kept that is at most this old). */
export const RATE_WINDOW_MS = 10_000;

export interface OriginTraffic {
	readonly requestsPerS: number;
	/** Share of the window's requests that were 5xx or got no answer; null without requests. */
	readonly errorRate: number | null;
	/** Time to response headers, ms; null without answered requests; Infinity past the last bucket. */
	readonly p50Ms: number | null;
	readonly p99Ms: number | null;
}

interface Read {
	readonly atMs: number;
	readonly series: ReadonlyMap<string, TrafficSeries>;
	/** Counter objects with at least one series, and whether any object did not answer. */
	readonly counters: ReadonlySet<string>;
	readonly complete: boolean;
}

/** "<pool>/<origin>", the key the page and the registry share for an origin. */
export function toOriginKey(pool: string, origin: string): string {
	return `${pool}/${origin}`;
}

function toRead(data: Pick<DashboardData, "at" | "traffic" | "unanswered">): Read {
	const series = new Map<string, TrafficSeries>();
	const counters = new Set<string>();
	for (const entry of data.traffic) {
		series.set(`${entry.counter}\u0000${toOriginKey(entry.pool, entry.origin)}`, entry);
		counters.add(entry.counter);
	}
	return { atMs: Date.parse(data.at), series, counters, complete: data.unanswered.length === 0 };
}

/**
 * The q-quantile (0–1) of a histogram: `buckets` counts per upper bound of `boundsS` (not
 * cumulative), then the count above the last bound. Milliseconds; null when empty; Infinity when
 * the quantile falls above the last bound.
 */
export function toQuantileMs(buckets: readonly number[], boundsS: readonly number[], q: number): number | null {
	const total = buckets.reduce((sum, count) => sum + count, 0);
	if (total === 0) return null;
	const rank = q * total;
	let below = 0;
	for (let i = 0; i < boundsS.length; i++) {
		const count = buckets[i] ?? 0;
		if (count > 0 && below + count >= rank) {
			const lower = i === 0 ? 0 : (boundsS[i - 1] as number);
			const upper = boundsS[i] as number;
			return (lower + ((upper - lower) * (rank - below)) / count) * 1000;
		}
		below += count;
	}
	return Number.POSITIVE_INFINITY;
}

/** What a series added between two reads: all of its count when the object restarted (it went down). */
function increase(before: TrafficSeries | undefined, after: TrafficSeries): TrafficSeries {
	if (!before || after.requests < before.requests) return after;
	return {
		...after,
		requests: after.requests - before.requests,
		errors: Math.max(0, after.errors - before.errors),
		buckets: after.buckets.map((count, i) => Math.max(0, count - (before.buckets[i] ?? 0))),
	};
}

/** Per origin, what happened between two reads. */
export function toOriginTraffic(
	earlier: Pick<DashboardData, "at" | "traffic" | "unanswered">,
	later: Pick<DashboardData, "at" | "traffic" | "unanswered">,
	boundsS: readonly number[],
): Map<string, OriginTraffic> {
	const before = toRead(earlier);
	const after = toRead(later);
	const seconds = (after.atMs - before.atMs) / 1000;
	const sums = new Map<string, { requests: number; errors: number; buckets: number[] }>();
	for (const [id, series] of after.series) {
		const previous = before.series.get(id);
		// A series the earlier read lacks is new only if its object answered then (or every object did);
		// otherwise its whole count would look like this window's.
		if (!previous && !before.complete && !before.counters.has(series.counter)) continue;
		const added = increase(previous, series);
		const key = toOriginKey(series.pool, series.origin);
		const sum = sums.get(key) ?? { requests: 0, errors: 0, buckets: [] };
		sum.requests += added.requests;
		sum.errors += added.errors;
		added.buckets.forEach((count, i) => {
			sum.buckets[i] = (sum.buckets[i] ?? 0) + count;
		});
		sums.set(key, sum);
	}
	const traffic = new Map<string, OriginTraffic>();
	if (!(seconds > 0)) return traffic;
	for (const [key, sum] of sums) {
		traffic.set(key, {
			requestsPerS: sum.requests / seconds,
			errorRate: sum.requests > 0 ? sum.errors / sum.requests : null,
			p50Ms: toQuantileMs(sum.buckets, boundsS, 0.5),
			p99Ms: toQuantileMs(sum.buckets, boundsS, 0.99),
		});
	}
	return traffic;
}

/** The reads of the last window, oldest first; rates are taken between the oldest and the newest. */
export class TrafficWindow {
	private reads: DashboardData[] = [];

	constructor(private readonly windowMs = RATE_WINDOW_MS) {}

	/** Keeps a read; forgets those the window no longer needs (it keeps one at least windowMs old, when there is one). */
	add(data: DashboardData): void {
		this.reads.push(data);
		const newest = Date.parse(data.at);
		while (this.reads.length > 2 && newest - Date.parse((this.reads[1] as DashboardData).at) >= this.windowMs)
			this.reads.shift();
	}

	/** Per origin key; empty until there are two reads. */
	rates(): Map<string, OriginTraffic> {
		const oldest = this.reads[0];
		const newest = this.reads.at(-1);
		if (!oldest || !newest || oldest === newest) return new Map();
		return toOriginTraffic(oldest, newest, newest.duration_buckets_s);
	}

	/** Forgets every read (a new token, another registry). */
	clear(): void {
		this.reads = [];
	}
}

/** "12.3", "0.45", "1,234": requests per second for a table cell. */
export function formatRate(perS: number): string {
	if (perS === 0) return "0";
	if (perS < 1) return perS.toFixed(2);
	if (perS < 100) return perS.toFixed(1);
	return Math.round(perS).toLocaleString("en");
}

/** "3.2 ms", "1.25 s", "> 10 s", "–". */
export function formatLatency(ms: number | null, lastBoundS: number): string {
	if (ms === null) return "–";
	if (ms === Number.POSITIVE_INFINITY) return `> ${lastBoundS} s`;
	if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
	return `${(ms / 1000).toFixed(2)} s`;
}

/** "0%", "2.5%", "–". */
export function formatShare(share: number | null): string {
	if (share === null) return "–";
	if (share === 0) return "0%";
	return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

/** The origin's health as one word and why, for its badge. */
export function toHealth(origin: OriginStatus): {
	readonly state: "healthy" | "unhealthy" | "pending";
	readonly reason: string;
} {
	if (origin.pending && origin.monitored) return { state: "pending", reason: "no health check has spoken yet" };
	if (origin.healthy)
		return { state: "healthy", reason: origin.monitored ? (origin.last_check ?? "") : "not monitored" };
	return { state: "unhealthy", reason: origin.last_error ?? origin.last_check ?? "" };
}

/**
 * The token in a URL fragment (`#token=…`), and the fragment without it. The value is
 * percent-decoded but a `+` stays a `+` (tokens are often base64), unlike URLSearchParams.
 */
export function toFragmentToken(hash: string): { token: string | undefined; rest: string } {
	const parts = hash.replace(/^#/, "").split("&");
	let token: string | undefined;
	const rest = parts.filter((part) => {
		if (!part.startsWith("token=")) return true;
		const raw = part.slice("token=".length);
		try {
			token = decodeURIComponent(raw);
		} catch {
			token = raw;
		}
		return false;
	});
	return { token: token || undefined, rest: rest.filter(Boolean).join("&") };
}

/** Each region's view of the origin (a pool's check_regions), by region code in order; empty without. */
export function toRegionViews(origin: OriginStatus): { region: string; healthy: boolean; reason: string }[] {
	if (!origin.regions) return [];
	return Object.entries(origin.regions)
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([region, view]) => ({ region, healthy: view.healthy, reason: view.last_check ?? "not reported yet" }));
}

/** What takes the origin out of rotation, or thins its share, besides health; empty when nothing does. */
export function toConditions(origin: OriginStatus, nowMs: number): string[] {
	const conditions: string[] = [];
	if (!origin.enabled) conditions.push("disabled");
	if (origin.draining) conditions.push("drained");
	if (origin.ejected_until !== null && Date.parse(origin.ejected_until) > nowMs)
		conditions.push(`ejected until ${origin.ejected_until.slice(11, 19)} UTC`);
	if (origin.slow_start !== null) conditions.push(`slow start ${Math.round(origin.slow_start * 100)}%`);
	if (origin.discovered === "dns") conditions.push("from DNS SRV");
	if (origin.registered)
		conditions.push(
			origin.expires_at ? `registered, lease until ${origin.expires_at.slice(11, 19)} UTC` : "registered",
		);
	return conditions;
}

/** One line for an event of the registry's list. */
export function describeEvent(event: EventEntry): string {
	switch (event.type) {
		case "health":
			return `${event.pool}/${event.origin} ${event.healthy ? "healthy" : "unhealthy"}${event.reason ? `: ${event.reason}` : ""}`;
		case "config": {
			const changes = event.changes.map((change) => `${change.kind} ${change.id} ${change.change}`).join(", ");
			return `${event.action} by ${event.actor}, version ${event.version}${changes ? ` (${changes})` : ""}`;
		}
		case "alert":
			return `alert ${event.notification} (${event.event}) ${event.outcome}${event.status ? ` ${event.status}` : ""}${event.error ? `: ${event.error}` : ""}`;
		default:
			return JSON.stringify(event);
	}
}
