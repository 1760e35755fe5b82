/**
 * A counter object's traffic counts for GET /_lb/metrics, learnt from the outcome records it is
 * sent anyway (so the Worker's request path pays nothing for them): requests per origin and status
 * class, retries, failures per kind, a histogram of time to response headers, ejections. Counts
 * live in memory and start from 0 when the object does, as Prometheus expects of a counter.
 * Pure: no `cloudflare:*` imports.
 */
import type { CodeClass, CounterMetrics, FailureClass, OriginLabels } from "../contract/metrics";
import { DURATION_BUCKETS_S } from "../contract/metrics";
import type { OutcomeRecord } from "../contract/outcome";
import { poolOfKey } from "./snapshot";

/** The status class of a status code; `error` when there was none. */
export function toCodeClass(status: number | undefined): CodeClass {
	if (status === undefined || status < 100 || status > 599) return "error";
	return `${Math.floor(status / 100)}xx` as CodeClass;
}

/** The failure class of a failed attempt as outcome records name it. */
export function toFailureClass(kind: "refused" | "unreachable" | "timeout" | "status" | "client"): FailureClass {
	if (kind === "timeout") return "timeout";
	if (kind === "status") return "5xx";
	return kind === "client" ? "client" : "connect";
}

/** The labels of an origin key ("<pool>/<origin>"); "" for both when none is known. */
export function toOriginLabels(key: string): OriginLabels {
	if (key === "") return { pool: "", origin: "" };
	const pool = poolOfKey(key);
	return { pool, origin: key.slice(pool.length + 1) };
}

interface Histogram {
	readonly buckets: number[];
	count: number;
	sumS: number;
}

const SEPARATOR = "\u0000";

export class TrafficMetrics {
	private readonly requests = new Map<string, number>();
	private readonly failures = new Map<string, number>();
	private readonly ejections = new Map<string, number>();
	private readonly durations = new Map<string, Histogram>();
	private retries = 0;

	/** One finished request. A lease given back unused (no attempt) is no request. */
	note(record: OutcomeRecord): void {
		if (record.attempts === 0) return;
		if (record.attempts > 1) this.retries += record.attempts - 1;
		for (const failure of record.failures ?? [])
			this.count(this.failures, failure.origin, toFailureClass(failure.kind));
		if (record.servedBy !== undefined) {
			this.count(this.requests, record.servedBy, toCodeClass(record.status));
			if (record.status !== undefined && record.status >= 500) this.count(this.failures, record.servedBy, "5xx");
			if (record.ttfbMs !== undefined) this.observe(record.servedBy, record.ttfbMs / 1000);
			return;
		}
		// No origin answered: the request counts against the last origin tried, when one is known.
		const origin = record.failures?.at(-1)?.origin ?? "";
		this.count(this.requests, origin, "error");
		if (record.error === "client") this.count(this.failures, origin, "client");
	}

	/** An ejection this object decided. */
	ejected(key: string): void {
		this.ejections.set(key, (this.ejections.get(key) ?? 0) + 1);
	}

	/** The counts so far; `replicaAgeS` from the object, which knows its replica. */
	toMetrics(replicaAgeS: number | null): CounterMetrics {
		const split = (entry: string) => {
			const at = entry.indexOf(SEPARATOR);
			return { labels: toOriginLabels(entry.slice(0, at)), rest: entry.slice(at + 1) };
		};
		return {
			requests: [...this.requests].map(([entry, count]) => {
				const { labels, rest } = split(entry);
				return { ...labels, codeClass: rest as CodeClass, count };
			}),
			retries: this.retries,
			failures: [...this.failures].map(([entry, count]) => {
				const { labels, rest } = split(entry);
				return { ...labels, kind: rest as FailureClass, count };
			}),
			durations: [...this.durations].map(([key, histogram]) => ({
				...toOriginLabels(key),
				buckets: [...histogram.buckets],
				count: histogram.count,
				sumS: histogram.sumS,
			})),
			ejections: [...this.ejections].map(([key, count]) => ({ ...toOriginLabels(key), count })),
			replicaAgeS,
		};
	}

	private count(map: Map<string, number>, origin: string, label: string): void {
		const entry = `${origin}${SEPARATOR}${label}`;
		map.set(entry, (map.get(entry) ?? 0) + 1);
	}

	private observe(origin: string, seconds: number): void {
		let histogram = this.durations.get(origin);
		if (!histogram) {
			histogram = { buckets: DURATION_BUCKETS_S.map(() => 0), count: 0, sumS: 0 };
			this.durations.set(origin, histogram);
		}
		const bucket = DURATION_BUCKETS_S.findIndex((bound) => seconds <= bound);
		if (bucket !== -1) histogram.buckets[bucket] = (histogram.buckets[bucket] ?? 0) + 1;
		histogram.count++;
		histogram.sumS += seconds;
	}
}
