/**
 * The origin policies of one snapshot, one instance per pool, made on first use: a pool's policy
 * keeps its cursors and counters for as long as the configuration stays, and starts afresh with a
 * new one. Header and ip_cookie affinity place by consistent hashing, whatever the pool's own
 * policy: those instances are kept apart. The one cache every planner uses (counter objects, the
 * Worker planning from its replica).
 */
import { createOriginPolicy } from "../balancing";
import type { OriginPolicy } from "../balancing/policy";
import type { Snapshot } from "./snapshot";

export class PolicyCache {
	private readonly byPool = new Map<string, OriginPolicy>();
	private readonly hashByPool = new Map<string, OriginPolicy>();

	constructor(private readonly snapshot: Snapshot) {}

	/** The pool's `origin_steering.policy` (weighted random for a pool it does not know). */
	policyFor(poolId: string): OriginPolicy {
		let policy = this.byPool.get(poolId);
		if (!policy) {
			policy = createOriginPolicy(this.snapshot.pools.get(poolId)?.pool.origin_steering.policy ?? "random");
			this.byPool.set(poolId, policy);
		}
		return policy;
	}

	/** A consistent-hash policy per pool, for header and ip_cookie affinity. */
	hashPolicyFor(poolId: string): OriginPolicy {
		let policy = this.hashByPool.get(poolId);
		if (!policy) {
			policy = createOriginPolicy("hash");
			this.hashByPool.set(poolId, policy);
		}
		return policy;
	}
}
