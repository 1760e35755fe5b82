import { describe, expect, it } from "vitest";
import type { Candidate } from "../../../src/balancing/policy";
import { weightedRandom } from "../../../src/balancing/random";
import { runPolicyContract } from "./contract";

runPolicyContract({ name: "random", make: weightedRandom });

const c = (key: string, weight = 1): Candidate => ({ key, weight });
const pickWith = (candidates: readonly Candidate[], value: number) =>
	weightedRandom().pick(candidates, { random: () => value })?.key;

const JUST_BELOW_ONE = 1 - Number.EPSILON;

describe("weightedRandom", () => {
	it("is named random", () => {
		expect(weightedRandom().name).toBe("random");
	});

	it.each([
		{ name: "random 0 picks the first", candidates: [c("a"), c("b"), c("c")], random: 0, expected: "a" },
		{
			name: "just below 1 picks the last",
			candidates: [c("a"), c("b"), c("c")],
			random: JUST_BELOW_ONE,
			expected: "c",
		},
		{ name: "a third of the way picks the second", candidates: [c("a"), c("b"), c("c")], random: 0.34, expected: "b" },
		{
			name: "3:1 below 0.75 picks the heavy one",
			candidates: [c("a", 0.75), c("b", 0.25)],
			random: 0.7499,
			expected: "a",
		},
		{ name: "3:1 at 0.75 picks the light one", candidates: [c("a", 0.75), c("b", 0.25)], random: 0.75, expected: "b" },
		{
			name: "3:1 just below 1 picks the light one",
			candidates: [c("a", 0.75), c("b", 0.25)],
			random: JUST_BELOW_ONE,
			expected: "b",
		},
		{
			name: "fractional weights at the boundary",
			candidates: [c("a", 0.1), c("b", 0.2)],
			random: JUST_BELOW_ONE,
			expected: "b",
		},
		{ name: "a single candidate", candidates: [c("only", 0.3)], random: 0.9, expected: "only" },
		{
			name: "a zero-weight first candidate is skipped at 0",
			candidates: [c("zero", 0), c("b")],
			random: 0,
			expected: "b",
		},
		{
			name: "a zero-weight last candidate is skipped at ~1",
			candidates: [c("a"), c("zero", 0)],
			random: JUST_BELOW_ONE,
			expected: "a",
		},
	])("$name", ({ candidates, random, expected }) => {
		expect(pickWith(candidates, random)).toBe(expected);
	});

	it.each([
		{ name: "no candidates", candidates: [] },
		{ name: "zero total weight", candidates: [c("a", 0), c("b", 0)] },
	])("returns undefined for $name", ({ candidates }) => {
		expect(pickWith(candidates, 0.5)).toBeUndefined();
	});

	it("splits 3:1 weights 750/250 over an even spread of random values", () => {
		const policy = weightedRandom();
		const counts = new Map<string, number>();
		for (let i = 0; i < 1000; i++) {
			const key = policy.pick([c("a", 0.75), c("b", 0.25)], { random: () => i / 1000 })?.key ?? "none";
			counts.set(key, (counts.get(key) ?? 0) + 1);
		}
		expect(Object.fromEntries(counts)).toEqual({ a: 750, b: 250 });
	});

	it("calls random once per pick", () => {
		let calls = 0;
		weightedRandom().pick([c("a"), c("b")], {
			random: () => {
				calls++;
				return 0.5;
			},
		});
		expect(calls).toBe(1);
	});
});
