/**
 * Workers Analytics Engine: one data point per proxied request, written when the request is no
 * longer in flight (its body ended, or it failed), so the response never waits on it. The index is
 * a hash of the load balancer's name (names may exceed the index's 96 bytes); blobs and doubles are
 * in the order the README's SQL reads them (blob1…blob5, and blob6 for a request that matched load
 * balancing rules; double1…double3). Sampling
 * (`analytics_sample_rate`) keeps a busy Free-plan account under its daily data points; the rate is
 * written as double3 so queries scale counts by 1/rate.
 * https://developers.cloudflare.com/analytics/analytics-engine/
 */
import type { RequestSample } from "../contract/outcome";

/** What the binding offers (a subset of AnalyticsEngineDataset, so tests pass a recording fake). */
export interface AnalyticsDataset {
	writeDataPoint(point: AnalyticsDataPoint): void;
}

export interface AnalyticsDataPoint {
	readonly indexes: string[];
	readonly blobs: string[];
	readonly doubles: number[];
}

/** `2xx` … `5xx`, or `error` when no origin answered. */
export function toStatusClass(status: number | undefined): string {
	if (status === undefined || status < 100 || status > 599) return "error";
	return `${Math.floor(status / 100)}xx`;
}

/** Index hashes made so far, by load balancer name (names come from the configuration: few). */
const indexHashes = new Map<string, string>();
const MAX_INDEX_HASHES = 1024;

/**
 * toIndexHash, made once per name: BigInt arithmetic per byte costs about a microsecond and a half
 * per data point in Node on the benchmark machine, a lookup next to nothing (docs/benchmarks.md).
 */
export function indexHashOf(name: string): string {
	let hash = indexHashes.get(name);
	if (hash === undefined) {
		if (indexHashes.size >= MAX_INDEX_HASHES) indexHashes.clear();
		hash = toIndexHash(name);
		indexHashes.set(name, hash);
	}
	return hash;
}

/** FNV-1a, 64 bits, as 16 hex digits: short, stable, and synchronous (crypto.subtle is not). */
export function toIndexHash(name: string): string {
	let hash = 0xcbf29ce484222325n;
	const bytes = new TextEncoder().encode(name);
	for (const byte of bytes) {
		hash ^= BigInt(byte);
		hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
	}
	return hash.toString(16).padStart(16, "0");
}

/** Whether this request is sampled: `random` is in [0, 1). A rate of 1 (the default) keeps every one. */
export function isSampled(rate: number, random: () => number): boolean {
	return rate >= 1 || random() < rate;
}

export function toDataPoint(sample: RequestSample, rate: number): AnalyticsDataPoint {
	const { record } = sample;
	const served = record.servedBy;
	const slash = served?.indexOf("/") ?? -1;
	const pool = served && slash > 0 ? served.slice(0, slash) : sample.pool;
	const origin = served && slash > 0 ? served.slice(slash + 1) : "";
	return {
		indexes: [indexHashOf(sample.loadBalancer)],
		blobs:
			sample.rules === undefined
				? [sample.loadBalancer, pool, origin, sample.colo, toStatusClass(record.status)]
				: [sample.loadBalancer, pool, origin, sample.colo, toStatusClass(record.status), sample.rules],
		doubles: [record.ttfbMs ?? 0, sample.bytes, rate],
	};
}

/**
 * The proxy's observe hook for a dataset, or undefined when ANALYTICS is not bound (nothing is
 * built per request then). `rateOf` reads the load balancer's analytics_sample_rate.
 */
export function analyticsObserver(
	dataset: AnalyticsDataset | undefined,
	rateOf: (loadBalancer: string) => number,
	random: () => number = Math.random,
): ((sample: RequestSample) => void) | undefined {
	if (!dataset) return undefined;
	return (sample) => {
		const rate = rateOf(sample.loadBalancer);
		if (!isSampled(rate, random)) return;
		try {
			dataset.writeDataPoint(toDataPoint(sample, rate));
		} catch (error) {
			// Never the request's failure: a data point lost is only a data point.
			console.error("switchyard: analytics data point not written", error);
		}
	};
}
