/**
 * The demo configuration, in Cloudflare Load Balancing's JSON shapes: one monitor on /health, one
 * pool of the demo origins (round robin), and a catch-all load balancer with debug headers on, so
 * every response says which origin served it.
 */

export interface DemoOrigin {
	readonly name: string;
	readonly url: string;
}

/** Seconds between health checks in the demo (the launcher fires the cron this often). */
export const DEMO_CHECK_INTERVAL_S = 10;

export function toDemoConfig(origins: readonly DemoOrigin[]) {
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
			},
		],
		load_balancers: [
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
