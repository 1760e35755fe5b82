import { describe, expect, it } from "vitest";
import { randomSteering } from "../../../src/steering/random";
import { seeded } from "../balancing/contract";
import { anInput } from "./world";

const JUST_BELOW_ONE = 1 - Number.EPSILON;

describe("random", () => {
	it("is named random", () => {
		expect(randomSteering.name).toBe("random");
	});

	it.each([
		{ name: "0 draws the first", weights: { a: 1, b: 1, c: 1 }, value: 0, expected: ["a", "b", "c"] },
		{
			name: "just below 1 draws the last",
			weights: { a: 1, b: 1, c: 1 },
			value: JUST_BELOW_ONE,
			expected: ["c", "a", "b"],
		},
		{
			name: "a third of the way draws the second",
			weights: { a: 1, b: 1, c: 1 },
			value: 0.34,
			expected: ["b", "a", "c"],
		},
		{ name: "0.2/0.8 below 0.2 draws the light one", weights: { a: 0.2, b: 0.8 }, value: 0.19, expected: ["a", "b"] },
		{ name: "0.2/0.8 at 0.2 draws the heavy one", weights: { a: 0.2, b: 0.8 }, value: 0.2, expected: ["b", "a"] },
		{ name: "a weight-0 pool is not drawn at 0", weights: { a: 0, b: 1 }, value: 0, expected: ["b", "a"] },
		{
			name: "a weight-0 pool is not drawn at ~1",
			weights: { a: 1, b: 0 },
			value: JUST_BELOW_ONE,
			expected: ["a", "b"],
		},
		{ name: "all weight 0 are drawn alike", weights: { a: 0, b: 0 }, value: 0.75, expected: ["b", "a"] },
		{ name: "NaN random draws at 0", weights: { a: 1, b: 1 }, value: Number.NaN, expected: ["a", "b"] },
		{ name: "random 1 draws the last", weights: { a: 1, b: 1 }, value: 1, expected: ["b", "a"] },
	])("$name", ({ weights, value, expected }) => {
		const input = anInput({
			defaultPools: Object.keys(weights),
			poolWeights: weights as Record<string, number>,
			random: () => value,
		});
		expect(randomSteering.order(input)).toEqual(expected);
	});

	it("uses default_weight for pools without a weight, and 1 without either", () => {
		const base = { defaultPools: ["a", "b"], poolWeights: { a: 0 }, random: () => 0 };
		expect(randomSteering.order(anInput({ ...base, defaultWeight: 0.5 }))).toEqual(["b", "a"]);
		expect(randomSteering.order(anInput({ ...base, poolWeights: {}, defaultWeight: 0 }))[0]).toBe("a");
		expect(randomSteering.order(anInput({ defaultPools: ["a", "b"], random: () => 0.6 }))).toEqual(["b", "a"]);
	});

	it("never draws an unhealthy pool, and lists the other healthy pools in default order", () => {
		const random = seeded(7);
		for (let i = 0; i < 500; i++) {
			const order = randomSteering.order(anInput({ defaultPools: ["a", "b", "c", "d"], random }, "c"));
			expect([...order].sort()).toEqual(["a", "b", "d"]);
			expect(order.slice(1)).toEqual(["a", "b", "d"].filter((poolId) => poolId !== order[0]));
		}
	});

	it("splits weights 0.2/0.8 about 20/80 over 10,000 seeded draws", () => {
		const random = seeded(42);
		const counts: Record<string, number> = { light: 0, heavy: 0 };
		for (let i = 0; i < 10_000; i++) {
			const [first] = randomSteering.order(
				anInput({ defaultPools: ["light", "heavy"], poolWeights: { light: 0.2, heavy: 0.8 }, random }),
			);
			counts[first as string] = (counts[first as string] ?? 0) + 1;
		}
		expect(counts.light).toBeGreaterThan(1_800);
		expect(counts.light).toBeLessThan(2_200);
		expect((counts.light ?? 0) + (counts.heavy ?? 0)).toBe(10_000);
	});

	it("calls random once per order", () => {
		let calls = 0;
		randomSteering.order(
			anInput({
				random: () => {
					calls++;
					return 0.5;
				},
			}),
		);
		expect(calls).toBe(1);
	});
});
