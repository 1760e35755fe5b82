/**
 * The one interface every pool-steering policy implements: given a load balancer's pools and
 * their health (plus, in later policies, the visitor's location and measured latencies), the
 * ordered list of pools to try. Pure: no I/O, time and randomness passed in.
 */

export interface SteeringInput {
	readonly defaultPools: readonly string[];
	/** Already resolved: the configured fallback pool, or the last default pool. */
	readonly fallbackPool: string;
	readonly isHealthy: (poolId: string) => boolean;
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
