/**
 * The authority's half of a probe round's bookkeeping: which probes are due now, handed out so no
 * other round probes the same origin while they are out (`probing`, freed when the round ends).
 */
import type { ProbeTarget } from "../health/probe";
import { PROBE_SUBREQUEST_BUDGET, toDueProbes } from "../health/schedule";
import type { RoutingState } from "../routing/routing-state";

/**
 * Hands out the probes due at `now`, oldest first, within one invocation's subrequest budget (less
 * the `spent` subrequests the invocation made already: alerts sent).
 */
export function handOutProbes(routing: RoutingState, probing: Set<string>, now: number, spent = 0): ProbeTarget[] {
	const health = routing.health;
	// Origins carry their identity into their probes (routing/snapshot.ts), and results bring it back.
	const due = toDueProbes(
		{
			pools: routing.snapshot.pools.values(),
			lastDueAt: (key) => health.get(key)?.dueAt,
			probing: (key) => probing.has(key),
		},
		now,
		PROBE_SUBREQUEST_BUDGET - spent,
	);
	for (const target of due) {
		routing.healthOf(target.key).dueAt = now;
		probing.add(target.key);
	}
	return due;
}
