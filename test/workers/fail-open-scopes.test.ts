/**
 * Issue 12, "Fail open in every scope": whatever the counter_scope, a request is answered by an
 * origin when the Durable Object it would wait on is busy. In the colo and global scopes the
 * planner gives its counter object ROUTE_DEADLINE_MS (1 s), then plans from the isolate's replica;
 * once the object is free again, requests are planned there again. In the isolate scope nothing
 * on a request's path waits on an object: a busy hub (the replica check) and a busy counter object
 * (the outcome batches) are only ever waited on in the background.
 *
 * An object is kept busy as registry-shard-status.test.ts does: runInDurableObject with
 * blockConcurrencyWhile. Every call queued at a busy object is awaited before the test ends (the
 * proxied request's `settled`, which includes the late route reply), so the next test's reset
 * finds no call still queued (see the note in registry-shard-status.test.ts).
 *
 * The three tests share this file's isolate (src/isolate.ts keeps it in a module variable): each
 * warm-up waits until the isolate's replica holds the authority's current state, so the fail-open
 * plan is made from the configuration under test.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { CounterScope } from "../../src/config/schema";
import type { StatusReport } from "../../src/contract/status";
import { ROUTE_DEADLINE_MS } from "../../src/edge/planner";
import type { ReplicaCache } from "../../src/edge/replica-cache";
import { isolateOf } from "../../src/isolate";
import { adminResult, onePoolConfig, putConfig, received, send, sendStreaming, startClean } from "./helpers";

beforeEach(startClean);

/** How long a test keeps an object busy: well past the planner's deadline. */
const BUSY_MS = 2_500;
/** A request planned from the replica after the deadline is answered within this (the issue's "about 1.5 s"). */
const FAIL_OPEN_ANSWER_MS = 1_500;
const ORIGINS = ["a", "b", "c"];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function putScope(scope: CounterScope): Promise<void> {
	const config = onePoolConfig(ORIGINS);
	await putConfig({
		...config,
		load_balancers: config.load_balancers.map((lb) => ({ ...lb, counter_scope: scope })),
	});
}

/**
 * Keeps the object behind `stub` busy for `ms`: resolves once it is blocked, with `free`, which
 * resolves when it is free again. The object says it is blocked by setting a plain variable the
 * test polls: resolving a promise of the test's from inside the object's blockConcurrencyWhile
 * crashes the test runtime ("Promise callback destroyed itself", workerd 2026-11-02), even with
 * nothing else going on.
 */
async function keepBusy(stub: DurableObjectStub, ms: number): Promise<{ free: Promise<void> }> {
	let blockedAt: number | undefined;
	const free = runInDurableObject(stub, (_, state) =>
		state.blockConcurrencyWhile(async () => {
			blockedAt = Date.now();
			await sleep(ms);
		}),
	);
	await expect.poll(() => blockedAt, { interval: 5, timeout: 1_000 }).toBeDefined();
	return { free };
}

interface Timed {
	status: number;
	origin: string | null;
	/** From sending until the response's body was read. */
	ms: number;
	/** The invocation's background work (a late route reply, an outcome batch) is done. */
	settled: Promise<void>;
}

/** A proxied request from data center `colo`, timed until its body is read; its background is not waited for. */
async function timedSend(path: string, colo: string): Promise<Timed> {
	const started = Date.now();
	const { response, settled } = await sendStreaming(`https://app.test${path}`, { cf: { colo } } as RequestInit);
	await response.arrayBuffer();
	return {
		status: response.status,
		origin: response.headers.get("x-switchyard-origin"),
		ms: Date.now() - started,
		settled,
	};
}

async function sendFrom(path: string, colo: string): Promise<string | null> {
	const response = await send(`https://app.test${path}`, { cf: { colo } } as RequestInit);
	expect(response.status, path).toBe(200);
	return response.headers.get("x-switchyard-origin");
}

/** The isolate's replica cache (a private field of its planner). */
function isolateReplicas(): ReplicaCache {
	const isolate = isolateOf();
	if (!isolate) throw new Error("no isolate yet: send a request first");
	return (isolate.planner as unknown as { replicas: ReplicaCache }).replicas;
}

async function authorityState(): Promise<number> {
	return runInDurableObject(
		env.REGISTRY.getByName("global"),
		(instance) => (instance as unknown as { state: number }).state,
	);
}

/** Warm-up requests from `colo` until the isolate's replica holds the authority's current state; how many it took. */
async function warmUp(colo: string): Promise<number> {
	const current = await authorityState();
	let i = 0;
	await expect
		.poll(
			async () => {
				await sendFrom(`/warm/${i++}`, colo);
				return isolateReplicas().state;
			},
			{ interval: 20, timeout: 3_000 },
		)
		.toBe(current);
	return i;
}

