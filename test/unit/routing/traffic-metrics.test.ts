import { describe, expect, it } from "vitest";
import { TrafficMetrics, toCodeClass, toFailureClass } from "../../../src/routing/traffic-metrics";
import { anOutcome } from "../../fixtures/outcomes";

describe("toCodeClass", () => {
	it.each([
		[200, "2xx"],
		[204, "2xx"],
		[101, "1xx"],
		[301, "3xx"],
		[404, "4xx"],
		[503, "5xx"],
		[undefined, "error"],
		[42, "error"],
	] as const)("%s is %s", (status, expected) => {
		expect(toCodeClass(status)).toBe(expected);
	});
});

describe("toFailureClass", () => {
	it.each([
		["refused", "connect"],
		["unreachable", "connect"],
		["timeout", "timeout"],
		["status", "5xx"],
		["client", "client"],
	] as const)("%s is %s", (kind, expected) => {
		expect(toFailureClass(kind)).toBe(expected);
	});
});

describe("TrafficMetrics", () => {
	it("counts requests per origin and status class, and their time to headers in Prometheus' default buckets", () => {
		const metrics = new TrafficMetrics();
		metrics.note(anOutcome("l1", { servedBy: "p/a", status: 200, ttfbMs: 3 }));
		metrics.note(anOutcome("l2", { servedBy: "p/a", status: 200, ttfbMs: 5 }));
		metrics.note(anOutcome("l3", { servedBy: "p/a", status: 404, ttfbMs: 70 }));
		metrics.note(anOutcome("l4", { servedBy: "p/b", status: 503, ttfbMs: 20_000 }));
		const report = metrics.toMetrics(1.5);
		expect(report.requests).toEqual([
			{ pool: "p", origin: "a", codeClass: "2xx", count: 2 },
			{ pool: "p", origin: "a", codeClass: "4xx", count: 1 },
			{ pool: "p", origin: "b", codeClass: "5xx", count: 1 },
		]);
		expect(report.failures).toEqual([{ pool: "p", origin: "b", kind: "5xx", count: 1 }]);
		expect(report.retries).toBe(0);
		expect(report.replicaAgeS).toBe(1.5);
		const a = report.durations.find((histogram) => histogram.origin === "a");
		// 3 ms and 5 ms are at or below 0.005 s; 70 ms below 0.1 s.
		expect(a).toEqual({
			pool: "p",
			origin: "a",
			buckets: [2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
			count: 3,
			sumS: expect.closeTo(0.078, 9),
		});
		const b = report.durations.find((histogram) => histogram.origin === "b");
		// 20 s is above every bound: only +Inf (the count) has it.
		expect(b?.buckets.every((count) => count === 0)).toBe(true);
		expect(b?.count).toBe(1);
	});

	it("counts failed attempts by kind, retries, and a request no origin answered against the last origin tried", () => {
		const metrics = new TrafficMetrics();
		metrics.note(
			anOutcome("l1", {
				attempts: 3,
				retried: true,
				error: "timeout",
				failures: [
					{ origin: "p/a", kind: "refused" },
					{ origin: "p/b", kind: "status", status: 502 },
					{ origin: "p/c", kind: "timeout" },
				],
			}),
		);
		metrics.note(
			anOutcome("l2", {
				attempts: 2,
				retried: true,
				servedBy: "p/b",
				status: 200,
				ttfbMs: 1,
				failures: [{ origin: "p/a", kind: "unreachable" }],
			}),
		);
		const report = metrics.toMetrics(null);
		expect(report.retries).toBe(3);
		expect(report.requests).toEqual([
			{ pool: "p", origin: "c", codeClass: "error", count: 1 },
			{ pool: "p", origin: "b", codeClass: "2xx", count: 1 },
		]);
		expect(report.failures).toEqual([
			{ pool: "p", origin: "a", kind: "connect", count: 2 },
			{ pool: "p", origin: "b", kind: "5xx", count: 1 },
			{ pool: "p", origin: "c", kind: "timeout", count: 1 },
		]);
		expect(report.durations.map((histogram) => histogram.origin)).toEqual(["b"]);
	});

	it("counts a client's failure with no origin named, and ignores leases given back unused", () => {
		const metrics = new TrafficMetrics();
		metrics.note(anOutcome("l1", { error: "client", aborted: true }));
		metrics.note(anOutcome("l2", { attempts: 0, aborted: true }));
		const report = metrics.toMetrics(null);
		expect(report.requests).toEqual([{ pool: "", origin: "", codeClass: "error", count: 1 }]);
		expect(report.failures).toEqual([{ pool: "", origin: "", kind: "client", count: 1 }]);
	});

	it("counts ejections per origin, and keeps origin names with slashes whole", () => {
		const metrics = new TrafficMetrics();
		metrics.ejected("p/a");
		metrics.ejected("p/a");
		metrics.ejected("p/x/y");
		expect(metrics.toMetrics(null).ejections).toEqual([
			{ pool: "p", origin: "a", count: 2 },
			{ pool: "p", origin: "x/y", count: 1 },
		]);
	});
});
