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

/**
 * What a policy may know besides the candidates: randomness and the registry's counters. Policies
 * "assume that context information is missing and use sensible defaults" (Envoy): without
 * counters they behave as if every candidate were idle, without a hash key they pick at random.
 */
export interface PickContext {
	/** A number in [0, 1); Math.random in production. */
	readonly random: () => number;
	/** Requests in flight on a candidate now (from the registry's leases); 0 when absent. */
	readonly inFlight?: (key: string) => number;
	/** Peak-EWMA of a candidate's time to first byte, in ms; undefined before its first sample. */
	readonly latencyMs?: (key: string) => number | undefined;
	/** What consistent hashing hashes: the session-affinity key, else the client's IP address. */
	readonly hashKey?: string;
	/** Milliseconds since the epoch. */
	readonly now?: number;
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

/** Scores this close (relatively) are ties: 3 / 0.3 and 1 / 0.1 should not differ by rounding. */
export const TIE = 1e-9;
