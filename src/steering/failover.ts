/**
 * `off`: ordered failover. The default pools in the order given; traffic goes to the first
 * healthy one. Cloudflare's default steering policy,
 * https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/steering-policies/standard-options/
 */
import type { SteeringPolicy } from "./policy";

export const failover: SteeringPolicy = {
	name: "off",
	order({ defaultPools, isHealthy }) {
		return defaultPools.filter(isHealthy);
	},
};
