/**
 * Health seen from several regions as /status and the pool health route show it: each region's
 * view of each origin (its last check and reason), and whether the pool is healthy from there.
 */
import type { OriginRegionStatus } from "../contract/status";
import type { OriginHealth } from "../health/record";
import { type CheckRegion, toCheckRegions } from "../health/regions";
import type { PoolEntry } from "../routing/snapshot";

/** Each region's view of one origin, by region code; null when its pool has no check_regions. */
export function toOriginRegions(
	regions: readonly CheckRegion[],
	health: OriginHealth | undefined,
): Record<string, OriginRegionStatus> | null {
	if (regions.length === 0) return null;
	const views: Record<string, OriginRegionStatus> = {};
	for (const region of regions) {
		const view = health?.regions?.[region];
		// A region that has not reported counts as healthy (health/regions.ts).
		views[region] = {
			healthy: view?.state.healthy ?? true,
			last_check: view?.reason ?? null,
			last_check_at: view ? new Date(view.at).toISOString() : null,
			rtt_ms: view?.rttMs ?? null,
		};
	}
	return views;
}

/**
 * The pool's health as each region sees it (enabled origins that region sees healthy, at least
 * minimum_origins of them); null without check_regions.
 */
export function toPoolRegions(
	entry: PoolEntry,
	healthOf: (key: string) => OriginHealth | undefined,
): Record<string, { healthy: boolean }> | null {
	const regions = toCheckRegions(entry.pool.check_regions);
	if (regions.length === 0) return null;
	const out: Record<string, { healthy: boolean }> = {};
	for (const region of regions) {
		const healthy = entry.origins.filter(
			(origin) => origin.enabled && healthOf(origin.key)?.regions?.[region]?.state.healthy !== false,
		).length;
		out[region] = { healthy: entry.pool.enabled && healthy > 0 && healthy >= entry.pool.minimum_origins };
	}
	return out;
}

export { toCheckRegions };
