import { describe, expect, it } from "vitest";
import type { Candidate } from "../../../src/balancing/policy";
import { weightedRoundRobin } from "../../../src/balancing/weighted-round-robin";
import { runPolicyContract } from "./contract";

runPolicyContract({ name: "weighted_round_robin", make: weightedRoundRobin });

const c = (key: string, weight = 1): Candidate => ({ key, weight });
const ctx = { random: () => 0 };

function picks(policy: ReturnType<typeof weightedRoundRobin>, candidates: readonly Candidate[], n: number): string[] {
	return Array.from({ length: n }, () => policy.pick(candidates, ctx)?.key ?? "none");
}

const NGINX_SEQUENCE = ["a", "a", "b", "a", "c", "a", "a"];

describe("weightedRoundRobin", () => {
	it.each([
		{ name: "whole weights 5, 1, 1", weights: [5, 1, 1] },
		{ name: "normalised weights 1, 0.2, 0.2", weights: [1, 0.2, 0.2] },
	])("gives nginx's smooth sequence a, a, b, a, c, a, a for $name, round after round", ({ weights }) => {
		const candidates = ["a", "b", "c"].map((key, at) => c(key, weights[at]));
		const policy = weightedRoundRobin();
		for (let round = 0; round < 50; round++) expect(picks(policy, candidates, 7)).toEqual(NGINX_SEQUENCE);
	});

	it.each([
		{ weights: [1, 1], expected: ["a", "b", "a", "b"] },
		{ weights: [2, 1], expected: ["a", "b", "a", "a", "b", "a"] },
		{ weights: [0.5, 0.25, 0.25], expected: ["a", "b", "c", "a", "a", "b", "c", "a"] },
		{ weights: [1, 1, 1], expected: ["a", "b", "c", "a", "b", "c"] },
	])("weights $weights give $expected", ({ weights, expected }) => {
		const candidates = weights.map((weight, at) => c(["a", "b", "c"][at] as string, weight));
		expect(picks(weightedRoundRobin(), candidates, expected.length)).toEqual(expected);
	});

	it.each([
		{ weights: [0.7, 0.2, 0.1], picks: 1000, expected: { a: 700, b: 200, c: 100 } },
		{ weights: [1 / 3, 2 / 3], picks: 300, expected: { a: 100, b: 200 } },
		{ weights: [0.01, 1], picks: 101, expected: { a: 1, b: 100 } },
	])("serves exactly the weighted shares over whole rounds ($weights)", ({ weights, picks: n, expected }) => {
		const candidates = weights.map((weight, at) => c(["a", "b", "c"][at] as string, weight));
		const counts: Record<string, number> = {};
		for (const key of picks(weightedRoundRobin(), candidates, n)) counts[key] = (counts[key] ?? 0) + 1;
		expect(counts).toEqual(expected);
	});

	it("keeps the others' state when a candidate leaves and comes back", () => {
		const [a, b, x] = [c("a", 5), c("b", 1), c("c", 1)];
		const policy = weightedRoundRobin();
		expect(picks(policy, [a, b, x], 3)).toEqual(["a", "a", "b"]);
		// c leaves: a and b carry on from their current values (a 1, b -4) rather than starting over.
		expect(picks(policy, [a, b], 6)).toEqual(["a", "a", "a", "a", "a", "b"]);
		// c is back with the value it had when it left.
		const after = picks(policy, [a, b, x], 7);
		expect(after.filter((key) => key === "a")).toHaveLength(5);
		expect(after.filter((key) => key === "c")).toHaveLength(1);
	});

	it.each([
		{ order: ["a", "b", "c"], expected: "b" },
		{ order: ["c", "b", "a"], expected: "c" },
	])("breaks a tie in favour of the first in the list ($order)", ({ order, expected }) => {
		const policy = weightedRoundRobin();
		const byKey = { a: c("a", 5), b: c("b", 1), c: c("c", 1) };
		picks(policy, [byKey.a, byKey.b, byKey.c], 2);
		// Now a -4, b 2, c 2; the next pick makes them 1, 3, 3.
		expect(
			policy.pick(
				order.map((key) => byKey[key as keyof typeof byKey]),
				ctx,
			)?.key,
		).toBe(expected);
	});

	it("gives each instance its own weights", () => {
		const first = weightedRoundRobin();
		const second = weightedRoundRobin();
		first.pick([c("a", 1), c("b", 1)], ctx);
		expect(second.pick([c("a", 1), c("b", 1)], ctx)?.key).toBe("a");
	});

	it("skips candidates without a positive weight and returns undefined when none has one", () => {
		const policy = weightedRoundRobin();
		expect(picks(policy, [c("zero", 0), c("a")], 3)).toEqual(["a", "a", "a"]);
		expect(policy.pick([c("zero", 0), c("nan", Number.NaN)], ctx)).toBeUndefined();
	});
});
