/**
 * Cloudflare's region codes: the keys of a load balancer's region_pools, and what a pool's
 * check_regions names (src/health/regions.ts maps each to a Durable Object location hint).
 * https://developers.cloudflare.com/load-balancing/reference/region-mapping-api/
 */

/** Cloudflare's region codes (region_pools keys). */
export const REGIONS = [
	"WNAM",
	"ENAM",
	"WEU",
	"EEU",
	"NSAM",
	"SSAM",
	"OC",
	"ME",
	"NAF",
	"SAF",
	"SAS",
	"SEAS",
	"NEAS",
] as const;

/** A pool's `check_regions`: Cloudflare's region codes, or ALL_REGIONS for every one of them. */
export const CHECK_REGIONS = [...REGIONS, "ALL_REGIONS"] as const;
