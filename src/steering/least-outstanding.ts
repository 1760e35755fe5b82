/**
 * `least_outstanding_requests` (and `least_connections`, which this Worker cannot tell apart: it
 * sees requests, not connections): the healthy pool with the fewest requests in flight per unit of
 * capacity first, so a pool whose origins slow down and pile up requests gets fewer new ones and a
 * small pool is not loaded like a big one. Capacity is the sum of the pool's healthy origins'
 * weights; a pool with none goes last. Ties, such as every pool idle, keep default order.
 * Cloudflare scales the counts by `random_steering` weights and draws at random; we scale by
 * capacity and order deterministically: each request goes to the least loaded pool, and the rest
 * are its failover order.
 * Source: https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/steering-policies/least-outstanding-requests/
 */
import type { SteeringPolicy } from "./policy";

/** Loads within this relative distance count as equal (default order keeps them), as for origins in balancing/. */
const TIE = 1e-9;

function make(name: string): SteeringPolicy {
	return {
		name,
		order({ defaultPools, isHealthy, facts }) {
			const healthy = [...new Set(defaultPools)].filter(isHealthy);
			if (!facts) return healthy;
			const load = new Map<string, number>();
			for (const poolId of healthy) {
				const { inFlight, capacity } = facts(poolId);
				// NaN and negative counts are idle; no capacity is the worst score.
				const requests = Math.max(inFlight || 0, 0);
				load.set(poolId, capacity > 0 ? requests / capacity : Number.POSITIVE_INFINITY);
			}
			// Stable sort: ties keep default order.
			return healthy.sort((a, b) => {
				const loadA = load.get(a) ?? Number.POSITIVE_INFINITY;
				const loadB = load.get(b) ?? Number.POSITIVE_INFINITY;
				if (loadA === loadB) return 0;
				if (
					Number.isFinite(loadA) &&
					Number.isFinite(loadB) &&
					Math.abs(loadA - loadB) <= TIE * Math.max(loadA, loadB)
				) {
					return 0;
				}
				return loadA < loadB ? -1 : 1;
			});
		},
	};
}

export const leastOutstandingRequests = make("least_outstanding_requests");
export const leastConnections = make("least_connections");
