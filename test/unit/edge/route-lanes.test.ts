import { describe, expect, it } from "vitest";
import { MAX_ROUTE_LANES, RouteLanes, type RouteSender, toRouteBatchWaitMs } from "../../../src/edge/route-lanes";

/** A registry whose calls the test answers by hand, in any order; it records what each call carried. */
function heldRegistry() {
	const calls: { shard: string; requests: string[]; answer: (fail?: Error) => void }[] = [];
	const call = (shard: string, requests: string[]) =>
		new Promise<string[]>((resolve, reject) => {
			calls.push({
				shard,
				requests,
				answer: (fail) => (fail ? reject(fail) : resolve(requests.map((request) => `plan for ${request}`))),
			});
		});
	const sender: RouteSender<string, string> = {
		one: async (shard, request) => (await call(shard, [request]))[0] as string,
		many: (shard, requests) => call(shard, [...requests]),
	};
	return { calls, sender, sent: () => calls.map((call) => call.requests) };
}

/** Timers the test fires by hand, and a clock it moves. */
function heldTime() {
	const timers: { ms: number; fire: () => void }[] = [];
	const clock = { now: 1_000_000 };
	return {
		timers,
		clock,
		options: (maxWaitMs = 5) => ({
			maxWaitMs,
			staleMs: 1000,
			setTimer: (fire: () => void, ms: number) => timers.push({ ms, fire }),
			now: () => clock.now,
		}),
	};
}

