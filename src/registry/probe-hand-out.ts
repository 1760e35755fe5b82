/**
 * The authority's half of a probe round's bookkeeping: which probes are due now, handed out so no
 * other round probes the same origin while they are out (`probing`, freed when the round ends);
 * and what recording their results reads of the authority's state.
 */
import type { ProbeTarget } from "../health/probe";
import type { ProbeBook } from "../health/record";
import { PROBE_SUBREQUEST_BUDGET, toDueProbes } from "../health/schedule";
import type { RoutingState } from "../routing/routing-state";
import { poolOfKey } from "../routing/snapshot";

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

/** Rise/fall of one check: for results decided by the majority of regions, whose own rise/fall is applied already. */
const ONE_CHECK = { consecutive_up: 1, consecutive_down: 1 };

/**
 * What recording a round's results needs of the authority's state: each origin's identity and
 * monitor now (`decided`: results by majority of regions, health/regions.ts), its health, and
 * where its slow start begins.
 */
export function toProbeBook(routing: RoutingState, decided = false): ProbeBook {
	const { snapshot } = routing;
	return {
		current: (key) => {
			const origin = snapshot.origins.get(key);
			const monitor = snapshot.pools.get(poolOfKey(key))?.monitor;
			if (!origin || !monitor) return undefined;
			return { identity: origin.identity, monitor: decided ? { ...monitor, ...ONE_CHECK } : monitor };
		},
		healthOf: (key) => routing.healthOf(key),
		// A first check restarts the slow start only of an origin a change added or renewed (it has one
		// already); one pending because the authority restarted is as warm as it was.
		warmFrom: (key, at, firstCheck) => {
			if (!firstCheck || routing.healthySince.has(key)) routing.healthySince.set(key, at);
		},
	};
}
