/**
 * Issue 16, item 2: a latency budget for the counter call. While an isolate's moving average of its
 * round trip to its counter object exceeds the load balancer's counter_rtt_budget_ms, the isolate
 * plans the requests itself (as in the isolate scope) and still reports outcomes; its outcome
 * batches keep measuring the object, and it goes back to the object once the round trip is under
 * budget. The object is slowed by a wrapped namespace binding. A file of its own: the isolate keeps
 * the env of its first request.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { CounterStatus, StatusReport } from "../../src/contract/status";
import { MIN_SAMPLES } from "../../src/edge/counter-rtt";
import worker from "../../src/index";
import { adminResult, onePoolConfig, putConfig, startClean } from "./helpers";
import { envWithGetByName } from "./recording-env";

beforeEach(startClean);

/** The counter objects' calls, as made, and how long each is held back before it goes. */
const slow = { ms: 0 };
const calls: string[] = [];

function slowStub(name: string, stub: object): object {
	return new Proxy(stub, {
		get(target, property) {
			const value = (target as Record<PropertyKey, unknown>)[property];
			if (typeof value !== "function" || typeof property !== "string") return value;
			return async (...args: unknown[]) => {
				calls.push(`${name} ${property}`);
				if (slow.ms > 0) await new Promise((resolve) => setTimeout(resolve, slow.ms));
				return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[property]?.(...args);
			};
		},
	});
}

/** The test env with COUNTERS wrapped: every call to a counter object waits `slow.ms` first. */
const slowEnv = envWithGetByName(
	"COUNTERS",
	(name, _options, real) => slowStub(name, real.getByName(name)) as DurableObjectStub,
);

async function sendOne(path: string): Promise<{ calledObject: boolean; settled: Promise<void> }> {
	const before = calls.length;
	const ctx = createExecutionContext();
	const request = new Request(`https://app.test${path}`, { cf: { colo: "GRU" } });
	const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, slowEnv, ctx);
	const calledObject = calls.slice(before).some((call) => call.endsWith(" route") || call.endsWith(" routeMany"));
	expect(response.status).toBe(200);
	await response.arrayBuffer();
	return { calledObject, settled: waitOnExecutionContext(ctx) };
}

async function counterStatus(): Promise<CounterStatus | undefined> {
	const report = await adminResult<StatusReport>("/status");
	return report.counters.find((entry) => entry.name === "lb:app.test@GRU");
}

describe("counter_rtt_budget_ms", () => {
	it("plans in the isolate while the object is over budget, reports it, and returns once it is back under", async () => {
		const config = onePoolConfig(["a", "b", "c"]);
		// The default budget, 20 ms (the test helpers turn it off elsewhere).
		const { counter_rtt_budget_ms: _off, ...lb } = config.load_balancers[0] as Record<string, unknown>;
		await putConfig({ ...config, load_balancers: [lb] });
		slow.ms = 60;
		// The first requests ask the object, and every call (route, outcome batch) takes 60 ms or more;
		// one slow call is not enough: within MIN_SAMPLES requests the isolate stops asking.
		let asked = 0;
		for (let i = 0; i <= MIN_SAMPLES; i++) {
			const sent = await sendOne(`/first/${i}`);
			await sent.settled;
			if (!sent.calledObject) break;
			asked++;
		}
		expect(asked).toBeGreaterThanOrEqual(1);
		expect(asked).toBeLessThanOrEqual(MIN_SAMPLES);
		const plannedHere = 1; // the request that found the object over budget

		const settled: Promise<void>[] = [];
		for (let i = 0; i < 10; i++) {
			const sent = await sendOne(`/over/${i}`);
			expect(sent.calledObject, `request ${i}`).toBe(false);
			settled.push(sent.settled);
		}
		await Promise.all(settled); // the outcome batch (a second later) reached the object
		expect(await counterStatus()).toMatchObject({ planned_over_budget: 10 + plannedHere, in_flight: 0 });

		// The object is near again: each outcome batch (a second apart) measures it, and within a few the
		// isolate asks it again.
		slow.ms = 0;
		let back = -1;
		for (let i = 0; i < 12 && back === -1; i++) {
			const sent = await sendOne(`/recovering/${i}`);
			if (sent.calledObject) back = i;
			await sent.settled;
		}
		expect(back).toBeGreaterThan(0);
		const after = await counterStatus();
		expect(after?.planned_over_budget).toBe(10 + plannedHere + back);
		expect(after?.in_flight).toBe(0);
		// Each recovering request waits for its outcome batch, a second apart (ISOLATE_OUTCOME_DELAY_MS).
	}, 30_000);
});
