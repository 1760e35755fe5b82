/**
 * The load shedding micro-benchmark's subject (issue 21): two pools of ten origins behind one load
 * balancer, planned by a counter object's core (src/routing/counter.ts), the first pool shedding
 * nothing, 50% at random, or 50% by a hash of the client's IP. Bundled like the reference Workers
 * (bench/bundle.ts: src/ imports without extensions, which Node does not resolve) and imported into
 * Node by bench/shedding.ts, which times it; nothing here measures.
 */
import { validateConfig } from "../src/config/validate";
import { CounterCore } from "../src/routing/counter";

const HOST = "bench.example.com";

export type SheddingMode = "off" | "random" | "hash";

export interface SheddingCase {
	/** Plans one request (its lease ended at once); answers the pool it went to. */
	plan(): string;
}

export function sheddingCase(mode: SheddingMode): SheddingCase {
	const origins = (pool: string) =>
		Array.from({ length: 10 }, (_, i) => ({ name: `o${i}`, address: `${pool}-o${i}.example.com` }));
	const checked = validateConfig({
		pools: [
			{
				id: "primary",
				name: "primary",
				origins: origins("primary"),
				...(mode === "off" ? {} : { load_shedding: { default_percent: 50, default_policy: mode } }),
			},
			{ id: "secondary", name: "secondary", origins: origins("secondary") },
		],
		load_balancers: [{ name: HOST, default_pools: ["primary", "secondary"], slow_start_s: 0 }],
	});
	if (!checked.ok) throw new Error(`shedding case: ${JSON.stringify(checked.errors)}`);
	const core = new CounterCore("lb:bench", "bench");
	core.adopt(
		{
			state: 1,
			checks: 0,
			configJson: JSON.stringify(checked.config),
			version: 1,
			health: [],
			healthySince: [],
			drains: [],
			ejections: [],
		},
		0,
	);
	// Clients from a few thousand addresses, as the hash policy sees them.
	const ips = Array.from({ length: 4096 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`);
	let next = 0;
	return {
		plan() {
			const clientIp = ips[next++ & 4095] as string;
			const reply = core.route({ hostname: HOST, clientIp }, 1_000, Math.random);
			if (Array.isArray(reply) || !reply.ok) throw new Error(`shedding case: no plan (${JSON.stringify(reply)})`);
			core.leases.release(reply.leaseId as string);
			return reply.pool;
		},
	};
}

/** wrangler bundles a Worker: this one only says what it is. */
export default {
	fetch(): Response {
		return new Response("the shedding benchmark's subject: imported by bench/shedding.ts, not served\n");
	},
};
