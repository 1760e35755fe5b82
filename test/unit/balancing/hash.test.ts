import { describe, expect, it } from "vitest";
import { consistentHash, murmur3, POINTS_PER_WEIGHT, pointsFor } from "../../../src/balancing/hash";
import type { Candidate } from "../../../src/balancing/policy";
import { runPolicyContract } from "./contract";

runPolicyContract({ name: "hash", make: consistentHash });

const c = (key: string, weight = 1): Candidate => ({ key, weight });
const origins = (n: number, prefix = "pool/o") => Array.from({ length: n }, (_, i) => c(`${prefix}${i}`));

/** 10,000 client addresses, as the hash key would carry them. */
const KEYS = Array.from({ length: 10_000 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);

function assign(candidates: readonly Candidate[], keys = KEYS): Map<string, string> {
	const policy = consistentHash();
	return new Map(keys.map((key) => [key, policy.pick(candidates, { random: () => 0, hashKey: key })?.key ?? "none"]));
}

function moved(before: Map<string, string>, after: Map<string, string>): string[] {
	return [...before.keys()].filter((key) => before.get(key) !== after.get(key));
}

function shares(assignment: Map<string, string>): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const origin of assignment.values()) counts[origin] = (counts[origin] ?? 0) + 1 / assignment.size;
	return counts;
}

describe("murmur3", () => {
	it.each([
		{ text: "", seed: 0, expected: 0 },
		{ text: "", seed: 1, expected: 0x514e28b7 },
		{ text: "hello", seed: 0, expected: 0x248bfa47 },
		{ text: "The quick brown fox jumps over the lazy dog", seed: 0, expected: 0x2e4ff723 },
	])("matches the reference value for $text (seed $seed)", ({ text, seed, expected }) => {
		expect(murmur3(text, seed)).toBe(expected);
	});

	it("hashes every tail length and non-ASCII text to unsigned 32-bit values", () => {
		for (const text of ["a", "ab", "abc", "abcd", "abcde", "café", "東京"]) {
			const hash = murmur3(text);
			expect(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 32).toBe(true);
		}
		expect(murmur3("café")).not.toBe(murmur3("cafe"));
	});
});

describe("consistentHash", () => {
	it.each([
		{ weight: 1, expected: POINTS_PER_WEIGHT },
		{ weight: 0.5, expected: POINTS_PER_WEIGHT / 2 },
		{ weight: 0.001, expected: 1 },
		{ weight: 0, expected: 0 },
		{ weight: 1e9, expected: 100 * POINTS_PER_WEIGHT },
	])("gives weight $weight $expected points on the ring", ({ weight, expected }) => {
		expect(pointsFor(weight)).toBe(expected);
	});

	it("sends the same key to the same origin, across picks and instances", () => {
		const candidates = origins(5);
		const first = consistentHash();
		const chosen = first.pick(candidates, { random: () => 0, hashKey: "203.0.113.7" });
		for (let i = 0; i < 10; i++) {
			expect(first.pick(candidates, { random: () => 0.9, hashKey: "203.0.113.7" })).toBe(chosen);
			expect(consistentHash().pick(candidates, { random: () => 0.5, hashKey: "203.0.113.7" })).toBe(chosen);
		}
	});

	it("does not depend on the order of the candidates", () => {
		const candidates = origins(6);
		const reversed = [...candidates].reverse();
		const policy = consistentHash();
		for (const key of KEYS.slice(0, 500)) {
			expect(policy.pick(reversed, { random: () => 0, hashKey: key })?.key).toBe(
				policy.pick(candidates, { random: () => 0, hashKey: key })?.key,
			);
		}
	});

	it("spreads 10,000 keys evenly over 3 equal origins (each 33% ± 3%)", () => {
		for (const share of Object.values(shares(assign(origins(3))))) expect(Math.abs(share - 1 / 3)).toBeLessThan(0.03);
	});

	it("moves 20–30% of 10,000 keys, all to the new origin, when a 4th joins 3 equal ones", () => {
		const before = assign(origins(3));
		const after = assign(origins(4));
		const keys = moved(before, after);
		expect(keys.length / KEYS.length).toBeGreaterThanOrEqual(0.2);
		expect(keys.length / KEYS.length).toBeLessThanOrEqual(0.3);
		for (const key of keys) expect(after.get(key)).toBe("pool/o3");
	});

	it("moves only the keys of an origin that leaves", () => {
		const four = origins(4);
		const before = assign(four);
		const after = assign(four.filter((candidate) => candidate.key !== "pool/o1"));
		const keys = moved(before, after);
		for (const key of keys) expect(before.get(key)).toBe("pool/o1");
		expect(keys.length).toBe([...before.values()].filter((origin) => origin === "pool/o1").length);
	});

	it("moves at most 3% of keys (1/51 ≈ 2% expected), all to the newcomer, when a 51st origin joins 50", () => {
		const before = assign(origins(50));
		const after = assign(origins(51));
		const keys = moved(before, after);
		expect(keys.length / KEYS.length).toBeLessThanOrEqual(0.03);
		expect(keys.length).toBeGreaterThan(0);
		for (const key of keys) expect(after.get(key)).toBe("pool/o50");
	});

	it.each([
		{ weights: [0.25, 0.75], expected: [0.25, 0.75] },
		{ weights: [1 / 3, 1], expected: [0.25, 0.75] },
		{ weights: [1, 1, 0.5], expected: [0.4, 0.4, 0.2] },
	])("splits keys by weight $weights within ±5%", ({ weights, expected }) => {
		const candidates = weights.map((weight, i) => c(`pool/o${i}`, weight));
		const split = shares(assign(candidates));
		candidates.forEach((candidate, i) => {
			expect(Math.abs((split[candidate.key] ?? 0) - (expected[i] ?? 0))).toBeLessThanOrEqual(0.05);
		});
	});

	it("changing one origin's weight moves keys only to or from that origin", () => {
		const before = assign([c("pool/a"), c("pool/b"), c("pool/c")]);
		const after = assign([c("pool/a"), c("pool/b", 0.5), c("pool/c")]);
		for (const key of moved(before, after)) expect(before.get(key)).toBe("pool/b");
	});

	it.each([
		{ name: "missing", hashKey: undefined },
		{ name: "empty", hashKey: "" },
	])("falls back to weighted random when the hash key is $name", ({ hashKey }) => {
		const candidates = [c("a", 0.25), c("b", 0.75)];
		const policy = consistentHash();
		expect(policy.pick(candidates, { random: () => 0.2, hashKey })?.key).toBe("a");
		expect(policy.pick(candidates, { random: () => 0.3, hashKey })?.key).toBe("b");
	});

	it("gives the same answers while the candidate set changes back and forth (ring cache)", () => {
		const all = origins(12);
		const sets = all.map((_, drop) => all.filter((_, i) => i !== drop));
		const keys = KEYS.slice(0, 50);
		const expected = sets.map((set) => [...assign(set, keys).values()]);
		const cached = consistentHash();
		for (let round = 0; round < 3; round++) {
			sets.forEach((set, at) => {
				expect(keys.map((key) => cached.pick(set, { random: () => 0, hashKey: key })?.key)).toEqual(expected[at]);
			});
		}
	});

	it("returns undefined when no candidate has a positive weight", () => {
		expect(consistentHash().pick([c("a", 0)], { random: () => 0, hashKey: "k" })).toBeUndefined();
	});
});
