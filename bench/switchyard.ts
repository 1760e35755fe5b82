/**
 * Switchyard's side of the benchmark: the configuration it is measured with (one load balancer
 * for every hostname, "*", over one pool of the origins, no monitor), PUT through the admin API.
 */
import type { Origin } from "./origins.ts";

export interface Configured {
	/** The policy that actually runs: the one asked for, or "random" when this build cannot run it. */
	readonly runs: string;
	/** The admin API's messages about the pool's origin steering (empty when it runs as asked). */
	readonly policyMessages: string[];
}

export function toBenchConfig(policy: string, origins: readonly Origin[], scope = "colo") {
	return {
		monitors: [],
		pools: [
			{
				id: "bench",
				name: "bench",
				origin_steering: { policy },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		load_balancers: [{ name: "*", default_pools: ["bench"], fallback_pool: "bench", counter_scope: scope }],
	};
}

export async function configureSwitchyard(
	url: string,
	token: string,
	policy: string,
	origins: readonly Origin[],
	/** counter_scope: colo (the default), global or isolate. */
	scope = "colo",
): Promise<Configured> {
	const response = await fetch(`${url}/_lb/api/config`, {
		method: "PUT",
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		body: JSON.stringify(toBenchConfig(policy, origins, scope)),
	});
	const text = await response.text();
	let envelope: { success?: boolean; messages?: string[] };
	try {
		envelope = JSON.parse(text);
	} catch {
		envelope = {};
	}
	if (!response.ok || envelope.success !== true) {
		throw new Error(`PUT /_lb/api/config (${policy}) answered ${response.status}: ${text}`);
	}
	const policyMessages = (envelope.messages ?? []).filter((message) => message.includes("origin_steering"));
	const fallsBack = policyMessages.some((message) => message.includes("not supported"));
	return { runs: fallsBack ? "random" : policy, policyMessages };
}

/**
 * Requests the registry still counts in flight, summed over the pool's origins (GET /status).
 * Once the load has stopped and the last outcomes were released this should be 0; more means
 * leases leaked, which would skew least_connections and p2c.
 */
export async function inFlight(url: string, token: string): Promise<number> {
	const response = await fetch(`${url}/_lb/api/status`, { headers: { authorization: `Bearer ${token}` } });
	const envelope = (await response.json()) as { result?: { pools?: { origins?: { in_flight?: number }[] }[] } };
	if (!response.ok || !envelope.result) throw new Error(`GET /_lb/api/status answered ${response.status}`);
	let total = 0;
	for (const pool of envelope.result.pools ?? [])
		for (const origin of pool.origins ?? []) total += origin.in_flight ?? 0;
	return total;
}
