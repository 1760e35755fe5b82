import { describe, expect, it } from "vitest";
import { type Candidate, toAttemptOrder } from "../../../src/balancing/policy";

const [a, b, c, d] = ["a", "b", "c", "d"].map((key): Candidate => ({ key, weight: 1 })) as [
	Candidate,
	Candidate,
	Candidate,
	Candidate,
];

describe("toAttemptOrder", () => {
	it.each([
		{ first: a, expected: ["a", "b", "c", "d"] },
		{ first: b, expected: ["b", "c", "d", "a"] },
		{ first: c, expected: ["c", "d", "a", "b"] },
		{ first: d, expected: ["d", "a", "b", "c"] },
	])("puts $first.key first, then the rest in wrap-around order", ({ first, expected }) => {
		expect(toAttemptOrder([a, b, c, d], first).map((x) => x.key)).toEqual(expected);
	});

	it("is empty when nothing was picked", () => {
		expect(toAttemptOrder([a, b], undefined)).toEqual([]);
	});

	it("holds each candidate exactly once", () => {
		const order = toAttemptOrder([a, b, c], b);
		expect(order).toHaveLength(3);
		expect(new Set(order)).toEqual(new Set([a, b, c]));
	});

	it("does not modify its input", () => {
		const candidates = [a, b, c];
		toAttemptOrder(candidates, c);
		expect(candidates).toEqual([a, b, c]);
	});
});
