/**
 * What GET /_lb/metrics is made of: each counter object's counts, learnt from the outcomes it is
 * sent (routing/traffic-metrics.ts), and the authority's view of health, gathered through the hubs
 * as /status is. The Worker renders it as Prometheus text (observe/metrics-text.ts).
 */
/** Prometheus' default histogram buckets (seconds), the upper bounds of request_duration_seconds. */
export const DURATION_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How a request ended for the client: the origin's status class, or `error` when no origin answered. */
export type CodeClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "error";

/**
 * A failed attempt or request: `connect` (no connection, or it broke before the response),
 * `timeout` (no response headers in time), `5xx` (the origin answered 5xx), `client` (the
 * client's body broke or stalled: the client's failure, not the origin's).
 */
export type FailureClass = "connect" | "timeout" | "5xx" | "client";

/** One origin, as a metric's labels name it: "" for both when no origin is known (a client failure before any answer). */
export interface OriginLabels {
	readonly pool: string;
	readonly origin: string;
}

export interface DurationHistogram extends OriginLabels {
	/** Observations at or below each bound of DURATION_BUCKETS_S, not cumulative (the renderer adds them up). */
	readonly buckets: readonly number[];
	readonly count: number;
	readonly sumS: number;
}

/** A counter object's counts since it started (a restarted object starts again from 0). */
export interface CounterMetrics {
	readonly requests: readonly (OriginLabels & { readonly codeClass: CodeClass; readonly count: number })[];
	/** Attempts after the first. */
	readonly retries: number;
	readonly failures: readonly (OriginLabels & { readonly kind: FailureClass; readonly count: number })[];
	/** Time to the origin's response headers of each answered request. */
	readonly durations: readonly DurationHistogram[];
	/** Ejections this object decided (the authority may refuse one: its events say). */
	readonly ejections: readonly (OriginLabels & { readonly count: number })[];
	/** Seconds since it last confirmed its replica current (a pull, a push, a revalidation); null without one. */
	readonly replicaAgeS: number | null;
}
