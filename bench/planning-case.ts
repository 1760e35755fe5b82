/**
 * The planning micro-benchmark's subject (issue 14, item 2): one pool of `n` origins behind one load
 * balancer, planned by a counter object's core (src/routing/counter.ts, the planner every counter
 * scope runs), with slow start active or over. Bundled like the reference Workers (bench/bundle.ts:
 * src/ imports without extensions, which Node does not resolve) and imported into Node by
 * bench/planning.ts, which times it; nothing here measures.
 */
import type { OriginPolicyName } from "../src/config/schema";
import { validateConfig } from "../src/config/validate";
import { CounterCore } from "../src/routing/counter";

const HOST = "bench.example.com";
const SLOW_START_S = 30;
/** Plans are made this long after the warming origins came up: their share is 0.25. */
export const PLAN_AT_MS = 5_000;

export interface PlanningCase {
	/** Plans one request (its lease ended at once, so every plan sees the same idle pool). */
	plan(): void;
}

/**
 * `warming`: nine origins in ten came up at 0 (a batch just added), the warm tenth at the end of
 * the list, so slow start thins every pick; otherwise every origin is past its slow start.
 */
export function planningCase(n: number, policy: OriginPolicyName, warming: boolean): PlanningCase {
	const checked = validateConfig({
		monitors: [],
		pools: [
			{
				id: "p",
				name: "p",
				origin_steering: { policy },
				origins: Array.from({ length: n }, (_, i) => ({ name: `o${i}`, address: `o${i}.example.com` })),
			},
		],
		load_balancers: [{ name: HOST, default_pools: ["p"], slow_start_s: SLOW_START_S }],
	});
	if (!checked.ok) throw new Error(`planning case: ${JSON.stringify(checked.errors)}`);
	const warmFrom = warming ? Math.ceil(n * 0.9) : 0;
	const core = new CounterCore("lb:bench", "bench");
	core.adopt(
		{
			state: 1,
			checks: 0,
			configJson: JSON.stringify(checked.config),
			version: 1,
			health: [],
			healthySince: Array.from({ length: warmFrom }, (_, i) => ({ key: `p/o${i}`, since: 0 })),
			drains: [],
			ejections: [],
		},
		0,
	);
	return {
		plan() {
			const reply = core.route({ hostname: HOST }, PLAN_AT_MS, Math.random);
			if (Array.isArray(reply) || !reply.ok) throw new Error(`planning case: no plan (${JSON.stringify(reply)})`);
			core.leases.release(reply.leaseId as string);
		},
	};
}

/** wrangler bundles a Worker: this one only says what it is. */
export default {
	fetch(): Response {
		return new Response("the planning benchmark's subject: imported by bench/planning.ts, not served\n");
	},
};
