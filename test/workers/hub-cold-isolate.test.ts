/**
 * Issue 12: a cold isolate makes at most two Durable Object calls before planning its first request
 * (its data center's hub for the replica, then the load balancer's counter object), both to objects
 * of its own data center. A file of its own: each test file gets a fresh module instance, so the
 * isolate (src/isolate.ts keeps it in a module variable) is cold at this file's first proxied
 * request, which is checked below rather than assumed.
 *
 * The Worker gets an env whose REGISTRY, HUBS and COUNTERS hand out stubs recording every method
 * call as "<BINDING> <name> <method>", in order. The isolate keeps the env of its first request, so
 * its later calls are recorded too. The admin API goes through the real env.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { Replica } from "../../src/contract/replica";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { isolateOf } from "../../src/isolate";
import { originUrl, putConfig, startClean } from "./helpers";
import { recordingEnv } from "./recording-env";

/** A proxied request from data center FRA through the Worker with `workerEnv`; the calls recorded before its response, and after. */
async function sendFromFra(
	workerEnv: Env,
	calls: string[],
	path: string,
): Promise<{ response: Response; beforeResponse: string[]; afterSettled: string[] }> {
	const start = calls.length;
	const ctx = createExecutionContext();
	const request = new Request(`https://app.test${path}`, { cf: { colo: "FRA" } });
	const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, workerEnv, ctx);
	const beforeResponse = calls.slice(start);
	await response.arrayBuffer();
	await waitOnExecutionContext(ctx);
	return { response, beforeResponse, afterSettled: calls.slice(start) };
}

beforeEach(startClean);

describe("a cold isolate", () => {
	it("calls its data center's hub, then the counter object, before planning its first request; then only the counter object", async () => {
		await putConfig({
			pools: [{ id: "main", name: "main", origins: [{ name: "a", address: originUrl("a") }] }],
			load_balancers: [{ name: "app.test", default_pools: ["main"], proxy: { debug_headers: true } }],
		});
		const calls: string[] = [];
		const workerEnv = recordingEnv(calls);
		// Cold indeed: this module instance has made no isolate yet.
		expect(isolateOf()).toBeUndefined();

		const first = await sendFromFra(workerEnv, calls, "/first");
		expect(first.response.status).toBe(200);
		expect(first.response.headers.get("x-switchyard-origin")).toBe("a");
		expect(first.beforeResponse).toEqual(["HUBS colo:FRA replica", "COUNTERS lb:app.test@FRA route"]);
		console.log(
			`first request: before its response ${JSON.stringify(first.beforeResponse)}, by its end ${JSON.stringify(first.afterSettled)}`,
		);
		expect(isolateOf()).toBeDefined();

		// The hub of FRA exists now, holding a replica with the configuration; the counter object took
		// its replica from there too (so it is registered with FRA's hub for pushes).
		const hub = await runInDurableObject(env.HUBS.getByName("colo:FRA"), (instance) => {
			const object = instance as unknown as { held: Replica | undefined; members: { current(now: number): string[] } };
			return { held: object.held, members: object.members.current(Date.now()) };
		});
		expect(hub.held?.configJson).toContain("app.test");
		expect(hub.members).toEqual(["lb:app.test@FRA"]);

		const second = await sendFromFra(workerEnv, calls, "/second");
		expect(second.response.status).toBe(200);
		expect(second.beforeResponse).toEqual(["COUNTERS lb:app.test@FRA route"]);
		console.log(
			`second request: before its response ${JSON.stringify(second.beforeResponse)}, by its end ${JSON.stringify(second.afterSettled)}`,
		);
	});
});
