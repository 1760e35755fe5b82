/**
 * GET /_lb/metrics' body: a MetricsReport in Prometheus' text exposition format 0.0.4, each family
 * with its HELP and TYPE lines, label values escaped as the format requires. Counters are one
 * series per counter object (its load balancer and data center as labels), never a sum across
 * objects: a sum would drop when one object restarts or misses a scrape, and Prometheus would read
 * the drop as a reset. Pure.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import { DURATION_BUCKETS_S } from "../contract/metrics";
import type { MetricsReport } from "../contract/status";
import { fromCounterKey } from "../routing/shard-keys";
import { toOriginLabels } from "../routing/traffic-metrics";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The `colo` label of a global-scope counter object (one for the world, no data center of its own). */
export const GLOBAL_COLO = "global";

type Labels = Record<string, string>;

/** A label value as the text format writes it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
	return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text as the format writes it: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
	return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: Go's float formatting for the special values, plain numbers otherwise. */
export function formatValue(value: number): string {
	if (Number.isNaN(value)) return "NaN";
	if (value === Number.POSITIVE_INFINITY) return "+Inf";
	if (value === Number.NEGATIVE_INFINITY) return "-Inf";
	return String(value);
}

function formatLabels(labels: Labels): string {
	const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
	return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/** One metric family being written: its header once, then its samples. */
class Family {
	readonly lines: string[];
	constructor(
		readonly name: string,
		type: "counter" | "gauge" | "histogram",
		help: string,
	) {
		this.lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
	}

	sample(labels: Labels, value: number, suffix = ""): void {
		this.lines.push(`${this.name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
	}
}

/** The body of GET /_lb/metrics. */
export function toMetricsText(report: MetricsReport): string {
	const requests = new Family(
		"switchyard_requests_total",
		"counter",
		"Requests by the origin that answered and its status class (error: no origin answered), per counter object.",
	);
	const retries = new Family(
		"switchyard_retries_total",
		"counter",
		"Attempts after a request's first, per counter object.",
	);
	const failures = new Family(
		"switchyard_failures_total",
		"counter",
		"Failed attempts and requests by kind (connect, timeout, 5xx, client), per counter object.",
	);
	const durations = new Family(
		"switchyard_request_duration_seconds",
		"histogram",
		"Time to the origin's response headers, per counter object.",
	);
	const inFlight = new Family("switchyard_in_flight", "gauge", "Requests in flight, per counter object.");
	const ejections = new Family(
		"switchyard_ejections_total",
		"counter",
		"Passive-health ejections a counter object decided.",
	);
	const ruleMatches = new Family(
		"switchyard_rule_matches_total",
		"counter",
		"Requests each load balancing rule matched (fixed responses included), per counter object.",
	);
	const replicaAge = new Family(
		"switchyard_replica_age_seconds",
		"gauge",
		"Seconds since a counter object last confirmed its replica of the configuration and health current.",
	);
	const scrapeErrors = new Family(
		"switchyard_scrape_errors",
		"gauge",
		"Objects (counter objects, or hubs) that did not answer this scrape: their series are missing from it.",
	);

	for (const counterReport of report.counters) {
		const metrics = counterReport.counters?.metrics;
		if (!counterReport.answered || !metrics) {
			scrapeErrors.sample({ object: counterReport.key }, 1);
			continue;
		}
		const { loadBalancer, colo } = fromCounterKey(counterReport.key);
		const object = { load_balancer: loadBalancer, colo: colo ?? GLOBAL_COLO };
		for (const { pool, origin, codeClass, count } of metrics.requests) {
			requests.sample({ load_balancer: loadBalancer, pool, origin, code_class: codeClass, colo: object.colo }, count);
		}
		retries.sample(object, metrics.retries);
		for (const { pool, origin, kind, count } of metrics.failures) {
			failures.sample({ load_balancer: loadBalancer, pool, origin, kind, colo: object.colo }, count);
		}
		for (const histogram of metrics.durations) {
			const labels = { load_balancer: loadBalancer, pool: histogram.pool, origin: histogram.origin, colo: object.colo };
			let cumulative = 0;
			for (const [i, bound] of DURATION_BUCKETS_S.entries()) {
				cumulative += histogram.buckets[i] ?? 0;
				durations.sample({ ...labels, le: formatValue(bound) }, cumulative, "_bucket");
			}
			durations.sample({ ...labels, le: "+Inf" }, histogram.count, "_bucket");
			durations.sample(labels, histogram.sumS, "_sum");
			durations.sample(labels, histogram.count, "_count");
		}
		for (const [key, count] of Object.entries(counterReport.counters?.inFlight ?? {})) {
			inFlight.sample({ load_balancer: loadBalancer, ...toOriginLabels(key), colo: object.colo }, count);
		}
		for (const { pool, origin, count } of metrics.ejections) {
			ejections.sample({ load_balancer: loadBalancer, pool, origin, colo: object.colo }, count);
		}
		for (const [rule, count] of Object.entries(counterReport.counters?.rules ?? {})) {
			ruleMatches.sample({ load_balancer: loadBalancer, rule, colo: object.colo }, count);
		}
		if (metrics.replicaAgeS !== null) replicaAge.sample(object, metrics.replicaAgeS);
	}

	const originHealthy = new Family(
		"switchyard_origin_healthy",
		"gauge",
		"1 while an origin is healthy (active checks, and no passive ejection), else 0.",
	);
	const poolHealthy = new Family(
		"switchyard_pool_healthy",
		"gauge",
		"1 while a pool has at least minimum_origins healthy origins, else 0.",
	);
	const checks = new Family(
		"switchyard_health_checks_total",
		"counter",
		"Active health checks by result (success, failure), since the authority started.",
	);
	const rtt = new Family(
		"switchyard_health_check_rtt_seconds",
		"gauge",
		"Round-trip time of an origin's last health check.",
	);
	for (const { pool, healthy } of report.pools) poolHealthy.sample({ pool }, healthy ? 1 : 0);
	for (const origin of report.origins) {
		const labels = { pool: origin.pool, origin: origin.origin };
		originHealthy.sample(labels, origin.healthy ? 1 : 0);
		checks.sample({ ...labels, result: "success" }, origin.checks.success);
		checks.sample({ ...labels, result: "failure" }, origin.checks.failure);
		if (origin.rttMs !== null) rtt.sample(labels, origin.rttMs / 1000);
	}
	const version = new Family("switchyard_config_version", "gauge", "The configuration version (the admin API's ETag).");
	version.sample({}, report.configVersion);

	const families = [
		requests,
		retries,
		failures,
		durations,
		inFlight,
		originHealthy,
		poolHealthy,
		ejections,
		ruleMatches,
		checks,
		rtt,
		version,
		replicaAge,
		scrapeErrors,
	];
	return `${families.flatMap((family) => family.lines).join("\n")}\n`;
}
