import { describe, expect, it } from "vitest";
import { leastConnections, leastOutstandingRequests } from "../../../src/balancing/least-connections";
import type { Candidate } from "../../../src/balancing/policy";
import { runPolicyContract } from "./contract";

runPolicyContract({ name: "least_connections", make: leastConnections, loadAware: true });
runPolicyContract({ name: "least_outstanding_requests", make: leastOutstandingRequests, loadAware: true });

const c = (key: string, weight = 1): Candidate => ({ key, weight });
const counts = (table: Record<string, number | undefined>) => (key: string) => table[key] ?? 0;

describe("leastConnections", () => {
	it.each([
		{
			name: "fewest in flight wins",
			candidates: [c("a"), c("b"), c("c")],
			inFlight: { a: 3, b: 1, c: 2 },
			expected: "b",
		},
		{ name: "an idle one beats busy ones", candidates: [c("a"), c("b")], inFlight: { a: 1 }, expected: "b" },
		{
			name: "in flight is divided by weight (a 2/1 = 2 beats b 1/0.25 = 4)",
			candidates: [c("a", 1), c("b", 0.25)],
			inFlight: { a: 2, b: 1 },
			expected: "a",
		},
		{
			name: "a heavy origin may carry more (3/1 = 3 beats 2/0.5 = 4)",
			candidates: [c("heavy", 1), c("light", 0.5)],
			inFlight: { heavy: 3, light: 2 },
			expected: "heavy",
		},
		{ name: "negative counts count as 0", candidates: [c("a"), c("b")], inFlight: { a: 1, b: -5 }, expected: "b" },
	])("$name", ({ candidates, inFlight, expected }) => {
		expect(leastConnections().pick(candidates, { random: () => 0, inFlight: counts(inFlight) })?.key).toBe(expected);
	});

	it.each([
		{ name: "no counter", inFlight: undefined },
		{ name: "all idle", inFlight: () => 0 },
		{ name: "all equally busy", inFlight: () => 7 },
	])("rotates a, b, c, a… over tied candidates ($name)", ({ inFlight }) => {
		const policy = leastConnections();
		const candidates = [c("a"), c("b"), c("c")];
		const picks = Array.from({ length: 7 }, () => policy.pick(candidates, { random: () => 0, inFlight })?.key);
		expect(picks).toEqual(["a", "b", "c", "a", "b", "c", "a"]);
	});

	it("treats equal load per weight as a tie despite rounding (7/0.07 = 99.999…99 and 1/0.01 = 100)", () => {
		const policy = leastConnections();
		const candidates = [c("a", 0.07), c("b", 0.01)];
		const inFlight = counts({ a: 7, b: 1 });
		const picks = Array.from({ length: 4 }, () => policy.pick(candidates, { random: () => 0, inFlight })?.key);
		expect(picks).toEqual(["a", "b", "a", "b"]);
	});

	it("rotates only among the least loaded", () => {
		const policy = leastConnections();
		const candidates = [c("a"), c("busy"), c("b")];
		const inFlight = counts({ busy: 1 });
		const picks = Array.from({ length: 4 }, () => policy.pick(candidates, { random: () => 0, inFlight })?.key);
		expect(picks).toEqual(["a", "b", "a", "b"]);
	});

	it("follows the counts as they change between picks", () => {
		const policy = leastConnections();
		const candidates = [c("a"), c("b"), c("c")];
		const table: Record<string, number> = {};
		for (let i = 0; i < 9; i++) {
			const key = policy.pick(candidates, { random: () => 0, inFlight: counts(table) })?.key ?? "none";
			table[key] = (table[key] ?? 0) + 1; // the request stays in flight
		}
		expect(Object.values(table)).toEqual([3, 3, 3]);
	});

	it("never picks a candidate without a positive weight", () => {
		const policy = leastConnections();
		for (let i = 0; i < 4; i++) {
			expect(policy.pick([c("zero", 0), c("a")], { random: () => 0 })?.key).toBe("a");
		}
		expect(policy.pick([c("zero", 0)], { random: () => 0 })).toBeUndefined();
	});
});
