import { describe, expect, it } from "vitest";
import type { Candidate } from "../../../src/balancing/policy";
import { roundRobin } from "../../../src/balancing/round-robin";
import { runPolicyContract } from "./contract";

runPolicyContract({ name: "round_robin", make: roundRobin });

const ctx = { random: () => 0 };
const c = (key: string, weight = 1): Candidate => ({ key, weight });
const [a, b, c3] = [c("a"), c("b"), c("c")];

function picks(
	policy: ReturnType<typeof roundRobin>,
	candidates: readonly Candidate[],
	n: number,
): (string | undefined)[] {
	return Array.from({ length: n }, () => policy.pick(candidates, ctx)?.key);
}

describe("roundRobin", () => {
	it("is named round_robin", () => {
		expect(roundRobin().name).toBe("round_robin");
	});

	it.each([
		{ candidates: [a], expected: ["a", "a", "a"] },
		{ candidates: [a, b], expected: ["a", "b", "a", "b"] },
		{ candidates: [a, b, c3], expected: ["a", "b", "c", "a", "b", "c"] },
	])("rotates strictly over $candidates.length candidates", ({ candidates, expected }) => {
		expect(picks(roundRobin(), candidates, expected.length)).toEqual(expected);
	});

	it("returns undefined when there are no candidates", () => {
		expect(roundRobin().pick([], ctx)).toBeUndefined();
	});

	it("ignores weights", () => {
		expect(picks(roundRobin(), [c("heavy", 1), c("light", 0.1)], 4)).toEqual(["heavy", "light", "heavy", "light"]);
	});

	it("keeps rotating over a candidate set that shrinks", () => {
		const policy = roundRobin();
		expect(picks(policy, [a, b, c3], 2)).toEqual(["a", "b"]);
		const next = picks(policy, [a, c3], 4);
		// Every remaining candidate is served, none twice in a row.
		expect(new Set(next.slice(0, 2))).toEqual(new Set(["a", "c"]));
		expect(new Set(next.slice(2, 4))).toEqual(new Set(["a", "c"]));
		for (let i = 1; i < next.length; i++) expect(next[i]).not.toBe(next[i - 1]);
	});

	it("keeps rotating over a candidate set that grows back", () => {
		const policy = roundRobin();
		picks(policy, [a], 3);
		expect(new Set(picks(policy, [a, b, c3], 3))).toEqual(new Set(["a", "b", "c"]));
	});

	it("an empty set in between does not break the rotation", () => {
		const policy = roundRobin();
		expect(policy.pick([a, b], ctx)?.key).toBe("a");
		expect(policy.pick([], ctx)).toBeUndefined();
		expect(policy.pick([a, b], ctx)?.key).toBe("b");
	});

	it("gives each instance its own cursor", () => {
		const first = roundRobin();
		const second = roundRobin();
		first.pick([a, b], ctx);
		expect(second.pick([a, b], ctx)?.key).toBe("a");
		expect(first.pick([a, b], ctx)?.key).toBe("b");
	});

	it("returns the candidate object itself", () => {
		const candidates = [{ key: "x", weight: 1, extra: 42 }];
		expect(roundRobin().pick(candidates, ctx)).toBe(candidates[0]);
	});
});
