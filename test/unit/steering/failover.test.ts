import { describe, expect, it } from "vitest";
import { STEERING_POLICIES } from "../../../src/config/schema";
import { getSteeringPolicy, SUPPORTED_STEERING_POLICIES } from "../../../src/steering";
import { failover } from "../../../src/steering/failover";
import { toPoolPlan } from "../../../src/steering/policy";

const healthyExcept =
	(...unhealthy: string[]) =>
	(poolId: string) =>
		!unhealthy.includes(poolId);

describe("failover (steering_policy off)", () => {
	it.each([
		{ unhealthy: [], expected: ["p1", "p2", "p3"] },
		{ unhealthy: ["p1"], expected: ["p2", "p3"] },
		{ unhealthy: ["p2"], expected: ["p1", "p3"] },
		{ unhealthy: ["p1", "p2", "p3"], expected: [] },
	])("keeps the configured order without unhealthy pools $unhealthy", ({ unhealthy, expected }) => {
		expect(
			failover.order({ defaultPools: ["p1", "p2", "p3"], fallbackPool: "p3", isHealthy: healthyExcept(...unhealthy) }),
		).toEqual(expected);
	});
});

describe("toPoolPlan", () => {
	it("uses the healthy pools when there are some", () => {
		expect(
			toPoolPlan(failover, { defaultPools: ["p1", "p2"], fallbackPool: "fb", isHealthy: healthyExcept("p1") }),
		).toEqual({ pools: ["p2"], fallback: false });
	});

	it("uses the fallback pool, regardless of its health, when none is healthy", () => {
		expect(
			toPoolPlan(failover, {
				defaultPools: ["p1", "p2"],
				fallbackPool: "fb",
				isHealthy: healthyExcept("p1", "p2", "fb"),
			}),
		).toEqual({ pools: ["fb"], fallback: true });
	});
});

describe("getSteeringPolicy", () => {
	it("knows every steering policy of the model", () => {
		expect([...SUPPORTED_STEERING_POLICIES].sort()).toEqual([...STEERING_POLICIES].sort());
		expect(getSteeringPolicy("off")).toBe(failover);
	});
});
