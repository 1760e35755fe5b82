import { describe, expect, it } from "vitest";
import type { CounterMetrics } from "../../../src/contract/metrics";
import type { MetricsReport } from "../../../src/contract/status";
import { escapeLabelValue, formatValue, toMetricsText } from "../../../src/observe/metrics-text";
import { histogramSeries, parseMetrics, samplesOf, sumOf } from "../../support/prometheus";

const NO_TRAFFIC: CounterMetrics = {
	requests: [],
	retries: 0,
	failures: [],
	durations: [],
	ejections: [],
	replicaAgeS: null,
};

function aReport(overrides: Partial<MetricsReport> = {}): MetricsReport {
	return {
		configVersion: 7,
		pools: [{ pool: "p", healthy: true }],
		origins: [
			{ pool: "p", origin: "a", healthy: true, checks: { success: 3, failure: 1 }, rttMs: 12 },
			{ pool: "p", origin: "b", healthy: false, checks: { success: 0, failure: 2 }, rttMs: null },
		],
		counters: [],
		...overrides,
	};
}

function aCounter(
	key: string,
	metrics: Partial<CounterMetrics>,
	inFlight: Record<string, number> = {},
	rules?: Record<string, number>,
) {
	return {
		key,
		answered: true,
		counters: {
			inFlight,
			passiveFailures: {},
			ejectedUntil: {},
			...(rules ? { rules } : {}),
			metrics: { ...NO_TRAFFIC, ...metrics },
		},
	};
}

describe("escapeLabelValue and formatValue", () => {
	it.each([
		["plain", "plain"],
		['say "hi"', 'say \\"hi\\"'],
		["C:\\dir", "C:\\\\dir"],
		["two\nlines", "two\\nlines"],
		['\\"\n', '\\\\\\"\\n'],
	])("%j is written %j", (value, written) => {
		expect(escapeLabelValue(value)).toBe(written);
	});

	it.each([
		[0, "0"],
		[1.5, "1.5"],
		[Number.POSITIVE_INFINITY, "+Inf"],
		[Number.NEGATIVE_INFINITY, "-Inf"],
		[Number.NaN, "NaN"],
	])("%s is written %s", (value, written) => {
		expect(formatValue(value)).toBe(written);
	});
});

