/**
 * The one interface every pool-steering policy implements: given a load balancer's pools and
 * their health (plus, in later policies, the visitor's location and measured latencies), the
 * ordered list of pools to try. Pure: no I/O, time and randomness passed in.
 */
import type { VisitorLocation } from "../contract/route";

export type { VisitorLocation };

/** What the registry knows about one pool, for the policies that need it. */
export interface PoolFacts {
	readonly latitude?: number;
	readonly longitude?: number;
	/** Requests in flight on its origins. */
	readonly inFlight: number;
	/** Its capacity: the sum of its usable, healthy origins' weights (each 0–1). */
	readonly capacity: number;
	/** Peak-EWMA time to first byte of its origins as seen from the visitor's colo, in ms. */
	readonly latencyFromColoMs?: number;
	/** Moving average of its health checks' round-trip times, in ms. */
	readonly rttMs?: number;
}

export interface SteeringInput {
	readonly defaultPools: readonly string[];
	/** Already resolved: the configured fallback pool, or the last default pool. */
	readonly fallbackPool: string;
	readonly isHealthy: (poolId: string) => boolean;
	readonly location?: VisitorLocation;
	/** The load balancer's region_pools, country_pools and pop_pools. */
	readonly regionPools?: Readonly<Record<string, readonly string[] | undefined>>;
	readonly countryPools?: Readonly<Record<string, readonly string[] | undefined>>;
	readonly popPools?: Readonly<Record<string, readonly string[] | undefined>>;
	/** random_steering: weights per pool id, and the weight of pools not listed. */
	readonly poolWeights?: Readonly<Record<string, number>>;
	readonly defaultWeight?: number;
	readonly facts?: (poolId: string) => PoolFacts;
	/** A number in [0, 1); Math.random in production. */
	readonly random?: () => number;
}

export interface SteeringPolicy {
	readonly name: string;
	/** Healthy pools in preference order; never includes an unhealthy pool. */
	order(input: SteeringInput): string[];
}

/**
 * Cloudflare's rule for every policy: skip unhealthy pools; when none is healthy, use the
 * fallback pool regardless of its health.
 * https://developers.cloudflare.com/load-balancing/understand-basics/health-details/
 */
export function toPoolPlan(policy: SteeringPolicy, input: SteeringInput): { pools: string[]; fallback: boolean } {
	const pools = policy.order(input);
	return pools.length > 0 ? { pools, fallback: false } : { pools: [input.fallbackPool], fallback: true };
}
