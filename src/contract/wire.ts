/**
 * The route reply in few bytes (routing/wire.ts builds and expands it). Every value a Durable
 * Object call returns is serialised by the runtime, property names included, on every proxied
 * request; when the Worker's replica is the counter object's state, the object answers with the
 * lease and the chosen origins' keys only, and the Worker fills in the rest from its replica.
 */
import type { OtherShard, RoutePlan } from "./route";

/** ["plan", state, leaseId, pool, flags, ...origin keys in try order]. */
export type CompactPlan = readonly [typeof COMPACT_TAG, number, string, string, number, ...string[]];

export const COMPACT_TAG = "plan";

export function isCompactPlan(reply: unknown): reply is CompactPlan {
	return Array.isArray(reply) && reply[0] === COMPACT_TAG;
}

/** What a counter object answers one route request with. */
export type RouteReply = RoutePlan | OtherShard | CompactPlan;
