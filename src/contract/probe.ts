/**
 * A health check as it travels: the probe to run (built by health/targets.ts) and its result
 * (health/probe.ts runs it). Here because probe objects and the authority pass them over RPC.
 */

export interface ProbeTarget {
	/** "<pool id>/<origin name>". */
	readonly key: string;
	/** What was probed (the origin's identity then): a result for an identity since replaced is dropped. */
	readonly identity?: string;
	readonly url: string;
	readonly method: "GET" | "HEAD";
	readonly headers: Readonly<Record<string, string>>;
	readonly timeoutMs: number;
	readonly retries: number;
	readonly expectedCodes: string;
	readonly expectedBody: string;
	readonly followRedirects: boolean;
	/** A TCP check: open a connection to this address instead of fetching `url` (monitor `type: "tcp"`). */
	readonly tcp?: { readonly hostname: string; readonly port: number };
}

export type ProbeFailure = "timeout" | "unreachable" | "status" | "body";

export interface ProbeResult {
	readonly key: string;
	/** The target's identity, carried back. */
	readonly identity?: string;
	readonly ok: boolean;
	/** When the check finished (ms since epoch). */
	readonly at: number;
	/** Round-trip time of the last attempt, in ms. */
	readonly rttMs: number;
	readonly status?: number;
	readonly failure?: ProbeFailure;
	/** Human-readable: "200", "status 503, expected 2xx", "timeout after 5000 ms", … */
	readonly reason: string;
}

/** What a region's probe object checks (health/regions.ts): a probe, its region header set, and its interval. */
export interface RegionTarget extends ProbeTarget {
	readonly intervalMs: number;
}