/** What one request's waitUntil was given. */
function aRequestContext() {
	const kept: Promise<unknown>[] = [];
	return { kept, background: (promise: Promise<unknown>) => kept.push(promise) };
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const ignore = () => {};

describe("RouteLanes", () => {
	it("sends a request alone and at once when no call to its shard is out, kept alive by that request", async () => {
		const { calls, sender, sent } = heldRegistry();
		const { timers, options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		const context = aRequestContext();
		const reply = lanes.route("lb:app", "r1", context.background);
		expect(sent()).toEqual([["r1"]]);
		expect(timers).toEqual([]);
		expect(context.kept).toHaveLength(1);
		calls[0]?.answer();
		await expect(reply).resolves.toBe("plan for r1");
	});

	it("queues requests while a call is out; the first of them sends them as one call, in arrival order", async () => {
		const { calls, sender, sent } = heldRegistry();
		const { timers, options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		const [first, second, third, fourth] = [1, 2, 3, 4].map(aRequestContext) as ReturnType<typeof aRequestContext>[];
		const ahead = lanes.route("lb:app", "r1", first?.background ?? ignore);
		const queued = [
			lanes.route("lb:app", "r2", second?.background ?? ignore),
			lanes.route("lb:app", "r3", third?.background ?? ignore),
		];
		expect(sent()).toEqual([["r1"]]);
		expect(lanes.queued).toBe(2);
		expect(timers.map((timer) => timer.ms)).toEqual([5]); // one wait bound for the whole queue
		calls[0]?.answer();
		// Until the queue's first request has sent it, a late comer joins the queue.
		queued.push(lanes.route("lb:app", "r4", fourth?.background ?? ignore));
		await expect(ahead).resolves.toBe("plan for r1");
		await settle();
		expect(sent()).toEqual([["r1"], ["r2", "r3", "r4"]]);
		expect(lanes.queued).toBe(0);
		// Each request sent at most one call, from its own context: r1 its own, r2 the queue's.
		expect([first, second, third, fourth].map((context) => context?.kept.length)).toEqual([1, 1, 0, 0]);
		calls[1]?.answer();
		await expect(Promise.all(queued)).resolves.toEqual(["plan for r2", "plan for r3", "plan for r4"]);
	});

	it("sends a queue anyway once its first request has waited maxWaitMs for the call ahead", async () => {
		const { calls, sender, sent } = heldRegistry();
		const { timers, options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		void lanes.route("lb:app", "r1", ignore);
		const queued = [lanes.route("lb:app", "r2", ignore), lanes.route("lb:app", "r3", ignore)];
		timers[0]?.fire();
		await settle();
		expect(sent()).toEqual([["r1"], ["r2", "r3"]]);
		calls[1]?.answer(); // answered before the slow call ahead of it
		await expect(Promise.all(queued)).resolves.toEqual(["plan for r2", "plan for r3"]);
		calls[0]?.answer(); // the call ahead comes back with nothing queued behind it
		await settle();
		expect(calls).toHaveLength(2);
	});

	it("queues behind either of two calls out, and goes when the first of them comes back", async () => {
		const { calls, sender, sent } = heldRegistry();
		const { timers, options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		void lanes.route("lb:app", "r1", ignore);
		void lanes.route("lb:app", "r2", ignore);
		timers[0]?.fire(); // r2 goes beside r1
		await settle();
		const third = lanes.route("lb:app", "r3", ignore);
		expect(sent()).toEqual([["r1"], ["r2"]]);
		calls[1]?.answer();
		await settle();
		expect(sent()).toEqual([["r1"], ["r2"], ["r3"]]);
		calls[2]?.answer();
		await expect(third).resolves.toBe("plan for r3");
	});

	it("sends nothing twice when the wait is up after the queue went with a returning call", async () => {
		const { calls, sender } = heldRegistry();
		const { timers, options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		void lanes.route("lb:app", "r1", ignore);
		void lanes.route("lb:app", "r2", ignore);
		calls[0]?.answer();
		await settle();
		expect(calls).toHaveLength(2);
		timers[0]?.fire();
		await settle();
		expect(calls).toHaveLength(2);
	});

	it("never queues with maxWaitMs 0: every request its own call, all out at once", () => {
		const { sender, sent } = heldRegistry();
		const { timers, options } = heldTime();
		const lanes = new RouteLanes(sender, options(0));
		for (const request of ["r1", "r2", "r3"]) void lanes.route("lb:app", request, ignore);
		expect(sent()).toEqual([["r1"], ["r2"], ["r3"]]);
		expect(timers).toEqual([]);
	});

	it("keeps one lane per shard: a call out to one shard holds back no request for another", () => {
		const { calls, sender } = heldRegistry();
		const lanes = new RouteLanes(sender, heldTime().options());
		void lanes.route("lb:app", "r1", ignore);
		void lanes.route("lb:api", "r2", ignore);
		void lanes.route("lb:app", "r3", ignore);
		expect(calls.map((call) => [call.shard, call.requests])).toEqual([
			["lb:app", ["r1"]],
			["lb:api", ["r2"]],
		]);
		expect(lanes.queued).toBe(1);
	});

	it("stops waiting for a call that has been out longer than staleMs: its request's invocation is gone", () => {
		const { sender, sent } = heldRegistry();
		const { clock, options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		void lanes.route("lb:app", "r1", ignore); // never answered
		clock.now += 999;
		void lanes.route("lb:app", "r2", ignore);
		expect(sent()).toEqual([["r1"]]);
		expect(lanes.queued).toBe(1);
		const after = new RouteLanes(sender, options());
		void after.route("lb:app", "r3", ignore);
		clock.now += 1000;
		void after.route("lb:app", "r4", ignore);
		expect(sent()).toEqual([["r1"], ["r3"], ["r4"]]);
		expect(after.queued).toBe(0);
	});

	it("lets later requests start a queue of their own when the first queue's request never sent it", () => {
		const { sender, sent } = heldRegistry();
		const { clock, options } = heldTime(); // its timers never fire: that request's invocation is gone
		const lanes = new RouteLanes(sender, options());
		void lanes.route("lb:app", "r1", ignore); // never answered
		void lanes.route("lb:app", "r2", ignore); // queues, and its wait never ends
		clock.now += 1005; // the wait (5 ms) and then some (1 s) are over
		void lanes.route("lb:app", "r3", ignore);
		expect(lanes.queued).toBe(2); // still in time: r3 joins r2
		clock.now += 1;
		void lanes.route("lb:app", "r4", ignore);
		// The stranded queue is dropped and the stale call ahead forgotten: r4 goes alone.
		expect(sent()).toEqual([["r1"], ["r4"]]);
		expect(lanes.queued).toBe(0);
		void lanes.route("lb:app", "r5", ignore);
		expect(lanes.queued).toBe(1); // r5 waits behind r4, in a queue of its own
	});

	it("fails every request of a failed call, and the lane goes on with the next one", async () => {
		const { calls, sender, sent } = heldRegistry();
		const lanes = new RouteLanes(sender, heldTime().options());
		const first = lanes.route("lb:app", "r1", ignore);
		const batch = ["r2", "r3"].map((request) => lanes.route("lb:app", request, ignore));
		calls[0]?.answer();
		await first;
		await settle();
		calls[1]?.answer(new Error("object reset"));
		for (const reply of batch) await expect(reply).rejects.toThrow("object reset");
		const next = lanes.route("lb:app", "r4", ignore);
		expect(sent()).toEqual([["r1"], ["r2", "r3"], ["r4"]]);
		calls[2]?.answer();
		await expect(next).resolves.toBe("plan for r4");
	});

	it("fails only the request the shard could not plan; the others of its call get their plans", async () => {
		let answerFirst: (reply: string) => void = ignore;
		const sender: RouteSender<string, string> = {
			one: (_shard, request) =>
				new Promise((resolve) => {
					answerFirst = () => resolve(`plan for ${request}`);
				}),
			many: async (_shard, requests) =>
				requests.map((request) => (request === "bad" ? new Error("no hostname") : `plan for ${request}`)),
		};
		const lanes = new RouteLanes(sender, heldTime().options());
		const first = lanes.route("lb:app", "r1", ignore);
		const batch = ["r2", "bad", "r3"].map((request) => lanes.route("lb:app", request, ignore));
		answerFirst("");
		await first;
		const settled = await Promise.allSettled(batch);
		expect(settled.map((result) => (result.status === "fulfilled" ? result.value : String(result.reason)))).toEqual([
			"plan for r2",
			"Error: no hostname",
			"plan for r3",
		]);
	});

	it("fails the whole call when the shard answers a different number of requests", async () => {
		let answerFirst: () => void = ignore;
		const sender: RouteSender<string, string> = {
			one: (_shard, request) =>
				new Promise((resolve) => {
					answerFirst = () => resolve(`plan for ${request}`);
				}),
			many: async () => ["only one"],
		};
		const lanes = new RouteLanes(sender, heldTime().options());
		const first = lanes.route("lb:app", "r1", ignore);
		const batch = ["r2", "r3"].map((request) => lanes.route("lb:app", request, ignore));
		answerFirst();
		await first;
		for (const reply of batch) await expect(reply).rejects.toThrow("answered 1 of 2 route requests");
	});
});

describe("toRouteBatchWaitMs (the ROUTE_BATCH_WAIT_MS var)", () => {
	it.each([
		[undefined, 5],
		["", 5],
		["0", 0],
		[" 20 ", 20],
		["100", 100],
	])("%j → %i ms", (value, ms) => {
		expect(toRouteBatchWaitMs(value)).toEqual({ ms });
	});

	it.each(["-1", "101", "2.5", "5ms", "soon", "0x10", "1e1"])(
		"refuses %j: the default, and an error that says why",
		(value) => {
			const wait = toRouteBatchWaitMs(value);
			expect(wait.ms).toBe(5);
			expect(wait.error).toContain("ROUTE_BATCH_WAIT_MS must be a whole number of milliseconds from 0 to 100");
			expect(wait.error).toContain(JSON.stringify(value));
		},
	);
});

describe("RouteLanes' bound (issue 14, item 3)", () => {
	it("keeps at most MAX_ROUTE_LANES lanes; a request whose lane was forgotten calls alone, and every request is answered", async () => {
		const { calls, sender, sent } = heldRegistry();
		const { options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		const context = aRequestContext();
		const first = lanes.route("lb:app", "r1", context.background);
		const others = Array.from({ length: 2 * MAX_ROUTE_LANES }, (_, i) =>
			lanes.route(`lb:t${i}`, `t${i}`, context.background),
		);
		expect(lanes.size).toBeLessThanOrEqual(MAX_ROUTE_LANES);
		// lb:app's lane is forgotten while r1 is out: r2 does not know to queue behind it, and calls.
		const second = lanes.route("lb:app", "r2", context.background);
		expect(lanes.queued).toBe(0);
		expect(sent().at(-1)).toEqual(["r2"]);
		for (const call of calls) call.answer();
		await expect(first).resolves.toBe("plan for r1");
		await expect(second).resolves.toBe("plan for r2");
		expect(await Promise.all(others)).toEqual(others.map((_, i) => `plan for t${i}`));
	});

	it("keeps the lane of a counter object in steady use: its requests still queue behind its call", async () => {
		const { calls, sender, sent } = heldRegistry();
		const { options } = heldTime();
		const lanes = new RouteLanes(sender, options());
		const context = aRequestContext();
		const replies = [lanes.route("lb:app", "r1", context.background)];
		const queued: string[] = [];
		for (let i = 0; i < 3 * MAX_ROUTE_LANES; i++) {
			replies.push(lanes.route(`lb:t${i}`, `t${i}`, context.background));
			if (i % 100 === 0) {
				queued.push(`q${i}`);
				replies.push(lanes.route("lb:app", `q${i}`, context.background));
			}
		}
		expect(lanes.queued).toBe(queued.length);
		const ours = () => sent().filter((requests) => requests.some((request) => !request.startsWith("t")));
		expect(ours()).toEqual([["r1"]]);
		calls[0]?.answer();
		await settle();
		expect(ours()).toEqual([["r1"], queued]);
		for (const call of calls) call.answer();
		await Promise.all(replies);
	});
});
