/**
 * A load balancer as the rules a request matched make it: each matched rule's overrides laid over
 * the load balancer's own fields in the order the rules ran, so a later rule's field wins
 * (Cloudflare's layering). The Worker matched the rules; the indexes it sends are applied only to
 * the same rules (their digest), so a planner whose replica is a configuration ahead or behind
 * never applies one rule's overrides for another. Rule sets are compiled once per snapshot (one
 * configuration version) and the overridden load balancers kept per combination of rules, so a
 * request pays for a lookup, not a copy. Pure, apart from those memos.
 */
import type { LoadBalancer, RuleOverrides } from "../config/schema";
import type { RouteRules } from "../contract/route";
import { type CompiledRules, compileRules } from "../rules/rule-set";
import { BoundedMap } from "./bounded-map";
import type { Snapshot } from "./snapshot";

/** Combinations of matched rules remembered per snapshot; beyond this the least recently used is built again. */
export const MAX_RULE_COMBINATIONS = 256;

interface SnapshotRules {
	readonly compiled: Map<string, CompiledRules>;
	readonly overridden: BoundedMap<string, LoadBalancer>;
}

const memos = new WeakMap<Snapshot, SnapshotRules>();

function memoOf(snapshot: Snapshot): SnapshotRules {
	let memo = memos.get(snapshot);
	if (!memo) {
		memo = { compiled: new Map(), overridden: new BoundedMap(MAX_RULE_COMBINATIONS) };
		memos.set(snapshot, memo);
	}
	return memo;
}

/** The load balancer's rules compiled, once per snapshot; undefined when it has none. */
export function rulesOf(snapshot: Snapshot, lb: LoadBalancer): CompiledRules | undefined {
	if (!lb.rules?.length) return undefined;
	const memo = memoOf(snapshot);
	let compiled = memo.compiled.get(lb.name);
	if (!compiled) {
		compiled = compileRules(lb.rules);
		memo.compiled.set(lb.name, compiled);
	}
	return compiled;
}

/** `lb` with the overrides of the rules `matched` names; `lb` itself when none applies. */
export function applyRuleOverrides(snapshot: Snapshot, lb: LoadBalancer, matched: RouteRules | undefined): LoadBalancer;
/** No load balancer (no host matched), no rules: nothing to override. */
export function applyRuleOverrides(
	snapshot: Snapshot,
	lb: LoadBalancer | undefined,
	matched: RouteRules | undefined,
): LoadBalancer | undefined;
export function applyRuleOverrides(
	snapshot: Snapshot,
	lb: LoadBalancer | undefined,
	matched: RouteRules | undefined,
): LoadBalancer | undefined {
	if (!lb || !matched || matched.matched.length === 0) return lb;
	const compiled = rulesOf(snapshot, lb);
	if (!compiled || compiled.digest !== matched.digest) return lb;
	const memo = memoOf(snapshot);
	const key = `${lb.name}\u0000${matched.matched.join(",")}`;
	const known = memo.overridden.get(key);
	if (known) return known;
	const rules = lb.rules ?? [];
	let result: LoadBalancer = lb;
	for (const index of matched.matched) {
		const overrides = rules[index]?.overrides;
		if (overrides) result = overlay(result, overrides);
	}
	memo.overridden.set(key, result);
	return result;
}

/** One rule's overrides over a load balancer: a field the rule sets replaces the load balancer's. */
function overlay(lb: LoadBalancer, overrides: RuleOverrides): LoadBalancer {
	const changed: Partial<Record<keyof LoadBalancer, unknown>> = {};
	for (const [field, value] of Object.entries(overrides)) {
		// ttl and location_strategy are about DNS answers (kept, reported); unknown fields are kept only.
		if (value === undefined || field === "ttl" || field === "location_strategy" || !(field in OVERRIDABLE)) continue;
		changed[field as keyof LoadBalancer] = value;
	}
	return { ...lb, ...changed } as LoadBalancer;
}

/** The fields a rule may override and this version acts on. */
const OVERRIDABLE: Readonly<Record<string, true>> = {
	default_pools: true,
	fallback_pool: true,
	region_pools: true,
	country_pools: true,
	pop_pools: true,
	steering_policy: true,
	random_steering: true,
	adaptive_routing: true,
	session_affinity: true,
	session_affinity_ttl: true,
	session_affinity_attributes: true,
};
