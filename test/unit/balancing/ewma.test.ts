import { describe, expect, it } from "vitest";
import { costOf, type PeakEwma, peakEwma, UNMEASURED_PENALTY_MS, updatePeakEwma } from "../../../src/balancing/ewma";
import type { Candidate, PickContext } from "../../../src/balancing/policy";
import { sequence } from "../../fixtures/fetch";
import { runPolicyContract, seeded } from "./contract";

runPolicyContract({ name: "ewma", make: peakEwma, loadAware: true });

const c = (key: string, weight = 1): Candidate => ({ key, weight });
const table =
	<T>(values: Record<string, T | undefined>) =>
	(key: string): T | undefined =>
		values[key];

describe("costOf", () => {
	it.each([
		{ name: "latency × (in flight + 1)", latency: 10, inFlight: 2, expected: 30 },
		{ name: "an idle measured origin costs its latency", latency: 10, inFlight: 0, expected: 10 },
		{ name: "an unmeasured idle origin costs 0, so it is tried", latency: undefined, inFlight: 0, expected: 0 },
		{
			name: "an unmeasured busy origin costs the penalty plus its requests",
			latency: undefined,
			inFlight: 3,
			expected: UNMEASURED_PENALTY_MS + 3,
		},
		{ name: "0 ms counts as unmeasured (Finagle)", latency: 0, inFlight: 1, expected: UNMEASURED_PENALTY_MS + 1 },
		{ name: "NaN latency counts as unmeasured", latency: Number.NaN, inFlight: 0, expected: 0 },
		{ name: "negative in flight counts as idle", latency: 10, inFlight: -2, expected: 10 },
	])("$name", ({ latency, inFlight, expected }) => {
		const ctx: PickContext = { random: () => 0, inFlight: () => inFlight, latencyMs: () => latency };
		expect(costOf("k", ctx)).toBe(expected);
	});

	it("counts everything as idle and unmeasured without counters", () => {
		expect(costOf("k", { random: () => 0 })).toBe(0);
	});
});

describe("peakEwma", () => {
	// With four equal candidates, random values 0.1, 0.1 sample a then b; 0.9, 0.9 sample d then c.
	const candidates = [c("a"), c("b"), c("c"), c("d")];

	it.each([
		{ name: "the faster of the two sampled wins", latency: { a: 40, b: 10, c: 1, d: 1 }, inFlight: {}, expected: "b" },
		{
			name: "load counts: 10 ms with 4 in flight (50) loses to 30 ms idle",
			latency: { a: 10, b: 30 },
			inFlight: { a: 4 },
			expected: "b",
		},
		{ name: "an unmeasured idle origin is tried", latency: { a: 5 }, inFlight: {}, expected: "b" },
		{
			name: "an unmeasured origin already probed loses to a slow measured one",
			latency: { a: 900 },
			inFlight: { a: 3, b: 1 },
			expected: "a",
		},
		{ name: "a tie keeps the first sample", latency: { a: 20, b: 20 }, inFlight: {}, expected: "a" },
	])("$name", ({ latency, inFlight, expected }) => {
		const ctx: PickContext = {
			random: sequence(0.1, 0.1),
			latencyMs: table<number>(latency),
			inFlight: (key) => table<number>(inFlight)(key) ?? 0,
		};
		expect(peakEwma().pick(candidates, ctx)?.key).toBe(expected);
	});

	it("never picks the costliest of three; the cheapest gets about two thirds (sampling, not herding)", () => {
		const policy = peakEwma();
		const random = seeded(21);
		const latencyMs = table<number>({ a: 10, b: 20, c: 30 });
		const picked: Record<string, number> = { a: 0, b: 0, c: 0 };
		for (let i = 0; i < 3000; i++) {
			const key = policy.pick([c("a"), c("b"), c("c")], { random, latencyMs })?.key ?? "none";
			picked[key] = (picked[key] ?? 0) + 1;
		}
		expect(picked.c).toBe(0);
		expect(Math.abs((picked.a ?? 0) / 3000 - 2 / 3)).toBeLessThan(0.03);
	});

	it("splits traffic by weight when costs are equal", () => {
		const policy = peakEwma();
		const weighted = [c("a", 0.25), c("b", 0.75)];
		const picked: Record<string, number> = {};
		for (let i = 0; i < 1000; i++) {
			const key = policy.pick(weighted, { random: sequence(i / 1000, 0.5), latencyMs: () => 10 })?.key ?? "none";
			picked[key] = (picked[key] ?? 0) + 1;
		}
		expect(picked).toEqual({ a: 250, b: 750 });
	});
});

