/**
 * How often each load balancing rule matched, as a counter object hears it: the Worker matches
 * the rules and each request's outcome names them (OutcomeRecord.rules, a fixed response's too),
 * so requests planned anywhere (by the object, by an isolate, answered without a plan) are counted
 * once, where /status gathers. Counted by the rule's name in the configuration the object holds
 * ("#<index>" for a rule without one). Pure.
 */

import { rulesOf } from "./rule-overrides";
import { fromCounterKey } from "./shard-keys";
import type { Snapshot } from "./snapshot";

export class RuleMatchCounts {
	private readonly counts = new Map<string, number>();

	get size(): number {
		return this.counts.size;
	}

	/** One request's matched rules, by index into the rules of the object's load balancer. */
	note(snapshot: Snapshot, shardKey: string, matched: readonly number[]): void {
		const lb = snapshot.loadBalancers.get(fromCounterKey(shardKey).loadBalancer);
		const names = lb ? rulesOf(snapshot, lb)?.names : undefined;
		for (const index of matched) {
			const name = names?.[index] ?? `#${index}`;
			this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
		}
	}

	/** Matches per rule name since the object started. */
	toRecord(): Record<string, number> {
		return Object.fromEntries(this.counts);
	}
}
