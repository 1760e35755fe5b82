/**
 * The observation micro-benchmark's subject (issue 18): what metrics and analytics add per proxied
 * request. Metrics: a counter object notes each outcome record it receives anyway
 * (src/routing/traffic-metrics.ts). Analytics: the observer the isolate wires when ANALYTICS is bound
 * (src/observe/analytics.ts), against a binding that keeps nothing (the runtime's writeDataPoint is not
 * in it: see docs/benchmarks.md). Bundled like the planning case (bench/bundle.ts) and imported into
 * Node by bench/observe.ts, which times it; nothing here measures.
 */
import type { OutcomeRecord, RequestSample } from "../src/contract/outcome";
import { analyticsObserver } from "../src/observe/analytics";
import { TrafficMetrics } from "../src/routing/traffic-metrics";

const ORIGINS = ["eu/eu-1", "eu/eu-2", "us/us-1"];

/** A mix of what a counter object hears: mostly 2xx, some 404s, a retried 503, a timeout with no answer. */
function toRecords(): OutcomeRecord[] {
	const records: OutcomeRecord[] = [];
	for (let i = 0; i < 100; i++) {
		const origin = ORIGINS[i % ORIGINS.length] as string;
		const leaseId = `lb:www.example.com@FRA|iso-1-${i}`;
		if (i % 50 === 7)
			records.push({
				leaseId,
				attempts: 2,
				retried: true,
				totalMs: 40,
				ttfbMs: 38,
				servedBy: origin,
				status: 200,
				aborted: false,
				failures: [{ origin: ORIGINS[(i + 1) % ORIGINS.length] as string, kind: "status", status: 503 }],
			});
		else if (i % 50 === 31)
			records.push({
				leaseId,
				attempts: 1,
				retried: false,
				totalMs: 2_000,
				error: "timeout",
				aborted: false,
				failures: [{ origin, kind: "timeout" }],
			});
		else
			records.push({
				leaseId,
				attempts: 1,
				retried: false,
				totalMs: 3 + (i % 7),
				ttfbMs: 1 + (i % 5) * 0.7,
				servedBy: origin,
				status: i % 10 === 3 ? 404 : 200,
				aborted: false,
			});
	}
	return records;
}

export interface ObserveCase {
	/** Notes the next record, as a counter object does on each outcome it is sent. */
	metrics(): void;
	/** Observes the next request, as the Worker does when ANALYTICS is bound (sample rate 1). */
	analytics(): void;
	/** How many data points the fake binding was handed (proves the observer ran). */
	written(): number;
}

export function observeCase(): ObserveCase {
	const records = toRecords();
	const samples: RequestSample[] = records.map((record) => ({
		loadBalancer: "www.example.com",
		pool: (record.servedBy ?? record.failures?.[0]?.origin ?? "eu/x").split("/")[0] as string,
		colo: "FRA",
		bytes: 1234,
		record,
	}));
	const trafficMetrics = new TrafficMetrics();
	let points = 0;
	const observe = analyticsObserver({ writeDataPoint: () => void points++ }, () => 1);
	if (!observe) throw new Error("no observer for a bound dataset");
	let nextRecord = 0;
	let nextSample = 0;
	return {
		metrics() {
			trafficMetrics.note(records[nextRecord] as OutcomeRecord);
			nextRecord = (nextRecord + 1) % records.length;
		},
		analytics() {
			observe(samples[nextSample] as RequestSample);
			nextSample = (nextSample + 1) % samples.length;
		},
		written: () => points,
	};
}
