/**
 * The route reply in few bytes (routing/wire.ts builds and expands it). Every value a Durable
 * Object call returns is serialised by the runtime, property names included, on every proxied
 * request; when the Worker's replica is the counter object's state, the object answers with the
 * lease and the chosen origins' keys only, and the Worker fills in the rest from its replica.
 */
import type { OutcomeRecord } from "./outcome";
import type { OtherShard, RoutePlan, ShardRouteRequest } from "./route";

/** ["plan", state, leaseId, pool, flags, ...origin keys in try order]. */
export type CompactPlan = readonly [typeof COMPACT_TAG, number, string, string, number, ...string[]];

export const COMPACT_TAG = "plan";

export function isCompactPlan(reply: unknown): reply is CompactPlan {
	return Array.isArray(reply) && reply[0] === COMPACT_TAG;
}

/** What a counter object answers one route request with. */
export type RouteReply = RoutePlan | OtherShard | CompactPlan;

/**
 * Outcome records on their way to a counter object (a release batch, or those riding a route
 * request), as one JSON text of one array per record: [leaseId, servedBy, status, ttfbMs,
 * totalMs, attempts, flags, error, colo, failures, rules], null where a record has no value,
 * failures as [origin, kind, status]. Objects would be serialised property name by property name
 * and read back into new objects, the names looked up again, on every proxied request: about
 * three times the CPU of the text (docs/benchmarks.md). routing/wire.ts writes and reads it.
 */
export type WireOutcomes = string;

/**
 * A route request as a counter object receives it: one JSON text of one array (routing/wire.ts
 * toWireRoute), or, from a Worker of the version before, an object whose outcomes ride along as
 * WireOutcomes or records.
 */
export type WireRouteRequest =
	| string
	| (Omit<ShardRouteRequest, "releases"> & {
			readonly releases?: WireOutcomes | readonly OutcomeRecord[];
	  });
