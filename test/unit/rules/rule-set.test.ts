/**
 * A load balancer's rules as a set (issue 20): priority order (lower first, missing as 0, ties in
 * array order), disabled rules skipped, matching stops at a terminating rule or a fixed response,
 * and the digest tells the same rules from changed ones.
 */
import { describe, expect, it } from "vitest";
import type { RuleRequest } from "../../../src/rules/fields";
import { compileRules, matchRules, type RuleShape, toRuleName } from "../../../src/rules/rule-set";

function aRequest(path: string): RuleRequest {
	return {
		loadBalancer: "lb.example.com",
		method: "GET",
		url: new URL(`https://lb.example.com${path}`),
		headers: new Headers(),
		httpVersion: "HTTP/1.1",
		nowMs: 0,
	};
}

const api = 'starts_with(http.request.uri.path, "/api")';

describe("matchRules", () => {
	it("matches every rule that holds, in priority order, lower first and ties in array order", () => {
		const rules: RuleShape[] = [
			{ name: "c", condition: api, priority: 20 },
			{ name: "a", condition: api, priority: 5 },
			{ name: "b", condition: api },
			{ name: "d", condition: api, priority: 5 },
			{ name: "no", condition: 'http.request.uri.path eq "/other"' },
		];
		expect(matchRules(compileRules(rules), aRequest("/api/x"))).toEqual({ matched: [2, 1, 3, 0] });
	});

	it("stops at a terminating rule", () => {
		const rules: RuleShape[] = [
			{ name: "first", condition: api },
			{ name: "stop", condition: api, terminates: true },
			{ name: "never", condition: api },
		];
		expect(matchRules(compileRules(rules), aRequest("/api"))).toEqual({ matched: [0, 1] });
	});

	it("answers with a fixed response, which terminates", () => {
		const fixed = { status_code: 503, message_body: "down" };
		const rules: RuleShape[] = [
			{ name: "first", condition: api },
			{ name: "down", condition: api, fixed_response: fixed },
			{ name: "never", condition: api },
		];
		expect(matchRules(compileRules(rules), aRequest("/api"))).toEqual({ matched: [0, 1], fixedResponse: fixed });
	});

	it("skips disabled rules; an empty or absent condition matches every request; a null fixed_response is none", () => {
		const rules: RuleShape[] = [
			{ name: "off", condition: api, disabled: true, fixed_response: { status_code: 500 } },
			{ name: "all" },
			{ name: "blank", condition: "  ", fixed_response: null },
		];
		expect(matchRules(compileRules(rules), aRequest("/x"))).toEqual({ matched: [1, 2] });
	});

	it("answers undefined when nothing matches (and for no rules)", () => {
		expect(matchRules(compileRules([{ condition: api }]), aRequest("/x"))).toBeUndefined();
		expect(matchRules(compileRules([]), aRequest("/x"))).toBeUndefined();
	});

	it("never matches a condition that no longer compiles, instead of failing requests", () => {
		expect(matchRules(compileRules([{ condition: "http.nope eq 1" }]), aRequest("/x"))).toBeUndefined();
	});
});

describe("compileRules", () => {
	it("names rules, and digests their text", () => {
		const rules: RuleShape[] = [{ name: "api", condition: api }, { condition: api }];
		const compiled = compileRules(rules);
		expect(compiled.names).toEqual(["api", "#1"]);
		expect(toRuleName({ name: " " }, 4)).toBe("#4");
		expect(compileRules(structuredClone(rules)).digest).toBe(compiled.digest);
		expect(compileRules([{ name: "api", condition: api, priority: 1 }, { condition: api }]).digest).not.toBe(
			compiled.digest,
		);
	});
});
