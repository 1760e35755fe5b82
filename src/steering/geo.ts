/**
 * `geo`: pools by where the visitor is. The most specific list configured for the visitor wins:
 * `pop_pools` for the Cloudflare data center that took the request, else `country_pools` for the
 * visitor's country, else `region_pools` for its Cloudflare region, else `default_pools`. A list
 * whose pools are all unhealthy is skipped for the next one. The winning list's healthy pools come
 * first, in its order (Cloudflare uses them "in failover order"), followed by the remaining healthy
 * default pools, so a request that fails inside one pool can still fail over to the others.
 * Source: https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/steering-policies/geo-steering/
 */
import type { SteeringPolicy } from "./policy";
import { toRegion } from "./regions";

export const geo: SteeringPolicy = {
	name: "geo",
	order({ defaultPools, isHealthy, location, popPools, countryPools, regionPools }) {
		const region = toRegion(location?.country, location?.regionCode);
		const candidates = [
			location?.colo ? popPools?.[location.colo.toUpperCase()] : undefined,
			location?.country ? countryPools?.[location.country.toUpperCase()] : undefined,
			region ? regionPools?.[region] : undefined,
		];
		const preferred = candidates.find((pools) => pools?.some(isHealthy)) ?? [];
		return [...new Set([...preferred, ...defaultPools])].filter(isHealthy);
	},
};
