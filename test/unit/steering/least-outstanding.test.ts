import { describe, expect, it } from "vitest";
import { leastConnections, leastOutstandingRequests } from "../../../src/steering/least-outstanding";
import type { PoolFacts } from "../../../src/steering/policy";
import { anInput } from "./world";

const withLoad = (table: Record<string, Pick<PoolFacts, "inFlight" | "capacity"> | undefined>, ...down: string[]) =>
	anInput(
		{ defaultPools: Object.keys(table), facts: (poolId) => table[poolId] ?? { inFlight: 0, capacity: 1 } },
		...down,
	);

describe.each([
	{ policy: leastOutstandingRequests, name: "least_outstanding_requests" },
	{ policy: leastConnections, name: "least_connections" },
])("$name", ({ policy, name }) => {
	it(`is named ${name}`, () => {
		expect(policy.name).toBe(name);
	});

	it.each([
		{
			name: "prefers the idle pool",
			table: { busy: { inFlight: 40, capacity: 1 }, idle: { inFlight: 2, capacity: 1 } },
			down: [],
			expected: ["idle", "busy"],
		},
		{
			name: "prefers the relatively idle pool: 10 on capacity 4 beats 6 on capacity 1",
			table: { small: { inFlight: 6, capacity: 1 }, big: { inFlight: 10, capacity: 4 } },
			down: [],
			expected: ["big", "small"],
		},
		{
			name: "keeps default order when every pool is idle",
			table: { a: { inFlight: 0, capacity: 1 }, b: { inFlight: 0, capacity: 0.5 }, c: { inFlight: 0, capacity: 2 } },
			down: [],
			expected: ["a", "b", "c"],
		},
		{
			name: "treats equal ratios as ties (3 / 0.3 and 1 / 0.1)",
			table: { a: { inFlight: 3, capacity: 0.3 }, b: { inFlight: 1, capacity: 0.1 } },
			down: [],
			expected: ["a", "b"],
		},
		{
			name: "puts a pool without capacity last",
			table: { empty: { inFlight: 0, capacity: 0 }, loaded: { inFlight: 50, capacity: 1 } },
			down: [],
			expected: ["loaded", "empty"],
		},
		{
			name: "counts NaN and negative in-flight as idle",
			table: {
				a: { inFlight: 5, capacity: 1 },
				b: { inFlight: Number.NaN, capacity: 1 },
				c: { inFlight: -3, capacity: 1 },
			},
			down: [],
			expected: ["b", "c", "a"],
		},
		{
			name: "skips the idle pool when it is down",
			table: {
				busy: { inFlight: 40, capacity: 1 },
				idle: { inFlight: 0, capacity: 1 },
				mid: { inFlight: 10, capacity: 1 },
			},
			down: ["idle"],
			expected: ["mid", "busy"],
		},
	])("$name", ({ table, down, expected }) => {
		expect(policy.order(withLoad(table, ...down))).toEqual(expected);
	});

	it("keeps default order without pool facts", () => {
		expect(policy.order(anInput({ facts: undefined }))).toEqual(["us-east", "eu", "us-west"]);
	});
});
