import { describe, expect, it } from "vitest";
import { GOALS, type Row, toChecks } from "../../../bench/report.ts";

const row = (target: string, connections: number, fields: Partial<Row>): Row => ({
	target,
	label: target,
	connections,
	runs: 3,
	requestsPerS: 1000,
	p50Ms: 1,
	p99Ms: 2,
	errors: 0,
	...fields,
});

describe("the benchmark's goals (issue 16)", () => {
	it("holds the isolate scope to floor and the object scopes to floor+RPC, and the rules' cost to half of 58 µs", () => {
		const checks = toChecks([
			row("bare", 50, { cpuUsPerRequest: 100 }),
			row("floor", 50, { cpuUsPerRequest: 140 }),
			row("switchyard-rr", 50, { ratioToFloorRpc: 0.92, ratioToFloor: 0.6 }),
			row("switchyard-rr", 1, { p50OverReferenceMs: 0.12 }),
			row("switchyard-rr-isolate", 50, { ratioToFloor: 0.96, ratioToFloorRpc: 1.4 }),
			row("switchyard-rr-isolate", 1, { p50OverReferenceMs: 0.04 }),
		]);
		expect(checks.map((check) => [check.target, check.goal, check.value, check.pass])).toEqual([
			["switchyard-rr", "50 conns: req/s ≥ 90% of floor+RPC", "92.0%", true],
			["switchyard-rr", "1 conn: p50 ≤ floor+RPC + 0.1 ms", "+0.120 ms", false],
			["switchyard-rr-isolate", "50 conns: req/s ≥ 95% of floor", "96.0%", true],
			["switchyard-rr-isolate", "1 conn: p50 ≤ floor + 0.05 ms", "+0.040 ms", true],
			["the rules (floor − bare)", `50 conns: ≤ ${GOALS.maxRulesCostUs} CPU µs/request (half of 58)`, "40 µs", false],
		]);
	});
});
