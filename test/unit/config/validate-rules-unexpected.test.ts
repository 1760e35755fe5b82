/**
 * Validation of load balancing rules when compiling a condition fails in a way the compiler does
 * not foresee (review of issue 20): the admin gets a 400 naming the rule, never a 500. The
 * compiler is wrapped so that one marked condition throws a plain Error, as a bug would.
 */
import { describe, expect, it, vi } from "vitest";
import { validateConfig } from "../../../src/config/validate";
import { aConfig, aLoadBalancer, anOrigin, aPool } from "../../fixtures/config";

vi.mock("../../../src/rules/compile", async (importOriginal) => {
	const real = await importOriginal<typeof import("../../../src/rules/compile")>();
	return {
		...real,
		compileCondition: (source: string) => {
			if (source.includes("boom")) throw new RangeError("Maximum call stack size exceeded");
			return real.compileCondition(source);
		},
	};
});

describe("validateConfig: a condition whose compilation throws unexpectedly", () => {
	it("is a field error naming the rule and what went wrong", () => {
		const result = validateConfig(
			aConfig({
				pools: [aPool("primary", [anOrigin("a")])],
				load_balancers: [
					aLoadBalancer("app.example.com", ["primary"], {
						rules: [
							{ name: "fine", condition: 'http.host eq "a"' },
							{ name: "odd", condition: 'http.host eq "boom"' },
						] as never,
					}),
				],
			}),
		);
		expect(result).toEqual({
			ok: false,
			errors: [
				{
					path: "load_balancers[0].rules[1].condition",
					message: 'rule "odd": the condition cannot be compiled (Maximum call stack size exceeded)',
				},
			],
		});
	});
});
