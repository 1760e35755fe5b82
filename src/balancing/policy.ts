/**
 * The one interface every origin-steering policy implements. A policy chooses among the healthy
 * candidates of one pool; selection is pure apart from the policy's own counters (a rotation
 * cursor, say), with randomness passed in, so table tests are deterministic.
 */

export interface Candidate {
	/** Stable identity within the registry: "<pool id>/<origin name>". */
	readonly key: string;
	/** Relative weight, > 0 for every candidate handed to a policy. */
	readonly weight: number;
}

export interface PickContext {
	/** A number in [0, 1); Math.random in production. */
	readonly random: () => number;
}

export interface OriginPolicy {
	readonly name: string;
	/** Chooses among healthy candidates; undefined when there are none. Never throws. */
	pick<C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | undefined;
}

/** Candidates ordered for retries: the pick first, then the others in their given order after it. */
export function toAttemptOrder<C extends Candidate>(candidates: readonly C[], first: C | undefined): C[] {
	if (first === undefined) return [];
	const at = candidates.indexOf(first);
	return [...candidates.slice(at), ...candidates.slice(0, at)];
}
