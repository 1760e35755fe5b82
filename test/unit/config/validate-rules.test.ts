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

	it("refuses a content type or Location a header cannot carry, naming the field (review of issue 20)", () => {
		const result = validateConfig(
			withRules([
				{ name: "a", fixed_response: { content_type: "text/html\r\nx-injected: 1" } },
				{ name: "b", fixed_response: { location: "https://x.test/\u2603" } },
				{ name: "c", fixed_response: { location: "https://x.test/\n" } },
				{ name: "d", fixed_response: { content_type: "text/plain\u0000" } },
				{ name: "ok", fixed_response: { content_type: 'text/html; charset="utf-8"', location: "/caf%C3%A9\u00e9" } },
			]),
		);
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors).toEqual([
			{
				path: "load_balancers[0].rules[0].fixed_response.content_type",
				message: "a header value cannot hold a line break (U+000D at character 10)",
			},
			{
				path: "load_balancers[0].rules[1].fixed_response.location",
				message: expect.stringContaining("characters up to U+00FF only (U+2603 at character 16)"),
			},
			{
				path: "load_balancers[0].rules[2].fixed_response.location",
				message: "a header value cannot hold a line break (U+000A at character 16)",
			},
			{
				path: "load_balancers[0].rules[3].fixed_response.content_type",
				message: "a header value cannot hold the control character U+0000 (at character 11)",
			},
		]);
	});

	it("refuses two rules with the same name, naming the second (review of issue 20)", () => {
		const result = validateConfig(
			withRules([
				{ name: "api", condition: 'http.host eq "a"' },
				{ name: "web", condition: 'http.host eq "b"' },
				{ name: "api", condition: 'http.host eq "c"' },
				{ condition: 'http.host eq "d"' },
				{ name: "#3", condition: 'http.host eq "e"' },
			]),
		);
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors).toEqual([
			{
				path: "load_balancers[0].rules[2].name",
				message:
					'rule "api": the same name as rules[0]; each rule of a load balancer needs its own (/status counts matches by name)',
			},
			{
				path: "load_balancers[0].rules[4].name",
				message:
					'rule "#3": the same name as rules[3]; each rule of a load balancer needs its own (/status counts matches by name)',
			},
		]);
		// Two load balancers may each have a rule of that name.
		const two = aConfig({
			pools: [aPool("primary", [anOrigin("a")])],
			load_balancers: [
				aLoadBalancer("a.example.com", ["primary"], { rules: [{ name: "api" }] as never }),
				aLoadBalancer("b.example.com", ["primary"], { rules: [{ name: "api" }] as never }),
			],
		});
		expect(validateConfig(two).ok).toBe(true);
	});

	it("refuses 2,000 nested parentheses with a 400 naming the rule, not a 500 (review of issue 20)", () => {
		const deep = `${"(".repeat(2000)}http.host eq "a"${")".repeat(2000)}`;
		const result = validateConfig(withRules([{ name: "deep", condition: deep }]));
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors).toEqual([
			{
				path: "load_balancers[0].rules[0].condition",
				message: expect.stringMatching(/^rule "deep": nested more than 64 levels deep .*, at character 65$/),
			},
		]);
	});
});
