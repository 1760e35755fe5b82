/**
 * The route reply in few bytes. Every value a Durable Object call returns is serialised by the
 * runtime, property names included, and read back on the other side, on every proxied request.
 * Most of a plan (the load balancer's proxy settings, each origin's address) is configuration the
 * Worker already holds in its copy of the registry's state. When the Worker says which state its
 * copy has (`RouteRequest.known`) and the shard's is the same, the shard answers with only what is
 * new, the lease and the chosen origins' keys, and the Worker fills in the rest from the copy.
 * Otherwise (copies differ, or session affinity, whose plan carries more) the full plan goes.
 * Pure.
 */
import type { LoadBalancer } from "../config/schema";
import type { RoutePlan } from "../contract/route";
import { COMPACT_TAG, type CompactPlan } from "../contract/wire";
import { toAttempt } from "./plan";
import type { Snapshot } from "./snapshot";

const FALLBACK = 1;
const NEEDS_LOCATION = 2;
const HEADER_LENGTH = 5;

type OkPlan = Extract<RoutePlan, { ok: true }>;

/** The compact form of `plan`, when it has no more than the Worker can rebuild from its copy. */
export function toCompactPlan(plan: OkPlan, state: number, leaseId: string): CompactPlan | undefined {
	if (plan.affinity !== undefined) return undefined;
	const flags = (plan.fallback ? FALLBACK : 0) | (plan.needsLocation ? NEEDS_LOCATION : 0);
	return [COMPACT_TAG, state, leaseId, plan.pool, flags, ...plan.attempts.map((attempt) => attempt.key)];
}

/**
 * The whole plan again, from the compact reply and the Worker's copy of the same state; undefined
 * when the copy does not know an origin the reply names (then the copy is not the same state
 * after all, and the caller asks for the full plan).
 */
export function fromCompactPlan(compact: CompactPlan, lb: LoadBalancer, snapshot: Snapshot): OkPlan | undefined {
	const [, state, leaseId, pool, flags] = compact;
	const attempts = [];
	for (let i = HEADER_LENGTH; i < compact.length; i++) {
		const key = compact[i] as string;
		const origin = snapshot.origins.get(key);
		if (!origin) return undefined;
		attempts.push(toAttempt(origin));
	}
	if (attempts.length === 0) return undefined;
	return {
		ok: true,
		loadBalancer: lb.name,
		pool,
		fallback: (flags & FALLBACK) !== 0,
		attempts,
		proxy: lb.proxy,
		needsLocation: (flags & NEEDS_LOCATION) !== 0,
		leaseId,
		state,
	};
}
