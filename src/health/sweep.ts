/**
 * The active health sweep run by the cron trigger: ask the registry which origins are due, probe
 * them in parallel (at most 6 at once, the platform's limit of simultaneous open connections per
 * invocation), and hand every result back in one call.
 * https://developers.cloudflare.com/workers/platform/limits/#simultaneous-open-connections
 */
import type { SweepSummary } from "../contract/rpc";
import { type Connect, type ProbeResult, type ProbeTarget, probe } from "./probe";

export const MAX_CONCURRENT_PROBES = 6;

export interface SweepRegistry {
	dueProbes(now: number): Promise<ProbeTarget[]>;
	recordProbes(results: ProbeResult[]): Promise<unknown>;
}

export type { SweepSummary };

export async function runHealthSweep(
	registry: SweepRegistry,
	fetcher: typeof fetch = fetch,
	now: () => number = Date.now,
	/** The time probes are judged due at: the cron's scheduledTime; `now()` when absent. */
	dueAt: number = now(),
	/** For TCP monitors: `connect` from cloudflare:sockets. */
	connect?: Connect,
): Promise<SweepSummary> {
	const due = await registry.dueProbes(dueAt);
	if (due.length === 0) return { probed: 0, failed: 0 };
	const results = await mapWithLimit(due, MAX_CONCURRENT_PROBES, (target) => probe(target, fetcher, now, connect));
	await registry.recordProbes(results);
	return { probed: results.length, failed: results.filter((result) => !result.ok).length };
}

/** Like Promise.all over `items.map(work)`, with at most `limit` calls pending at once; order kept. */
export async function mapWithLimit<T, R>(
	items: readonly T[],
	limit: number,
	work: (item: T) => Promise<R>,
): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const lane = async () => {
		while (next < items.length) {
			const index = next++;
			results[index] = await work(items[index] as T);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
	return results;
}
