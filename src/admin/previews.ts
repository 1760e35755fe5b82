/**
 * Monitor previews (Cloudflare's `POST …/monitors/:id/preview` and `POST …/pools/:id/preview`):
 * monitor settings run once, now, against the origins of some pools, with the same probe the
 * health checks use (health/probe.ts). The results are kept by the authority under a preview id
 * and read with `GET …/load_balancers/preview/:preview_id`. The probes run in the admin request's
 * own invocation, so they are bounded by its subrequest budget.
 */

import { toOriginBase } from "../config/origin-address";
import type { Monitor, Pool } from "../config/schema";
import { MONITOR_TYPES_RUN, monitorSchema, READ_ONLY_FIELDS } from "../config/schema";
import { toFieldPath } from "../config/validate";
import { type Connect, type ProbeResult, probe } from "../health/probe";
import { toProbeTarget } from "../health/targets";
import type { PoolHealthShape } from "./cloudflare-shapes";
import { AdminError, ERROR_CODES } from "./envelope";

/** Fetches one preview may make, retries and redirects included: within the Free plan's 50 subrequests, with room to spare. */
export const MAX_PREVIEW_FETCHES = 40;
/**
 * Redirects a preview follows per check when the monitor has `follow_redirects`: each is a fetch
 * (a subrequest) of its own, so previews follow them here, not with `redirect: "follow"` (which
 * would follow up to 20 uncounted), and charge them to MAX_PREVIEW_FETCHES.
 */
export const MAX_PREVIEW_REDIRECTS = 3;
/** Probes out at once (a Worker invocation has 6 connections). */
const PREVIEW_CONCURRENCY = 6;

type Item = Record<string, unknown>;

/**
 * The monitor a preview runs: `base` (the stored monitor, or none) with the body's settings over
 * it, validated as a monitor. 400 naming the field when the settings are not a monitor's.
 */
export function toPreviewMonitor(base: Item | undefined, body: Item, id: string): Monitor {
	const settings: Item = { ...base, ...body, id };
	for (const field of READ_ONLY_FIELDS) delete settings[field];
	const parsed = monitorSchema.safeParse(settings);
	if (parsed.success) return parsed.data;
	const errors = parsed.error.issues.map((issue) => {
		const field = toFieldPath(issue.path);
		return { code: ERROR_CODES.invalid_request, message: `${field}: ${issue.message}`, field };
	});
	throw new AdminError("invalid_request", errors[0]?.message ?? "not a monitor's settings", { errors });
}

/** The result of one origin's probe, as Cloudflare shows a preview's. */
function toShape(result: ProbeResult) {
	return {
		healthy: result.ok,
		rtt: `${Math.round(result.rttMs)}ms`,
		failure_reason: result.ok ? "No failures" : result.reason,
		response_code: result.status ?? null,
	};
}

/**
 * Probes every origin of `pools` with `monitor`, at most PREVIEW_CONCURRENCY at once; answers each
 * pool's health as Cloudflare's preview results have it (healthy when at least minimum_origins of
 * its enabled origins passed). 400 when it would take more than MAX_PREVIEW_FETCHES fetches.
 */
export async function runPreview(
	monitor: Monitor,
	pools: readonly Pool[],
	fetcher: typeof fetch = fetch,
	/** For a TCP monitor: `connect` from cloudflare:sockets. */
	connect?: Connect,
): Promise<Record<string, PoolHealthShape>> {
	if (!MONITOR_TYPES_RUN.includes(monitor.type)) {
		throw new AdminError(
			"invalid_request",
			`a "${monitor.type}" monitor is not run by this version (it runs ${MONITOR_TYPES_RUN.join(", ")}): nothing to preview`,
		);
	}
	const origins = pools.flatMap((pool) => pool.origins.map((origin) => ({ pool, origin })));
	const perAttempt = monitor.follow_redirects ? 1 + MAX_PREVIEW_REDIRECTS : 1;
	const fetches = origins.length * (1 + monitor.retries) * perAttempt;
	if (fetches > MAX_PREVIEW_FETCHES) {
		const formula = monitor.follow_redirects
			? `origins × (1 + retries) × (1 + ${MAX_PREVIEW_REDIRECTS} redirects followed)`
			: "origins × (1 + retries)";
		throw new AdminError(
			"invalid_request",
			`a preview may make at most ${MAX_PREVIEW_FETCHES} fetches (${formula}); this one could make ${fetches}`,
		);
	}
	const budgeted = followingRedirects(fetcher, MAX_PREVIEW_REDIRECTS);
	const results: (ProbeResult | string)[] = new Array(origins.length);
	let next = 0;
	const worker = async () => {
		for (let i = next++; i < origins.length; i = next++) {
			const entry = origins[i];
			if (!entry) continue;
			const base = toOriginBase(entry.origin.address, entry.origin.port || undefined);
			if (typeof base === "string") {
				results[i] = base;
				continue;
			}
			const key = `${entry.pool.id}/${entry.origin.name}`;
			const target = toProbeTarget({ key, enabled: entry.origin.enabled, base }, monitor);
			results[i] = await probe(target, budgeted, Date.now, connect);
		}
	};
	await Promise.all(Array.from({ length: Math.min(PREVIEW_CONCURRENCY, origins.length) }, worker));
	const answer: Record<string, PoolHealthShape> = {};
	origins.forEach(({ pool, origin }, i) => {
		const result = results[i];
		const shape =
			typeof result === "object"
				? toShape(result)
				: { healthy: false, rtt: null, failure_reason: result ?? "not probed", response_code: null };
		const entry = answer[pool.id] ?? { healthy: false, origins: [] };
		entry.origins.push({ [origin.address]: shape });
		answer[pool.id] = entry;
	});
	for (const pool of pools) {
		const passed = pool.origins.filter(
			(origin, i) => origin.enabled && answer[pool.id]?.origins[i]?.[origin.address]?.healthy,
		).length;
		answer[pool.id] = { healthy: passed >= pool.minimum_origins, origins: answer[pool.id]?.origins ?? [] };
	}
	return answer;
}

/**
 * `fetcher`, but a request asking `redirect: "follow"` has its redirects followed here, one fetch
 * each, at most `maxHops` of them: one more fails as fetch does on too many redirects (the probe
 * reports it as unreachable). Other requests go through as they are.
 */
export function followingRedirects(fetcher: typeof fetch, maxHops: number): typeof fetch {
	return (async (input: RequestInfo | URL, init?: RequestInit) => {
		if (init?.redirect !== "follow") return fetcher(input, init);
		let url = String(input instanceof Request ? input.url : input);
		for (let hop = 0; ; hop++) {
			const response = await fetcher(url, { ...init, redirect: "manual" });
			const location = response.headers.get("location");
			const redirect = response.status >= 300 && response.status < 400 && response.status !== 304;
			if (!redirect || location === null) return response;
			await response.body?.cancel();
			if (hop >= maxHops) throw new Error(`more than ${maxHops} redirects (a preview follows at most ${maxHops})`);
			url = new URL(location, url).toString();
		}
	}) as typeof fetch;
}
