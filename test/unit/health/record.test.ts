// Issue 11: how one check result changes an origin's health, moved out of the authority into health/record.ts.
import { describe, expect, it } from "vitest";
import { type Monitor, monitorSchema } from "../../../src/config/schema";
import type { ProbeResult } from "../../../src/health/probe";
import { applyProbeResult, RTT_EWMA_ALPHA } from "../../../src/health/record";
import { UNCHECKED } from "../../../src/health/state-machine";
import type { OriginHealth } from "../../../src/routing/routing-state";
import type { MonitorInput } from "../../fixtures/config";

const monitor = (overrides: Partial<MonitorInput> = {}): Monitor => monitorSchema.parse({ id: "mon", ...overrides });
const fresh = (): OriginHealth => ({ state: UNCHECKED });

let clock = 0;
const ok = (rttMs = 10): ProbeResult => ({ key: "p/a", ok: true, at: ++clock, rttMs, status: 200, reason: "200" });
const failed = (reason = "status 503, expected 200", rttMs = 5): ProbeResult => ({
	key: "p/a",
	ok: false,
	at: ++clock,
	rttMs,
	failure: "status",
	reason,
});

/** Applies `results` in order; what each call returned. */
function run(health: OriginHealth, rule: Monitor, results: ProbeResult[]): boolean[] {
	return results.map((result) => applyProbeResult(health, result, rule));
}

describe("applyProbeResult", () => {
	it.each([
		{ name: "0 behaves as 1", down: 0, up: 0, sequence: "✗✓", transitions: [true, true] },
		{
			name: "falls after consecutive_down failures",
			down: 3,
			up: 1,
			sequence: "✗✗✗",
			transitions: [false, false, true],
		},
		{
			name: "a success in between starts the count again",
			down: 2,
			up: 1,
			sequence: "✗✓✗✗",
			transitions: [false, false, false, true],
		},
		{
			name: "rises after consecutive_up successes",
			down: 1,
			up: 2,
			sequence: "✗✓✓✓",
			transitions: [true, false, true, false],
		},
		{
			name: "a failure in between starts the count again",
			down: 1,
			up: 2,
			sequence: "✗✓✗✓✓",
			transitions: [true, false, false, false, true],
		},
	])("$name: $sequence → $transitions", ({ down, up, sequence, transitions }) => {
		const health = fresh();
		const results = [...sequence].map((mark) => (mark === "✓" ? ok() : failed()));
		expect(run(health, monitor({ consecutive_down: down, consecutive_up: up }), results)).toEqual(transitions);
	});

	it("records when the state changed, and only then", () => {
		const health = fresh();
		const rule = monitor({ consecutive_down: 2 });
		const first = failed();
		const second = failed();
		run(health, rule, [first, second]);
		expect(health.state).toMatchObject({ healthy: false, changedAt: second.at });
		run(health, rule, [failed()]);
		expect(health.state.changedAt).toBe(second.at);
	});

	it("keeps the last check's time, reason and RTT, and the last failure's reason while checks pass again", () => {
		const health = fresh();
		const rule = monitor();
		run(health, rule, [failed("timeout after 5000 ms", 5000)]);
		expect(health).toMatchObject({
			lastReason: "timeout after 5000 ms",
			lastFailure: "timeout after 5000 ms",
			lastRttMs: 5000,
		});
		const good = ok(12);
		run(health, rule, [good]);
		expect(health).toMatchObject({
			lastCheckAt: good.at,
			lastReason: "200",
			lastRttMs: 12,
			lastFailure: "timeout after 5000 ms",
		});
	});

	it("averages the RTT of successful checks only", () => {
		const health = fresh();
		const rule = monitor();
		run(health, rule, [failed("timeout", 5000)]);
		expect(health.rttEwmaMs).toBeUndefined();
		run(health, rule, [ok(100)]);
		expect(health.rttEwmaMs).toBe(100);
		run(health, rule, [failed("timeout", 5000), ok(200)]);
		expect(health.rttEwmaMs).toBeCloseTo(100 + RTT_EWMA_ALPHA * (200 - 100));
	});
});