async function routedBy(name: string): Promise<number | undefined> {
	const report = await adminResult<StatusReport>("/status");
	const counter = report.counters.find((entry) => entry.name === name);
	expect(counter, `${name} in /status`).toMatchObject({ answered: true });
	return counter?.routed;
}

/**
 * The colo and global scopes: the counter object `key` busy, a request from FRA is answered from
 * the replica after the planner's deadline; once free, the object plans again.
 */
async function failsOpenWhileBusy(key: string): Promise<void> {
	const busy = await keepBusy(env.COUNTERS.getByName(key), BUSY_MS);
	let during: Timed | undefined;
	try {
		during = await timedSend("/while-busy", "FRA");
		console.log(`${key} busy: answered ${during.status} by ${during.origin} in ${during.ms} ms`);
		expect(during.status).toBe(200);
		expect(ORIGINS).toContain(during.origin);
		// It did wait for the counter object first (the planner's deadline), but not for the object to be free.
		expect(during.ms).toBeGreaterThanOrEqual(ROUTE_DEADLINE_MS - 50);
		expect(during.ms).toBeLessThanOrEqual(FAIL_OPEN_ANSWER_MS);
		// The origin named in the header had the request.
		expect((await received(during.origin as string)).map((request) => request.url)).toContain("/while-busy");
	} finally {
		// Nothing left queued at the object when the test ends, pass or fail.
		await busy.free;
		await during?.settled; // the late route reply came back, and its lease was handed back
	}

	// Free again: requests are planned by the counter object, quickly.
	const routedBefore = (await routedBy(key)) ?? 0;
	for (let i = 0; i < 3; i++) {
		const after = await timedSend(`/free-again/${i}`, "FRA");
		await after.settled;
		expect(after.status).toBe(200);
		expect(after.ms).toBeLessThan(ROUTE_DEADLINE_MS);
	}
	expect(await routedBy(key)).toBe(routedBefore + 3);
}

describe("fail open", () => {
	it("colo scope: the data center's counter object busy, a request is answered from the replica within 1.5 s", async () => {
		await putScope("colo");
		await warmUp("FRA");
		await failsOpenWhileBusy("lb:app.test@FRA");
	}, 15_000);

	it("global scope: the one counter object busy, a request is answered from the replica within 1.5 s", async () => {
		await putScope("global");
		await warmUp("FRA");
		await failsOpenWhileBusy("lb:app.test");
	}, 15_000);

	it("isolate scope: the hub and the counter object busy, requests are answered without waiting", async () => {
		await putScope("isolate");
		const warmUps = await warmUp("FRA");
		const replicas = isolateReplicas();
		// Make the isolate's replica check due now, so the requests below do call the (busy) hub.
		(replicas as unknown as { validatedAt: number }).validatedAt = 0;
		const [hub, counter] = await Promise.all([
			keepBusy(env.HUBS.getByName("colo:FRA"), BUSY_MS),
			keepBusy(env.COUNTERS.getByName("lb:app.test@FRA"), BUSY_MS),
		]);
		const answers: Timed[] = [];
		try {
			const started = Date.now();
			for (let i = 0; i < 6; i++) answers.push(await timedSend(`/isolate/${i}`, "FRA"));
			const allMs = Date.now() - started;
			console.log(
				`hub and counter object busy: ${answers.map((answer) => `${answer.status} ${answer.origin} in ${answer.ms} ms`).join(", ")}`,
			);
			for (const answer of answers) {
				expect(answer.status).toBe(200);
				expect(answer.ms).toBeLessThan(250); // well under the 1 s a route call would be given
			}
			// The isolate's own rotation.
			const first = ORIGINS.indexOf(answers[0]?.origin as string);
			expect(answers.map((answer) => answer.origin)).toEqual(answers.map((_, i) => ORIGINS[(first + i) % 3]));
			// All of it while both objects were still busy: the replica check is still out at the hub.
			expect(allMs).toBeLessThan(BUSY_MS);
			expect((replicas as unknown as { refreshing: number | undefined }).refreshing).toBeDefined();
		} finally {
			// Nothing left queued at either object when the test ends, pass or fail.
			await Promise.all([hub.free, counter.free]);
			await Promise.all(answers.map((answer) => answer.settled));
		}
		// The outcomes reached the counter object once it was free: the warm-ups and the six.
		expect((replicas as unknown as { refreshing: number | undefined }).refreshing).toBeUndefined();
		const report = await adminResult<StatusReport>("/status");
		const fra = report.counters.find((entry) => entry.name === "lb:app.test@FRA");
		expect(fra).toMatchObject({ scope: "isolate", colo: "FRA", in_flight: 0, answered: true });
		expect(fra?.routed).toBe(warmUps + answers.length);
	}, 15_000);
});
