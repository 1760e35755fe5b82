import { describe, expect, it } from "vitest";
import { p2c, sampleTwo } from "../../../src/balancing/p2c";
import type { Candidate } from "../../../src/balancing/policy";
import { sequence } from "../../fixtures/fetch";
import { runPolicyContract, seeded } from "./contract";

runPolicyContract({ name: "p2c", make: p2c, loadAware: true });

const c = (key: string, weight = 1): Candidate => ({ key, weight });
const counts = (table: Record<string, number | undefined>) => (key: string) => table[key] ?? 0;
const [a, b, x, d] = [c("a"), c("b"), c("c"), c("d")];

describe("sampleTwo", () => {
	it.each([
		{ name: "low values", candidates: [a, b, x, d], random: [0.1, 0.1], expected: ["a", "b"] },
		{ name: "high values", candidates: [a, b, x, d], random: [0.9, 0.9], expected: ["d", "c"] },
		{ name: "the second skips the first", candidates: [a, b, x, d], random: [0.3, 0.3], expected: ["b", "a"] },
		{ name: "mid values", candidates: [a, b, x, d], random: [0.6, 0.5], expected: ["c", "b"] },
		{ name: "by weight", candidates: [c("a", 0.25), c("b", 0.75)], random: [0.2, 0.99], expected: ["a", "b"] },
		{
			name: "by weight, heavy first",
			candidates: [c("a", 0.25), c("b", 0.75)],
			random: [0.3, 0],
			expected: ["b", "a"],
		},
		{ name: "zero weight is never drawn", candidates: [c("z", 0), a, b], random: [0, 0], expected: ["a", "b"] },
		{ name: "one candidate", candidates: [a], random: [0.5, 0.5], expected: ["a"] },
		{ name: "one with weight", candidates: [a, c("z", 0)], random: [0.9, 0.9], expected: ["a"] },
		{ name: "none with weight", candidates: [c("z", 0)], random: [0.9], expected: [] },
		{ name: "no candidates", candidates: [], random: [0.5], expected: [] },
	])("$name: $random → $expected", ({ candidates, random, expected }) => {
		expect(sampleTwo(candidates, sequence(...random)).map((candidate) => candidate.key)).toEqual(expected);
	});

	it("always draws two distinct candidates", () => {
		const random = seeded(11);
		for (let i = 0; i < 1000; i++) {
			const [first, second] = sampleTwo([a, b, x], random);
			expect(first).not.toBe(second);
		}
	});

	it("draws first candidates in proportion to weight", () => {
		const candidates = [c("a", 0.25), c("b", 0.75)];
		const firsts: Record<string, number> = {};
		for (let i = 0; i < 1000; i++) {
			const key = sampleTwo(candidates, sequence(i / 1000, 0.5))[0]?.key ?? "none";
			firsts[key] = (firsts[key] ?? 0) + 1;
		}
		expect(firsts).toEqual({ a: 250, b: 750 });
	});
});

describe("p2c", () => {
	it.each([
		{ name: "keeps the less loaded of the two sampled", random: [0.1, 0.1], inFlight: { a: 5, b: 1 }, expected: "b" },
		{ name: "…whichever was sampled first", random: [0.3, 0.3], inFlight: { a: 1, b: 5 }, expected: "a" },
		{
			name: "ignores an unsampled idle candidate",
			random: [0.1, 0.1],
			inFlight: { a: 5, b: 4, c: 0, d: 0 },
			expected: "b",
		},
		{ name: "a tie keeps the first sample", random: [0.9, 0.9], inFlight: { c: 2, d: 2 }, expected: "d" },
		{ name: "no counts is a tie", random: [0.6, 0.5], inFlight: {}, expected: "c" },
	])("$name", ({ random, inFlight, expected }) => {
		expect(p2c().pick([a, b, x, d], { random: sequence(...random), inFlight: counts(inFlight) })?.key).toBe(expected);
	});

	it.each([
		{
			name: "a light origin with fewer requests can still be the busier",
			inFlight: { heavy: 3, light: 2 },
			expected: "heavy",
		},
		{
			name: "a heavy origin with twice the requests of a half-weight one ties",
			inFlight: { heavy: 2, light: 1 },
			expected: "heavy",
		},
		{ name: "a light idle origin beats a busy heavy one", inFlight: { heavy: 1, light: 0 }, expected: "light" },
	])("compares in flight per unit of weight: $name", ({ inFlight, expected }) => {
		const candidates = [c("heavy", 1), c("light", 0.5)];
		// 0.1 draws heavy first, then light.
		expect(p2c().pick(candidates, { random: sequence(0.1, 0.5), inFlight: counts(inFlight) })?.key).toBe(expected);
	});

	it("splits idle traffic by weight, like random", () => {
		const policy = p2c();
		const candidates = [c("a", 0.25), c("b", 0.75)];
		const picked: Record<string, number> = {};
		for (let i = 0; i < 1000; i++) {
			const key = policy.pick(candidates, { random: sequence(i / 1000, 0.5) })?.key ?? "none";
			picked[key] = (picked[key] ?? 0) + 1;
		}
		expect(picked).toEqual({ a: 250, b: 750 });
	});

	it("never picks the busiest of three; the idlest gets about two thirds", () => {
		const policy = p2c();
		const random = seeded(12);
		const inFlight = counts({ a: 0, b: 1, c: 2 });
		const picked: Record<string, number> = { a: 0, b: 0, c: 0 };
		for (let i = 0; i < 3000; i++) {
			const key = policy.pick([a, b, x], { random, inFlight })?.key ?? "none";
			picked[key] = (picked[key] ?? 0) + 1;
		}
		expect(picked.c).toBe(0);
		expect(Math.abs((picked.a ?? 0) / 3000 - 2 / 3)).toBeLessThan(0.03);
	});

	it.each([
		{ candidates: [a], calls: 1 },
		{ candidates: [a, b, x], calls: 2 },
	])("calls random $calls time(s) for $candidates.length candidate(s)", ({ candidates, calls }) => {
		let made = 0;
		p2c().pick(candidates, {
			random: () => {
				made++;
				return 0.5;
			},
		});
		expect(made).toBe(calls);
	});
});
