/**
 * The dashboard's numbers (issue 19): rates between two reads of the counter objects' series,
 * restarts read as counter resets, quantiles interpolated in the histogram's buckets, and the
 * window of reads the page keeps.
 */
import { describe, expect, it } from "vitest";
import type { DashboardData, TrafficSeries } from "../../../src/contract/dashboard";
import { DURATION_BUCKETS_S } from "../../../src/contract/metrics";
import type { OriginStatus } from "../../../src/contract/status";
import {
	describeEvent,
	formatLatency,
	formatRate,
	formatShare,
	TrafficWindow,
	toConditions,
	toFragmentToken,
	toHealth,
	toOriginTraffic,
	toQuantileMs,
	toRegionViews,
} from "../../../src/observe/dashboard/model";

const BOUNDS = DURATION_BUCKETS_S;

/** A histogram with `count` answers in the bucket whose upper bound is `boundS`. */
function bucketsWith(entries: Record<number, number>): number[] {
	const buckets = BOUNDS.map(() => 0).concat(0);
	for (const [bound, count] of Object.entries(entries)) {
		const i = Number(bound) === Number.POSITIVE_INFINITY ? BOUNDS.length : BOUNDS.indexOf(Number(bound));
		if (i < 0) throw new Error(`no bucket ${bound}`);
		buckets[i] = count;
	}
	return buckets;
}

function series(counter: string, origin: string, requests: number, errors: number, buckets: number[]): TrafficSeries {
	return { counter, pool: "web", origin, requests, errors, buckets };
}

function read(atS: number, traffic: TrafficSeries[], unanswered: DashboardData["unanswered"] = []): DashboardData {
	return {
		role: "read",
		at: new Date(Date.UTC(2026, 11, 7, 12, 0, atS)).toISOString(),
		version: 1,
		load_balancers: [],
		pools: [],
		duration_buckets_s: BOUNDS,
		traffic,
		unanswered,
		events: [],
	};
}

describe("toQuantileMs", () => {
	it("interpolates inside the bucket the rank falls in, as histogram_quantile does", () => {
		// 100 answers between 5 and 10 ms: the median is half-way, 7.5 ms; p99 near the top.
		const buckets = bucketsWith({ 0.01: 100 });
		expect(toQuantileMs(buckets, BOUNDS, 0.5)).toBeCloseTo(7.5, 6);
		expect(toQuantileMs(buckets, BOUNDS, 0.99)).toBeCloseTo(9.95, 6);
	});

	it("starts the first bucket at 0 and spans buckets by cumulative count", () => {
		const buckets = bucketsWith({ 0.005: 50, 0.1: 50 });
		expect(toQuantileMs(buckets, BOUNDS, 0.25)).toBeCloseTo(2.5, 6);
		// Rank 75: 25 of the 50 in (50 ms, 100 ms].
		expect(toQuantileMs(buckets, BOUNDS, 0.75)).toBeCloseTo(75, 6);
	});

	it("is Infinity above the last bound and null without answers", () => {
		expect(toQuantileMs(bucketsWith({ 0.005: 1, [Number.POSITIVE_INFINITY]: 99 }), BOUNDS, 0.99)).toBe(
			Number.POSITIVE_INFINITY,
		);
		expect(toQuantileMs(bucketsWith({}), BOUNDS, 0.5)).toBeNull();
	});
});

