/**
 * The demo configuration, in Cloudflare Load Balancing's JSON shapes: one monitor on /health, one
 * pool of the demo origins (round robin) behind a catch-all load balancer, and the same origins as
 * three "regional" pools behind geo.localhost with proximity steering. The main pool also takes
 * origins that register themselves (`npm run agent`). Debug headers are on, so
 * every response says which origin and pool served it.
 */

export interface DemoOrigin {
	readonly name: string;
	readonly url: string;
}

/** Seconds between health checks in the demo (the launcher fires the cron this often). */
export const DEMO_CHECK_INTERVAL_S = 10;

/** Where the demo pretends its origins are, one region each. */
const REGIONS = [
	{ id: "demo-us", latitude: 39.0, longitude: -77.5 },
	{ id: "demo-eu", latitude: 50.1, longitude: 8.7 },
	{ id: "demo-ap", latitude: 1.35, longitude: 103.8 },
];

function regionalPools(origins: readonly DemoOrigin[]) {
	return {
		regional: REGIONS.map((region, i) => ({
			id: region.id,
			name: region.id,
			monitor: "demo-health",
			latitude: region.latitude,
			longitude: region.longitude,
			origins: origins[i] ? [{ name: origins[i].name, address: origins[i].url }] : [],
		})),
	};
}

export function toDemoConfig(origins: readonly DemoOrigin[]) {
	const { regional } = regionalPools(origins);
	return {
		monitors: [
			{
				id: "demo-health",
				description: "GET /health on every demo origin",
				type: "http",
				method: "GET",
				path: "/health",
				expected_codes: "2xx",
				timeout: 2,
				retries: 0,
				interval: DEMO_CHECK_INTERVAL_S,
				consecutive_up: 1,
				consecutive_down: 1,
			},
		],
		pools: [
			{
				id: "demo",
				name: "demo",
				description: "the three local demo origins",
				monitor: "demo-health",
				origin_steering: { policy: "round_robin" },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url, weight: 1, enabled: true })),
				// More origins may join by registering themselves (npm run agent; README, "Service discovery").
				discovery: { self_registration: true, ttl_s: 30 },
			},
			...regional,
		],
		load_balancers: [
			{
				name: "geo.localhost",
				description: "the same origins as three regional pools, steered by the visitor's location",
				default_pools: ["demo-us", "demo-eu", "demo-ap"],
				fallback_pool: "demo",
				steering_policy: "proximity",
				session_affinity: "none",
				proxy: { debug_headers: true, timeout_ms: 10_000, retries: 2 },
			},
			{
				name: "*",
				description: "answers every hostname: localhost, 127.0.0.1, …",
				default_pools: ["demo"],
				fallback_pool: "demo",
				steering_policy: "off",
				proxy: { debug_headers: true, timeout_ms: 10_000, retries: 2 },
			},
		],
	};
}
