/**
 * Validates a load balancer's `rules` (validate.ts calls it for each load balancer): every
 * condition must parse and type-check in the Rules language (src/rules/), an error naming the
 * rule and the character (1-based) where it goes wrong (any other failure to compile is a 400
 * naming the rule too, never a 500); every pool an override names must exist; two rules of one
 * load balancer may not share a name (/status counts matches by name).
 * What is kept but does nothing is reported: a fixed response's rule's overrides. Pure.
 */
import type { FieldError } from "../contract/status";
import { compileCondition } from "../rules/compile";
import { RuleSyntaxError } from "../rules/parse";
import { toRuleName } from "../rules/rule-set";
import { type LoadBalancer, POOL_MAP_FIELDS } from "./schema";

export function checkRules(
	lb: LoadBalancer,
	at: string,
	poolIds: ReadonlySet<string>,
	errors: FieldError[],
	messages: string[],
): void {
	// /status and the events count matches by name: two rules of one load balancer may not share one.
	const firstByName = new Map<string, number>();
	(lb.rules ?? []).forEach((rule, i) => {
		const rat = `${at}.rules[${i}]`;
		const name = toRuleName(rule, i);
		const fail = (path: string, message: string) => errors.push({ path, message });
		const first = firstByName.get(name);
		if (first === undefined) firstByName.set(name, i);
		else {
			fail(
				`${rat}.name`,
				`rule "${name}": the same name as rules[${first}]; each rule of a load balancer needs its own (/status counts matches by name)`,
			);
		}
		if (rule.condition?.trim()) {
			try {
				compileCondition(rule.condition);
			} catch (error) {
				fail(
					`${rat}.condition`,
					error instanceof RuleSyntaxError
						? `rule "${name}": ${error.message}, at character ${error.position + 1}`
						: `rule "${name}": the condition cannot be compiled (${error instanceof Error ? error.message : String(error)})`,
				);
			}
		}
		const overrides = rule.overrides;
		if (!overrides) return;
		const checkPool = (path: string, poolId: string) => {
			if (!poolIds.has(poolId)) fail(path, `rule "${name}": no pool with id "${poolId}"`);
		};
		overrides.default_pools?.forEach((poolId, j) => {
			checkPool(`${rat}.overrides.default_pools[${j}]`, poolId);
		});
		if (overrides.fallback_pool !== undefined) checkPool(`${rat}.overrides.fallback_pool`, overrides.fallback_pool);
		for (const key of POOL_MAP_FIELDS) {
			for (const [where, pools] of Object.entries(overrides[key] ?? {})) {
				(pools ?? []).forEach((poolId, j) => {
					checkPool(`${rat}.overrides.${key}.${where}[${j}]`, poolId);
				});
			}
		}
		for (const poolId of Object.keys(overrides.random_steering?.pool_weights ?? {})) {
			checkPool(`${rat}.overrides.random_steering.pool_weights.${poolId}`, poolId);
		}
		if (rule.fixed_response && Object.keys(overrides).length > 0) {
			messages.push(`${rat}.overrides: not used, the rule answers with its fixed_response`);
		}
	});
}
