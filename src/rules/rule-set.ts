/**
 * A load balancer's `rules`, compiled once per configuration version, and run per request in the
 * Worker: in priority order (lower first; equal or missing priorities keep the array's order),
 * every enabled rule whose condition holds is matched, until one that terminates (`terminates`,
 * or a `fixed_response`, which always does). What matched is a list of rule indexes (positions
 * in the load balancer's `rules` array): the planner layers their overrides in that order
 * (routing/rule-overrides.ts), and the registry call carries the list, not the request's headers.
 * Pure.
 *
 * Reference: https://developers.cloudflare.com/load-balancing/additional-options/load-balancing-rules/
 */
import { type Condition, compileCondition } from "./compile";
import { type RuleRequest, RuleScope } from "./fields";

/** A rule's fixed response, as Cloudflare writes it. */
export interface FixedResponse {
	readonly status_code?: number;
	readonly content_type?: string;
	readonly message_body?: string;
	readonly location?: string;
}

/** The parts of a rule this module reads (config/schema.ts has the whole shape). */
export interface RuleShape {
	readonly name?: string;
	readonly condition?: string;
	readonly disabled?: boolean;
	readonly priority?: number;
	readonly terminates?: boolean;
	/** null (as an export may have it) is none. */
	readonly fixed_response?: FixedResponse | null;
}

export interface CompiledRule {
	/** Its position in the load balancer's `rules`. */
	readonly index: number;
	readonly name: string;
	readonly condition: Condition;
	readonly terminates: boolean;
	readonly fixedResponse?: FixedResponse;
}

export interface CompiledRules {
	/** Enabled rules in the order they run. */
	readonly ordered: readonly CompiledRule[];
	/** Names by index (every rule, enabled or not): what /status calls them. */
	readonly names: readonly string[];
	/** Identifies the rules' text: the same rules in two configuration versions have the same digest. */
	readonly digest: string;
}

export interface RuleMatch {
	/** Indexes of the rules that matched, in the order they ran. */
	readonly matched: readonly number[];
	/** Set when a matching rule answers the request itself. */
	readonly fixedResponse?: FixedResponse;
}

const ALWAYS: Condition = () => true;
const NEVER: Condition = () => false;

/** The name /status and the events use for a rule: its own, or "#<index>" when it has none. */
export function toRuleName(rule: RuleShape, index: number): string {
	return rule.name?.trim() ? rule.name : `#${index}`;
}

/**
 * Compiles rules validation accepted (config/validate-rules.ts). A condition that no longer
 * compiles (a configuration stored by an older version) never matches, rather than failing every
 * request.
 */
export function compileRules(rules: readonly RuleShape[]): CompiledRules {
	const compiled: CompiledRule[] = [];
	rules.forEach((rule, index) => {
		if (rule.disabled) return;
		let condition = ALWAYS;
		if (rule.condition?.trim()) {
			try {
				condition = compileCondition(rule.condition);
			} catch {
				condition = NEVER;
			}
		}
		compiled.push({
			index,
			name: toRuleName(rule, index),
			condition,
			terminates: rule.terminates === true || Boolean(rule.fixed_response),
			...(rule.fixed_response ? { fixedResponse: rule.fixed_response } : {}),
		});
	});
	const priorityOf = (rule: CompiledRule) => rules[rule.index]?.priority ?? 0;
	// Array.prototype.sort is stable: equal priorities keep the array's order.
	compiled.sort((a, b) => priorityOf(a) - priorityOf(b));
	return { ordered: compiled, names: rules.map(toRuleName), digest: toDigest(JSON.stringify(rules)) };
}

/** The rules `request` matches; undefined when none does (the common case allocates nothing). */
export function matchRules(rules: CompiledRules, request: RuleRequest): RuleMatch | undefined {
	const ordered = rules.ordered;
	if (ordered.length === 0) return undefined;
	const scope = new RuleScope(request);
	let matched: number[] | undefined;
	for (const rule of ordered) {
		if (!rule.condition(scope)) continue;
		matched ??= [];
		matched.push(rule.index);
		if (rule.fixedResponse) return { matched, fixedResponse: rule.fixedResponse };
		if (rule.terminates) break;
	}
	return matched ? { matched } : undefined;
}

/** FNV-1a, 32 bits, as hex: a cheap fingerprint, not a secret. */
function toDigest(text: string): string {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return hash.toString(16).padStart(8, "0");
}
