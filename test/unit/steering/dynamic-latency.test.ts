import { describe, expect, it } from "vitest";
import { dynamicLatency } from "../../../src/steering/dynamic-latency";
import type { PoolFacts } from "../../../src/steering/policy";
import { anInput } from "./world";

const withFacts = (table: Record<string, Partial<PoolFacts> | undefined>, ...down: string[]) =>
	anInput(
		{ defaultPools: ["a", "b", "c", "d"], facts: (poolId) => ({ inFlight: 0, capacity: 1, ...table[poolId] }) },
		...down,
	);

describe("dynamic_latency", () => {
	it("is named dynamic_latency", () => {
		expect(dynamicLatency.name).toBe("dynamic_latency");
	});

	it.each([
		{
			name: "prefers the lower latency from the colo",
			table: {
				a: { latencyFromColoMs: 80 },
				b: { latencyFromColoMs: 20 },
				c: { latencyFromColoMs: 50 },
				d: { latencyFromColoMs: 90 },
			},
			down: [],
			expected: ["b", "c", "a", "d"],
		},
		{
			name: "colo latency beats a lower health-check RTT",
			table: { a: { rttMs: 5 }, b: { latencyFromColoMs: 40, rttMs: 100 }, c: {}, d: { latencyFromColoMs: 30 } },
			down: [],
			expected: ["d", "b", "a", "c"],
		},
		{
			name: "falls back to RTT without colo latency",
			table: { a: { rttMs: 70 }, b: { rttMs: 10 }, c: { rttMs: 30 }, d: {} },
			down: [],
			expected: ["b", "c", "a", "d"],
		},
		{
			name: "keeps default order with no measurements",
			table: {},
			down: [],
			expected: ["a", "b", "c", "d"],
		},
		{
			name: "keeps default order for equal latencies",
			table: {
				a: { latencyFromColoMs: 10 },
				b: { latencyFromColoMs: 10 },
				c: { latencyFromColoMs: 10 },
				d: { latencyFromColoMs: 10 },
			},
			down: [],
			expected: ["a", "b", "c", "d"],
		},
		{
			name: "ignores NaN and negative measurements",
			table: { a: { latencyFromColoMs: Number.NaN, rttMs: 20 }, b: { latencyFromColoMs: -1 }, c: { rttMs: 10 }, d: {} },
			down: [],
			expected: ["c", "a", "b", "d"],
		},
		{
			name: "skips the fastest pool when it is down",
			table: { a: { latencyFromColoMs: 30 }, b: { latencyFromColoMs: 10 }, c: { latencyFromColoMs: 20 }, d: {} },
			down: ["b"],
			expected: ["c", "a", "d"],
		},
	])("$name", ({ table, down, expected }) => {
		expect(dynamicLatency.order(withFacts(table, ...down))).toEqual(expected);
	});

	it("keeps default order without pool facts", () => {
		expect(dynamicLatency.order(anInput({ facts: undefined }))).toEqual(["us-east", "eu", "us-west"]);
	});
});
