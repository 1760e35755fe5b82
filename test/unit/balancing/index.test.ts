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

	it.each(["p2c", "ewma", "hash"] as const)("falls back to weighted random for the unsupported %s", (name) => {
		expect(SUPPORTED_ORIGIN_POLICIES).not.toContain(name);
		const policy = createOriginPolicy(name);
		expect(policy.name).toBe("random");
		const candidates = [
			{ key: "a", weight: 1 },
			{ key: "b", weight: 3 },
		];
		expect(policy.pick(candidates, { random: () => 0.2 })?.key).toBe("a");
		expect(policy.pick(candidates, { random: () => 0.3 })?.key).toBe("b");
	});
});