describe("toMetricsText", () => {
	it("writes every family with HELP and TYPE, one series per counter object", () => {
		const text = toMetricsText(
			aReport({
				counters: [
					aCounter(
						"lb:app.test@FRA",
						{
							requests: [
								{ pool: "p", origin: "a", codeClass: "2xx", count: 5 },
								{ pool: "p", origin: "b", codeClass: "5xx", count: 1 },
							],
							retries: 2,
							failures: [{ pool: "p", origin: "b", kind: "5xx", count: 1 }],
							durations: [{ pool: "p", origin: "a", buckets: [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1], count: 5, sumS: 7.5 }],
							ejections: [{ pool: "p", origin: "b", count: 1 }],
							replicaAgeS: 2.5,
						},
						{ "p/a": 3 },
						{ api: 4, maintenance: 1 },
					),
					aCounter("lb:app.test@LHR", { requests: [{ pool: "p", origin: "a", codeClass: "2xx", count: 4 }] }),
					aCounter("lb:world.test", { requests: [{ pool: "p", origin: "a", codeClass: "2xx", count: 1 }] }),
				],
			}),
		);
		const families = parseMetrics(text);
		expect(text).toContain("# TYPE switchyard_requests_total counter\n");
		expect(text).toContain("# HELP switchyard_requests_total ");
		expect([...families.keys()]).toEqual([
			"switchyard_requests_total",
			"switchyard_retries_total",
			"switchyard_failures_total",
			"switchyard_request_duration_seconds",
			"switchyard_in_flight",
			"switchyard_origin_healthy",
			"switchyard_pool_healthy",
			"switchyard_ejections_total",
			"switchyard_rule_matches_total",
			"switchyard_health_checks_total",
			"switchyard_health_check_rtt_seconds",
			"switchyard_config_version",
			"switchyard_replica_age_seconds",
			"switchyard_scrape_errors",
		]);
		for (const family of families.values()) expect(family.help, family.name).not.toBe("");
		// Each object apart, never summed.
		expect(samplesOf(families, "switchyard_requests_total", { origin: "a", code_class: "2xx" })).toEqual([
			{ labels: { load_balancer: "app.test", pool: "p", origin: "a", code_class: "2xx", colo: "FRA" }, value: "5" },
			{ labels: { load_balancer: "app.test", pool: "p", origin: "a", code_class: "2xx", colo: "LHR" }, value: "4" },
			{
				labels: { load_balancer: "world.test", pool: "p", origin: "a", code_class: "2xx", colo: "global" },
				value: "1",
			},
		]);
		expect(sumOf(families, "switchyard_retries_total", { colo: "FRA" })).toBe(2);
		expect(sumOf(families, "switchyard_failures_total", { kind: "5xx", origin: "b" })).toBe(1);
		expect(sumOf(families, "switchyard_in_flight", { colo: "FRA", origin: "a" })).toBe(3);
		expect(sumOf(families, "switchyard_ejections_total", { origin: "b" })).toBe(1);
		expect(samplesOf(families, "switchyard_rule_matches_total", {})).toEqual([
			expect.objectContaining({ labels: { load_balancer: "app.test", rule: "api", colo: "FRA" }, value: "4" }),
			expect.objectContaining({ labels: { load_balancer: "app.test", rule: "maintenance", colo: "FRA" }, value: "1" }),
		]);
		expect(sumOf(families, "switchyard_replica_age_seconds", { colo: "FRA" })).toBe(2.5);
		expect(sumOf(families, "switchyard_config_version")).toBe(7);
		expect(sumOf(families, "switchyard_origin_healthy", { origin: "a" })).toBe(1);
		expect(sumOf(families, "switchyard_origin_healthy", { origin: "b" })).toBe(0);
		expect(sumOf(families, "switchyard_pool_healthy", { pool: "p" })).toBe(1);
		expect(sumOf(families, "switchyard_health_checks_total", { origin: "a", result: "success" })).toBe(3);
		expect(sumOf(families, "switchyard_health_checks_total", { origin: "a", result: "failure" })).toBe(1);
		expect(samplesOf(families, "switchyard_health_check_rtt_seconds")).toEqual([
			{ labels: { pool: "p", origin: "a" }, value: "0.012" },
		]);
	});

	it("writes histograms with cumulative buckets, +Inf equal to the count", () => {
		const text = toMetricsText(
			aReport({
				counters: [
					aCounter("lb:app.test@FRA", {
						durations: [{ pool: "p", origin: "a", buckets: [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1], count: 5, sumS: 7.5 }],
					}),
				],
			}),
		);
		const name = "switchyard_request_duration_seconds";
		expect(text).toContain(`# TYPE ${name} histogram\n`);
		const series = histogramSeries(text, name);
		const labels = { load_balancer: "app.test", pool: "p", origin: "a", colo: "FRA" };
		const buckets = Object.fromEntries(
			samplesOf(series, `${name}_bucket`, labels).map((sample) => [sample.labels?.le, sample.value]),
		);
		expect(buckets).toEqual({
			"0.005": "1",
			"0.01": "3",
			"0.025": "3",
			"0.05": "3",
			"0.1": "3",
			"0.25": "3",
			"0.5": "3",
			"1": "3",
			"2.5": "3",
			"5": "3",
			"10": "4",
			"+Inf": "5",
		});
		expect(samplesOf(series, `${name}_count`)).toEqual([{ labels, value: "5" }]);
		expect(samplesOf(series, `${name}_sum`)).toEqual([{ labels, value: "7.5" }]);
	});

	it("lists the objects that did not answer in switchyard_scrape_errors, and still writes the rest", () => {
		const text = toMetricsText(
			aReport({
				counters: [
					{ key: "colo:SIN", answered: false, error: "colo:SIN did not answer within 2500 ms" },
					{ key: "lb:app.test@FRA", answered: false, error: "lb:app.test@FRA did not answer within 2000 ms" },
					aCounter("lb:app.test@LHR", { requests: [{ pool: "p", origin: "a", codeClass: "2xx", count: 4 }] }),
				],
			}),
		);
		const families = parseMetrics(text);
		expect(samplesOf(families, "switchyard_scrape_errors")).toEqual([
			{ labels: { object: "colo:SIN" }, value: "1" },
			{ labels: { object: "lb:app.test@FRA" }, value: "1" },
		]);
		expect(sumOf(families, "switchyard_requests_total")).toBe(4);
	});

	it("escapes label values the parser reads back exactly", () => {
		const awkward = 'we"ird\\name\nnext';
		const text = toMetricsText(
			aReport({
				pools: [{ pool: awkward, healthy: false }],
				origins: [{ pool: awkward, origin: "o", healthy: true, checks: { success: 0, failure: 0 }, rttMs: null }],
			}),
		);
		expect(text).toContain('switchyard_pool_healthy{pool="we\\"ird\\\\name\\nnext"} 0\n');
		expect(samplesOf(parseMetrics(text), "switchyard_pool_healthy")).toEqual([
			{ labels: { pool: awkward }, value: "0" },
		]);
	});
});
