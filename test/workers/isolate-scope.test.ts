/**
 * Issue 12: `counter_scope: "isolate"`. The isolate plans by itself, from its replica and its own
 * counters: after the replica is in, no request waits on a Durable Object call; outcomes still go,
 * batched and off the request path, to the data center's counter object, which /status lists. A
 * file of its own: the isolate keeps the env of its first request, here one whose bindings record
 * every call.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { StatusReport } from "../../src/contract/status";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { adminResult, onePoolConfig, putConfig, startClean } from "./helpers";
import { recordingEnv } from "./recording-env";

beforeEach(startClean);

async function sendFrom(
	workerEnv: Env,
	calls: string[],
	path: string,
): Promise<{ origin: string | null; beforeResponse: string[]; settled: Promise<void> }> {
	const start = calls.length;
	const ctx = createExecutionContext();
	const request = new Request(`https://app.test${path}`, { cf: { colo: "FRA" } });
	const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, workerEnv, ctx);
	const beforeResponse = calls.slice(start);
	expect(response.status).toBe(200);
	await response.arrayBuffer();
	// Not awaited here: an isolate-scope batch of outcomes waits a second for company, in waitUntil.
	return { origin: response.headers.get("x-switchyard-origin"), beforeResponse, settled: waitOnExecutionContext(ctx) };
}

describe("counter_scope isolate", () => {
	it("plans in the isolate with its own rotation; only outcome batches (and replica checks) reach the objects", async () => {
		const config = onePoolConfig(["a", "b", "c"]);
		await putConfig({
			...config,
			load_balancers: config.load_balancers.map((lb) => ({ ...lb, counter_scope: "isolate" })),
		});
		const calls: string[] = [];
		const workerEnv = recordingEnv(calls);
		const warm = await sendFrom(workerEnv, calls, "/warm"); // the replica, from the data center's hub
		expect(warm.beforeResponse).toEqual(["HUBS colo:FRA replica"]);
		const settled = [warm.settled];

		const afterWarmUp = calls.length;
		const started = Date.now();
		const served: (string | null)[] = [];
		for (let i = 0; i < 30; i++) {
			const sent = await sendFrom(workerEnv, calls, `/here/${i}`);
			expect(sent.beforeResponse, `request ${i}`).toEqual([]);
			served.push(sent.origin);
			settled.push(sent.settled);
		}
		const seconds = (Date.now() - started) / 1000;
		await Promise.all(settled);
		// The isolate's own round robin, continuing from the warm-up request's turn.
		const turn = ["a", "b", "c"];
		const first = turn.indexOf(served[0] as string);
		expect(served).toEqual(served.map((_, i) => turn[(first + i) % 3]));
		const seen = calls.slice(afterWarmUp);
		expect(
			seen.filter((call) => call !== "COUNTERS lb:app.test@FRA release" && call !== "HUBS colo:FRA replica"),
		).toEqual([]);
		expect(seen.filter((call) => call === "HUBS colo:FRA replica").length).toBeLessThanOrEqual(Math.ceil(seconds / 5));
		expect(seen).toContain("COUNTERS lb:app.test@FRA release");

		const report = await adminResult<StatusReport>("/status");
		expect(report.counters).toEqual([
			{
				name: "lb:app.test@FRA",
				load_balancer: "app.test",
				scope: "isolate",
				colo: "FRA",
				routed: 31,
				route_calls: 0,
				planned_over_budget: 0,
				in_flight: 0,
				answered: true,
			},
		]);
	});
});
