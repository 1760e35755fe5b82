/**
 * The dashboard's read built from the authority's report (issue 19): one series per counter object
 * and origin, errors as 5xx plus unanswered, the histogram with its overflow bucket, and objects
 * that did not answer listed apart.
 */
import { describe, expect, it } from "vitest";
import type { CounterMetrics } from "../../../src/contract/metrics";
import { DURATION_BUCKETS_S } from "../../../src/contract/metrics";
import type { DashboardReport } from "../../../src/contract/status";
import { toDashboardData } from "../../../src/observe/dashboard-data";

const metrics: CounterMetrics = {
	requests: [
		{ pool: "web", origin: "o1", codeClass: "2xx", count: 7 },
		{ pool: "web", origin: "o1", codeClass: "5xx", count: 2 },
		{ pool: "web", origin: "o1", codeClass: "error", count: 1 },
		{ pool: "web", origin: "o2", codeClass: "4xx", count: 4 },
	],
	retries: 0,
	failures: [],
	durations: [
		// 9 answered: 8 within the bounds, 1 slower than the last.
		{
			pool: "web",
			origin: "o1",
			buckets: DURATION_BUCKETS_S.map((_, i) => (i === 0 ? 5 : i === 3 ? 3 : 0)),
			count: 9,
			sumS: 20,
		},
	],
	ejections: [],
	replicaAgeS: 1,
};

const report: DashboardReport = {
	status: { version: 4, load_balancers: [], pools: [], counters: [] },
	counters: [
		{ key: "lb:a@FRA", answered: true, counters: { inFlight: {}, passiveFailures: {}, ejectedUntil: {}, metrics } },
		{ key: "colo:AMS", answered: false, error: "colo:AMS did not answer within 2500 ms" },
	],
	events: [],
};

describe("toDashboardData", () => {
	it("makes one series per counter object and origin, and lists the objects that did not answer", () => {
		const data = toDashboardData(report, "admin", Date.UTC(2026, 11, 7, 12));
		expect(data.at).toBe("2026-12-07T12:00:00.000Z");
		expect(data.role).toBe("admin");
		expect(data.version).toBe(4);
		expect(data.unanswered).toEqual([{ name: "colo:AMS", error: "colo:AMS did not answer within 2500 ms" }]);
		const overflow = DURATION_BUCKETS_S.length;
		expect(data.traffic).toEqual([
			{
				counter: "lb:a@FRA",
				pool: "web",
				origin: "o1",
				requests: 10,
				errors: 3,
				buckets: [...DURATION_BUCKETS_S.map((_, i): number => (i === 0 ? 5 : i === 3 ? 3 : 0)), 1],
			},
			{ counter: "lb:a@FRA", pool: "web", origin: "o2", requests: 4, errors: 0, buckets: Array(overflow + 1).fill(0) },
		]);
	});
});
