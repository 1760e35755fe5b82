/**
 * The dashboard's read (GET /_lb/api/dashboard) from the authority's report: status as /status
 * shows it, and each counter object's counts per origin as a series the page can difference
 * (requests, errors, a latency histogram). Pure.
 */
import type { DashboardData, TrafficSeries } from "../contract/dashboard";
import { DURATION_BUCKETS_S } from "../contract/metrics";
import type { DashboardReport } from "../contract/status";
import { toOriginKey } from "../routing/snapshot";

/** Events the dashboard shows. */
export const DASHBOARD_EVENTS = 20;

export function toDashboardData(report: DashboardReport, role: "admin" | "read", now: number): DashboardData {
	const traffic: TrafficSeries[] = [];
	const unanswered: { name: string; error: string }[] = [];
	for (const counter of report.counters) {
		const metrics = counter.counters?.metrics;
		if (!counter.answered || !metrics) {
			unanswered.push({ name: counter.key, error: counter.error ?? "did not answer" });
			continue;
		}
		const byOrigin = new Map<
			string,
			{ pool: string; origin: string; requests: number; errors: number; buckets: number[] }
		>();
		const seriesOf = (pool: string, origin: string) => {
			const id = toOriginKey(pool, origin);
			let series = byOrigin.get(id);
			if (!series) {
				series = { pool, origin, requests: 0, errors: 0, buckets: DURATION_BUCKETS_S.map(() => 0).concat(0) };
				byOrigin.set(id, series);
			}
			return series;
		};
		for (const entry of metrics.requests) {
			const series = seriesOf(entry.pool, entry.origin);
			series.requests += entry.count;
			if (entry.codeClass === "5xx" || entry.codeClass === "error") series.errors += entry.count;
		}
		for (const histogram of metrics.durations) {
			const series = seriesOf(histogram.pool, histogram.origin);
			let within = 0;
			histogram.buckets.forEach((count, i) => {
				series.buckets[i] = (series.buckets[i] ?? 0) + count;
				within += count;
			});
			// Slower than the last bound: counted, but in no bucket.
			series.buckets[DURATION_BUCKETS_S.length] =
				(series.buckets[DURATION_BUCKETS_S.length] ?? 0) + histogram.count - within;
		}
		for (const series of byOrigin.values()) traffic.push({ counter: counter.key, ...series });
	}
	const { status } = report;
	return {
		role,
		at: new Date(now).toISOString(),
		version: status.version,
		...(status.load_errors ? { load_errors: status.load_errors } : {}),
		load_balancers: status.load_balancers,
		pools: status.pools,
		duration_buckets_s: DURATION_BUCKETS_S,
		traffic,
		unanswered,
		events: report.events,
	};
}
