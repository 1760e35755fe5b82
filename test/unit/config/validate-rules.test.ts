/**
 * Validation of load balancing rules (issue 20): a condition that does not parse is refused with
 * the rule's name and the character, an override naming a missing pool is refused, and rules are
 * acted on (not reported as kept only).
 */
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../../src/config/validate";
import { aConfig, aLoadBalancer, anOrigin, aPool } from "../../fixtures/config";

function withRules(rules: unknown[]) {
	return aConfig({
		pools: [aPool("primary", [anOrigin("a")]), aPool("api", [anOrigin("x")])],
		load_balancers: [
			aLoadBalancer("app.example.com", ["primary"], { fallback_pool: "primary", rules: rules as never }),
		],
	});
}

describe("validateConfig: rules", () => {
	it("accepts rules and reports none of them as not acted on", () => {
		const result = validateConfig(
			withRules([
				{ name: "api", condition: 'http.request.uri.path matches "^/api/"', overrides: { default_pools: ["api"] } },
				{
					name: "maintenance",
					condition: 'starts_with(http.request.uri.path, "/down")',
					fixed_response: { status_code: 503 },
				},
			]),
		);
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		expect(result.messages.filter((message) => message.includes("rules"))).toEqual([]);
		expect(result.config.load_balancers[0]?.rules?.[0]?.overrides?.default_pools).toEqual(["api"]);
	});

	it("refuses a condition that does not parse, naming the rule and the character (1-based)", () => {
		const result = validateConfig(
			withRules([
				{ name: "ok", condition: 'http.host eq "a"' },
				{ name: "broken", condition: 'http.request.method eq "GET" and' },
			]),
		);
		expect(result).toEqual({
			ok: false,
			errors: [
				{
					path: "load_balancers[0].rules[1].condition",
					message:
						'rule "broken": expected a field, a function or "(", found the end of the condition, at character 33',
				},
			],
		});
	});

	it("names a rule without a name by its index, and an unknown field by its name", () => {
		const result = validateConfig(withRules([{ condition: 'http.user_agent contains "bot"' }]));
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors[0]?.message).toBe(
			'rule "#0": the field "http.user_agent" is not one load balancing rules support (see docs/configuration.md, "Rules"), at character 1',
		);
	});

	it("refuses overrides naming pools that do not exist, every one", () => {
		const result = validateConfig(
			withRules([
				{
					name: "r",
					condition: 'http.host eq "a"',
					overrides: {
						default_pools: ["api", "nope"],
						fallback_pool: "gone",
						region_pools: { WEU: ["x1"] },
						country_pools: { DE: ["x2"] },
						pop_pools: { FRA: ["x3"] },
						random_steering: { pool_weights: { x4: 0.5 } },
					},
				},
			]),
		);
		expect(result.ok).toBe(false);
		if (result.ok) return;
		const at = "load_balancers[0].rules[0].overrides";
		expect(result.errors.map((error) => error.path)).toEqual([
			`${at}.default_pools[1]`,
			`${at}.fallback_pool`,
			`${at}.region_pools.WEU[0]`,
			`${at}.country_pools.DE[0]`,
			`${at}.pop_pools.FRA[0]`,
			`${at}.random_steering.pool_weights.x4`,
		]);
		expect(result.errors[0]?.message).toBe('rule "r": no pool with id "nope"');
	});

	it("refuses values of the wrong shape, naming the field", () => {
		const result = validateConfig(
			withRules([
				{ name: "r", priority: -1, fixed_response: { status_code: 700 }, overrides: { steering_policy: "fastest" } },
			]),
		);
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors.map((error) => error.path).sort()).toEqual([
			"load_balancers[0].rules[0].fixed_response.status_code",
			"load_balancers[0].rules[0].overrides.steering_policy",
			"load_balancers[0].rules[0].priority",
		]);
	});

	it("says a fixed response's overrides are not used", () => {
		const result = validateConfig(
			withRules([{ name: "r", fixed_response: { status_code: 503 }, overrides: { default_pools: ["api"] } }]),
		);
		expect(result.ok && result.messages).toContain(
			"load_balancers[0].rules[0].overrides: not used, the rule answers with its fixed_response",
		);
	});
});
