/**
 * `dynamic_latency`: the fastest healthy pool first. Cloudflare ranks pools by an exponentially
 * weighted moving average of health-check round-trip times as seen from the visitor's region or
 * data center, and uses failover order while it has no data. We rank by the latency measured from
 * the visitor's colo (`latencyFromColoMs`, a peak-EWMA of real requests) where there is one, then
 * pools with only a health-check RTT (`rttMs`) by that, then pools with neither in default order.
 * Source: https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/steering-policies/dynamic-steering/
 */
import type { SteeringPolicy } from "./policy";

/** A usable measurement: a finite, non-negative number of ms. */
function toMs(value?: number): number | undefined {
	return value !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
}

export const dynamicLatency: SteeringPolicy = {
	name: "dynamic_latency",
	order({ defaultPools, isHealthy, facts }) {
		const healthy = [...new Set(defaultPools)].filter(isHealthy);
		if (!facts) return healthy;
		// [tier, ms]: tier 0 measured from the colo, 1 health-check RTT only, 2 nothing measured.
		const rank = new Map<string, readonly [number, number]>();
		for (const poolId of healthy) {
			const { latencyFromColoMs, rttMs } = facts(poolId);
			const fromColo = toMs(latencyFromColoMs);
			const rtt = toMs(rttMs);
			rank.set(poolId, fromColo !== undefined ? [0, fromColo] : rtt !== undefined ? [1, rtt] : [2, 0]);
		}
		// Stable sort: equal ranks keep default order.
		return healthy.sort((a, b) => {
			const [tierA = 2, msA = 0] = rank.get(a) ?? [];
			const [tierB = 2, msB = 0] = rank.get(b) ?? [];
			return tierA - tierB || msA - msB;
		});
	},
};
