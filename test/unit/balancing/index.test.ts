import { describe, expect, it } from "vitest";
import { createOriginPolicy, SUPPORTED_ORIGIN_POLICIES } from "../../../src/balancing";
import { ORIGIN_POLICIES, type OriginPolicyName } from "../../../src/config/schema";

describe("createOriginPolicy", () => {
	it.each([
		"random",
		"round_robin",
		"weighted_round_robin",
		"least_connections",
		"least_outstanding_requests",
		"hash",
		"p2c",
		"ewma",
	] as const)("creates %s", (name) => {
		expect(SUPPORTED_ORIGIN_POLICIES).toContain(name);
		expect(createOriginPolicy(name).name).toBe(name);
	});

	it("supports every origin policy the configuration model knows", () => {
		expect([...SUPPORTED_ORIGIN_POLICIES].sort()).toEqual([...ORIGIN_POLICIES].sort());
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

	it("falls back to weighted random for a name it does not know", () => {
		const policy = createOriginPolicy("fastest" as OriginPolicyName);
		expect(policy.name).toBe("random");
		const candidates = [
			{ key: "a", weight: 1 },
			{ key: "b", weight: 3 },
		];
		expect(policy.pick(candidates, { random: () => 0.2 })?.key).toBe("a");
		expect(policy.pick(candidates, { random: () => 0.3 })?.key).toBe("b");
	});
});
