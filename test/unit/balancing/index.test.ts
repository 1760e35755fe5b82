import { describe, expect, it } from "vitest";
import { createOriginPolicy, SUPPORTED_ORIGIN_POLICIES } from "../../../src/balancing";

describe("createOriginPolicy", () => {
	it.each(["random", "round_robin"] as const)("creates %s", (name) => {
		expect(SUPPORTED_ORIGIN_POLICIES).toContain(name);
		expect(createOriginPolicy(name).name).toBe(name);
	});

	it("gives each call its own counters", () => {
		const first = createOriginPolicy("round_robin");
		const second = createOriginPolicy("round_robin");
		const candidates = [
			{ key: "a", weight: 1 },
			{ key: "b", weight: 1 },
		];
		first.pick(candidates, { random: () => 0 });
		expect(second.pick(candidates, { random: () => 0 })?.key).toBe("a");
	});

	it.each(["p2c", "ewma", "hash"] as const)("throws for the unsupported %s", (name) => {
		expect(SUPPORTED_ORIGIN_POLICIES).not.toContain(name);
		expect(() => createOriginPolicy(name)).toThrow(/not supported/);
	});
});
