/**
 * The isolate scope's outcome batches wait a second for company (ISOLATE_OUTCOME_DELAY_MS): no route
 * call carries them. They must do so even when the isolate first heard of the load balancer's counter
 * object through a plan the object made: here the load balancer starts in the colo scope and moves
 * to the isolate scope. Before the fix the isolate kept the 5 ms wait of its first batcher for that
 * object, and sent it one release call per request at low rates (found by counting instructions
 * under Valgrind, docs/benchmarks.md). A file of its own: the isolate keeps the env of its first
 * request, here one whose bindings record every call.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { onePoolConfig, putConfig, startClean } from "./helpers";
import { recordingEnv } from "./recording-env";

beforeEach(startClean);

const RELEASE = "COUNTERS lb:app.test@FRA release";

async function sendFrom(
	workerEnv: Env,
	calls: string[],
): Promise<{ beforeResponse: string[]; settled: Promise<void> }> {
	const start = calls.length;
	const ctx = createExecutionContext();
	const request = new Request("https://app.test/", { cf: { colo: "FRA" } });
	const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, workerEnv, ctx);
	const beforeResponse = calls.slice(start);
	expect(response.status).toBe(200);
	await response.arrayBuffer();
	return { beforeResponse, settled: waitOnExecutionContext(ctx) };
}

function withScope(scope: string) {
	const config = onePoolConfig(["a", "b", "c"]);
	return { ...config, load_balancers: config.load_balancers.map((lb) => ({ ...lb, counter_scope: scope })) };
}

describe("counter_scope isolate: outcome batches", () => {
	it("go a second apart once the isolate plans the load balancer itself, though its first plans came from the object", async () => {
		await putConfig(withScope("colo"));
		const calls: string[] = [];
		const workerEnv = recordingEnv(calls);
		const settled: Promise<void>[] = [];
		// Planned by the data center's counter object: its outcomes are that object's batches.
		const byObject = await sendFrom(workerEnv, calls);
		expect(byObject.beforeResponse).toContain("COUNTERS lb:app.test@FRA route");
		await byObject.settled;

		await putConfig(withScope("isolate"));
		// The isolate learns the new scope from the object's next reply (its state is newer).
		let planningHere = false;
		for (let i = 0; i < 20 && !planningHere; i++) {
			const sent = await sendFrom(workerEnv, calls);
			settled.push(sent.settled);
			planningHere = !sent.beforeResponse.some((call) => call.endsWith(" route"));
			if (!planningHere) await sent.settled;
		}
		expect(planningHere).toBe(true);

		// Ten requests planned here, at a low rate (one every 10 ms, twice the colo scope's 5 ms wait).
		const start = calls.length;
		const started = Date.now();
		for (let i = 0; i < 10; i++) {
			if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
			const sent = await sendFrom(workerEnv, calls);
			// No call on the request's path (a batch begun earlier may go out meanwhile, in the background).
			expect(sent.beforeResponse.filter((call) => call !== RELEASE)).toEqual([]);
			settled.push(sent.settled);
		}
		const elapsedMs = Date.now() - started;
		await Promise.all(settled);
		// Every outcome sent, in one batch a second at most (plus the one begun before them): before the
		// fix, a call per request.
		const releases = calls.slice(start).filter((call) => call === RELEASE).length;
		expect(releases).toBeGreaterThanOrEqual(1);
		expect(releases).toBeLessThanOrEqual(Math.ceil(elapsedMs / 1_000) + 1);
	});
});