describe("toOriginTraffic", () => {
	it("takes the difference of each series over the time between the reads, summed per origin", () => {
		const earlier = read(0, [
			series("lb:a@FRA", "o1", 100, 1, bucketsWith({ 0.01: 100 })),
			series("lb:a@AMS", "o1", 10, 0, bucketsWith({ 0.01: 10 })),
		]);
		const later = read(10, [
			series("lb:a@FRA", "o1", 150, 6, bucketsWith({ 0.01: 140, 0.05: 10 })),
			series("lb:a@AMS", "o1", 60, 0, bucketsWith({ 0.01: 60 })),
		]);
		const traffic = toOriginTraffic(earlier, later, BOUNDS).get("web/o1");
		expect(traffic?.requestsPerS).toBe(10); // (50 + 50) / 10 s
		expect(traffic?.errorRate).toBe(0.05); // 5 of 100
		// 90 of the window's 100 answers in (5, 10 ms], 10 in (25, 50 ms].
		expect(traffic?.p50Ms).toBeCloseTo(5 + (5 * 50) / 90, 6);
		expect(traffic?.p99Ms).toBeCloseTo(25 + (25 * 9) / 10, 6);
	});

	it("reads a count that went down as a restarted object: its new count is the increase", () => {
		const earlier = read(0, [series("lb:a@FRA", "o1", 1000, 0, bucketsWith({ 0.01: 1000 }))]);
		const later = read(5, [series("lb:a@FRA", "o1", 20, 2, bucketsWith({ 0.01: 18 }))]);
		const traffic = toOriginTraffic(earlier, later, BOUNDS).get("web/o1");
		expect(traffic?.requestsPerS).toBe(4);
		expect(traffic?.errorRate).toBe(0.1);
	});

	it("counts a new series whole when its object answered before, and skips it when it may not have", () => {
		const later = read(10, [
			series("lb:a@FRA", "o2", 30, 0, bucketsWith({ 0.01: 30 })),
			series("lb:a@AMS", "o1", 500, 0, bucketsWith({ 0.01: 500 })),
		]);
		// Every object answered the earlier read: FRA's o2 is new traffic; AMS had no traffic then either.
		const complete = toOriginTraffic(
			read(0, [series("lb:a@FRA", "o1", 1, 0, bucketsWith({ 0.01: 1 }))]),
			later,
			BOUNDS,
		);
		expect(complete.get("web/o2")?.requestsPerS).toBe(3);
		expect(complete.get("web/o1")?.requestsPerS).toBe(50);
		// A hub did not answer the earlier read: AMS's 500 may be old counts, so they are left out.
		const partial = toOriginTraffic(
			read(0, [series("lb:a@FRA", "o1", 1, 0, bucketsWith({ 0.01: 1 }))], [{ name: "colo:AMS", error: "timeout" }]),
			later,
			BOUNDS,
		);
		expect(partial.get("web/o2")?.requestsPerS).toBe(3);
		expect(partial.has("web/o1")).toBe(false);
	});

	it("says nothing without time between the reads, and no error rate or latency without requests", () => {
		const same = read(0, [series("lb:a@FRA", "o1", 5, 0, bucketsWith({ 0.01: 5 }))]);
		expect(toOriginTraffic(same, same, BOUNDS).size).toBe(0);
		const idle = toOriginTraffic(same, { ...same, at: read(4, []).at }, BOUNDS).get("web/o1");
		expect(idle).toEqual({ requestsPerS: 0, errorRate: null, p50Ms: null, p99Ms: null });
	});
});

describe("toFragmentToken", () => {
	it("reads #token=… percent-decoded, keeps a + as a +, and leaves the rest of the fragment", () => {
		expect(toFragmentToken("#token=abc+/9=")).toEqual({ token: "abc+/9=", rest: "" });
		expect(toFragmentToken("#view=pools&token=a%26b%2Bc&x=1")).toEqual({ token: "a&b+c", rest: "view=pools&x=1" });
		expect(toFragmentToken("#token=")).toEqual({ token: undefined, rest: "" });
		expect(toFragmentToken("#token=%E0%A4%A")).toEqual({ token: "%E0%A4%A", rest: "" });
		expect(toFragmentToken("")).toEqual({ token: undefined, rest: "" });
	});
});

describe("TrafficWindow", () => {
	it("has no rates from one read, then rates from the oldest read kept within the window", () => {
		const window = new TrafficWindow(10_000);
		window.add(read(0, [series("lb:a@FRA", "o1", 0, 0, bucketsWith({}))]));
		expect(window.rates().size).toBe(0);
		window.add(read(2, [series("lb:a@FRA", "o1", 20, 0, bucketsWith({ 0.01: 20 }))]));
		expect(window.rates().get("web/o1")?.requestsPerS).toBe(10);
		// At 14 s the read at 0 s is no longer needed: the one at 2 s is at least 10 s old.
		window.add(read(12, [series("lb:a@FRA", "o1", 120, 0, bucketsWith({ 0.01: 120 }))]));
		window.add(read(14, [series("lb:a@FRA", "o1", 140, 0, bucketsWith({ 0.01: 140 }))]));
		expect(window.rates().get("web/o1")?.requestsPerS).toBe(10); // (140 − 20) / 12 s
		window.clear();
		expect(window.rates().size).toBe(0);
	});
});