describe("updatePeakEwma", () => {
	const at = 1_700_000_000_000;
	const e = Math.exp(-1);
	it.each([
		{ name: "the first sample is the value", previous: undefined, sample: 42, now: at, expected: { valueMs: 42, at } },
		{
			name: "a higher sample replaces the value at once (peak)",
			previous: { valueMs: 20, at },
			sample: 300,
			now: at + 1,
			expected: { valueMs: 300, at: at + 1 },
		},
		{
			name: "a lower sample after one decay period weighs 1 - 1/e",
			previous: { valueMs: 100, at },
			sample: 20,
			now: at + 10_000,
			expected: { valueMs: 100 * e + 20 * (1 - e), at: at + 10_000 },
		},
		{
			name: "a lower sample at the same instant changes nothing",
			previous: { valueMs: 100, at },
			sample: 20,
			now: at,
			expected: { valueMs: 100, at },
		},
		{
			name: "a lower sample long after replaces the value",
			previous: { valueMs: 100, at },
			sample: 20,
			now: at + 1_000_000,
			expected: { valueMs: 20, at: at + 1_000_000 },
		},
		{
			name: "an equal sample keeps the value",
			previous: { valueMs: 50, at },
			sample: 50,
			now: at + 5000,
			expected: { valueMs: 50, at: at + 5000 },
		},
		{
			name: "a clock going backwards counts as no time passed",
			previous: { valueMs: 100, at },
			sample: 20,
			now: at - 5000,
			expected: { valueMs: 100, at },
		},
		{
			name: "a NaN sample is ignored",
			previous: { valueMs: 100, at },
			sample: Number.NaN,
			now: at + 1,
			expected: { valueMs: 100, at },
		},
		{
			name: "a negative sample is ignored",
			previous: { valueMs: 100, at },
			sample: -5,
			now: at + 1,
			expected: { valueMs: 100, at },
		},
		{
			name: "an infinite sample is ignored",
			previous: { valueMs: 100, at },
			sample: Number.POSITIVE_INFINITY,
			now: at + 1,
			expected: { valueMs: 100, at },
		},
		{
			name: "an invalid first sample counts as 0",
			previous: undefined,
			sample: Number.NaN,
			now: at,
			expected: { valueMs: 0, at },
		},
		{
			name: "a corrupt previous value is replaced by the sample",
			previous: { valueMs: Number.NaN, at },
			sample: 30,
			now: at + 1,
			expected: { valueMs: 30, at: at + 1 },
		},
	])("$name", ({ previous, sample, now, expected }) => {
		const next = updatePeakEwma(previous, sample, now);
		expect(next.at).toBe(expected.at);
		expect(next.valueMs).toBeCloseTo(expected.valueMs, 9);
	});

	it.each([
		{ decayMs: 1000, elapsed: 1000, expected: 100 * Math.exp(-1) + 20 * (1 - Math.exp(-1)) },
		{ decayMs: 1000, elapsed: 500, expected: 100 * Math.exp(-0.5) + 20 * (1 - Math.exp(-0.5)) },
		{ decayMs: 0, elapsed: 1, expected: 20 },
	])("decays over decayMs $decayMs ($elapsed ms elapsed)", ({ decayMs, elapsed, expected }) => {
		const at = 1000;
		expect(updatePeakEwma({ valueMs: 100, at }, 20, at + elapsed, decayMs).valueMs).toBeCloseTo(expected, 9);
	});

	it("recovers gradually from a spike: monotone, 20 + 480·e^(-t/10 s) after t seconds", () => {
		let ewma: PeakEwma = updatePeakEwma(undefined, 20, 0);
		ewma = updatePeakEwma(ewma, 500, 1000);
		const values: number[] = [];
		for (let t = 2000; t <= 61_000; t += 1000) {
			ewma = updatePeakEwma(ewma, 20, t);
			values.push(ewma.valueMs);
		}
		expect(values[0]).toBeGreaterThan(400);
		for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1] as number);
		expect(values[9]).toBeCloseTo(20 + 480 * Math.exp(-1), 9);
		expect(values.at(-1)).toBeCloseTo(20 + 480 * Math.exp(-6), 9);
	});

	it("does not modify the previous value", () => {
		const previous = Object.freeze({ valueMs: 100, at: 0 });
		updatePeakEwma(previous, 20, 5000);
		updatePeakEwma(previous, 200, 5000);
		expect(previous).toEqual({ valueMs: 100, at: 0 });
	});
});
