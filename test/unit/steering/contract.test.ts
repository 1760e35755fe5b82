/**
 * What every pool-steering policy promises, checked for all of them: only healthy pools, each once,
 * every healthy candidate kept for failover, nothing when nothing is healthy (toPoolPlan then adds
 * the fallback pool), and no exceptions on missing or odd inputs.
 */
import { describe, expect, it } from "vitest";
import { STEERING_POLICIES } from "../../../src/config/schema";
import { getSteeringPolicy, SUPPORTED_STEERING_POLICIES } from "../../../src/steering";
import { type SteeringInput, toPoolPlan } from "../../../src/steering/policy";
import { seeded } from "../balancing/contract";
import { anInput, BRITISH_COLUMBIA, CALIFORNIA, FRANKFURT, NEW_YORK, ONTARIO } from "./world";

const POLICIES = SUPPORTED_STEERING_POLICIES.map((name) => getSteeringPolicy(name));
const POOLS = ["us-east", "eu", "us-west", "extra"];
const LOCATIONS = [FRANKFURT, CALIFORNIA, NEW_YORK, ONTARIO, BRITISH_COLUMBIA, { country: "XX" }, undefined];

/** Every subset of POOLS as the unhealthy set. */
const DOWN_SETS = Array.from({ length: 1 << POOLS.length }, (_, mask) => POOLS.filter((_, at) => mask & (1 << at)));

function inputs(down: string[], random: () => number): SteeringInput[] {
	return LOCATIONS.map((location, at) =>
		anInput(
			{
				location,
				defaultPools: POOLS,
				popPools: { FRA: ["extra", "eu"] },
				countryPools: { US: ["us-west", "us-east"] },
				poolWeights: { eu: 0.2, "us-east": 0 },
				random,
				facts: (poolId) => ({
					latitude: poolId === "extra" ? undefined : at * 10,
					longitude: at * 20 - 60,
					inFlight: poolId.length * at,
					capacity: poolId === "extra" ? 0 : 1,
					latencyFromColoMs: poolId === "eu" ? 12 : undefined,
					rttMs: poolId === "us-west" ? 30 : undefined,
				}),
			},
			...down,
		),
	);
}

describe("steering policies", () => {
	it("are all supported, each under its own name", () => {
		expect(SUPPORTED_STEERING_POLICIES).toEqual([...STEERING_POLICIES]);
		for (const name of STEERING_POLICIES) expect(getSteeringPolicy(name).name).toBe(name);
	});
});

describe.each(POLICIES.map((policy) => ({ name: policy.name, policy })))("$name: steering contract", ({ policy }) => {
	it.each(DOWN_SETS.map((down) => ({ down })))("returns each healthy pool once, never one of $down", ({ down }) => {
		const random = seeded(11);
		const healthy = POOLS.filter((poolId) => !down.includes(poolId));
		for (const input of inputs(down, random)) {
			const order = policy.order(input);
			for (const poolId of order) expect(down).not.toContain(poolId);
			expect([...order].sort()).toEqual([...healthy].sort());
		}
	});

	it("leaves the fallback pool to toPoolPlan when nothing is healthy", () => {
		for (const input of inputs(POOLS, seeded(12))) {
			expect(policy.order(input)).toEqual([]);
			expect(toPoolPlan(policy, input)).toEqual({ pools: ["fallback"], fallback: true });
		}
	});

	it("copes with no location, no facts, no weights and no random", () => {
		const bare: SteeringInput = { defaultPools: ["a", "b"], fallbackPool: "b", isHealthy: (poolId) => poolId !== "a" };
		expect(policy.order(bare)).toEqual(["b"]);
		expect(policy.order({ ...bare, isHealthy: () => true })).toHaveLength(2);
		expect(policy.order({ ...bare, defaultPools: [] })).toEqual([]);
	});
});