describe("what the page writes", () => {
	const origin: OriginStatus = {
		name: "o1",
		address: "o1.example.com",
		enabled: true,
		weight: 1,
		healthy: true,
		monitored: true,
		pending: false,
		in_flight: 0,
		draining: false,
		draining_since: null,
		last_check_at: null,
		last_check: "HTTP 200",
		last_error: null,
		rtt_ms: 3,
		rtt_ewma_ms: 3,
		passive_failures: 0,
		ejected_until: null,
		slow_start: null,
		changed_at: null,
		regions: null,
	};

	it("names the health state and its reason", () => {
		expect(toHealth(origin)).toEqual({ state: "healthy", reason: "HTTP 200" });
		expect(toHealth({ ...origin, healthy: false, last_error: "HTTP 503" })).toEqual({
			state: "unhealthy",
			reason: "HTTP 503",
		});
		expect(toHealth({ ...origin, pending: true }).state).toBe("pending");
		expect(toHealth({ ...origin, monitored: false })).toEqual({ state: "healthy", reason: "not monitored" });
	});

	it("lists what takes an origin out of rotation: disabled, drained, ejected (only while it lasts), slow start", () => {
		const now = Date.UTC(2026, 11, 7, 12, 0, 0);
		expect(toConditions(origin, now)).toEqual([]);
		expect(
			toConditions(
				{ ...origin, enabled: false, draining: true, ejected_until: "2026-12-07T12:00:30.000Z", slow_start: 0.25 },
				now,
			),
		).toEqual(["disabled", "drained", "ejected until 12:00:30 UTC", "slow start 25%"]);
		expect(toConditions({ ...origin, ejected_until: "2026-12-07T11:59:00.000Z" }, now)).toEqual([]);
		// Discovered at run time (issue 22): a lease, or DNS SRV.
		expect(
			toConditions(
				{ ...origin, discovered: "registration", registered: true, expires_at: "2026-12-07T12:00:30.000Z" },
				now,
			),
		).toEqual(["registered, lease until 12:00:30 UTC"]);
		expect(toConditions({ ...origin, discovered: "dns" }, now)).toEqual(["from DNS SRV"]);
	});

	it("lists each region's view in region order, with its last check as the reason", () => {
		expect(toRegionViews(origin)).toEqual([]);
		const regions = {
			WEU: { healthy: false, last_check: "status 503, expected 200", last_check_at: null, rtt_ms: 4 },
			ENAM: { healthy: true, last_check: null, last_check_at: null, rtt_ms: null },
		};
		expect(toRegionViews({ ...origin, regions })).toEqual([
			{ region: "ENAM", healthy: true, reason: "not reported yet" },
			{ region: "WEU", healthy: false, reason: "status 503, expected 200" },
		]);
	});

	it("formats rates, latencies and shares for table cells", () => {
		expect([0, 0.25, 12.34, 1234.4].map(formatRate)).toEqual(["0", "0.25", "12.3", "1,234"]);
		expect(formatLatency(null, 10)).toBe("–");
		expect(formatLatency(3.21, 10)).toBe("3.2 ms");
		expect(formatLatency(42.6, 10)).toBe("43 ms");
		expect(formatLatency(1250, 10)).toBe("1.25 s");
		expect(formatLatency(Number.POSITIVE_INFINITY, 10)).toBe("> 10 s");
		expect([null, 0, 0.025, 0.5].map(formatShare)).toEqual(["–", "0%", "2.5%", "50%"]);
	});

	it("describes each kind of event in one line", () => {
		const at = "2026-12-07T12:00:00.000Z";
		expect(describeEvent({ type: "health", at, pool: "web", origin: "o1", healthy: false, reason: "HTTP 503" })).toBe(
			"web/o1 unhealthy: HTTP 503",
		);
		expect(
			describeEvent({
				type: "config",
				at,
				actor: "admin",
				action: "drain",
				version: 7,
				changes: [{ kind: "origin", id: "web/o1", change: "changed" }],
			}),
		).toBe("drain by admin, version 7 (origin web/o1 changed)");
		expect(
			describeEvent({
				type: "alert",
				at,
				notification: "ops",
				delivery: "d1",
				event: "origin_health",
				url: "https://hooks.example.com",
				attempt: 1,
				outcome: "failed",
				status: 500,
			}),
		).toBe("alert ops (origin_health) failed 500");
	});
});
