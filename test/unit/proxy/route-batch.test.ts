import { describe, expect, it } from "vitest";
import { RouteLanes, type RouteSender } from "../../../src/proxy/route-batch";

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
	return { calls, sender };
}

/** Timers the test fires by hand. */
function heldTimers() {
	const timers: { ms: number; fire: () => void }[] = [];
	return { timers, setTimer: (fire: () => void, ms: number) => timers.push({ ms, fire }) };
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("RouteLanes", () => {
	it("sends a request alone and at once when no call to its shard is out", async () => {
		const { calls, sender } = heldRegistry();
		const { timers, setTimer } = heldTimers();
		const lanes = new RouteLanes(sender, 5, setTimer);
		const kept: Promise<unknown>[] = [];
		const reply = lanes.route("lb:app", "r1", (promise) => kept.push(promise));
		expect(calls.map((call) => call.requests)).toEqual([["r1"]]);
		expect(timers).toEqual([]);
		calls[0]?.answer();
		await expect(reply).resolves.toBe("plan for r1");
		expect(kept).toHaveLength(1); // the call is kept alive by the request that made it
	});

	it("queues requests while a call is out, then sends them as one call in arrival order", async () => {
		const { calls, sender } = heldRegistry();
		const { timers, setTimer } = heldTimers();
		const lanes = new RouteLanes(sender, 5, setTimer);
		const first = lanes.route("lb:app", "r1", () => {});
		const queued = ["r2", "r3", "r4"].map((request) => lanes.route("lb:app", request, () => {}));
		expect(calls).toHaveLength(1);
		expect(lanes.queued).toBe(3);
		expect(timers.map((timer) => timer.ms)).toEqual([5]); // one wait bound for the whole batch
		calls[0]?.answer();
		await expect(first).resolves.toBe("plan for r1");
		await settle();
		expect(calls.map((call) => call.requests)).toEqual([["r1"], ["r2", "r3", "r4"]]);
		expect(lanes.queued).toBe(0);
		calls[1]?.answer();
		await expect(Promise.all(queued)).resolves.toEqual(["plan for r2", "plan for r3", "plan for r4"]);
	});

	it("sends a queued batch from the request whose call came back, in that request's background", async () => {
		const { calls, sender } = heldRegistry();
		const lanes = new RouteLanes(sender, 5, () => {});
		const keptByFirst: Promise<unknown>[] = [];
		const keptBySecond: Promise<unknown>[] = [];
		const first = lanes.route("lb:app", "r1", (promise) => keptByFirst.push(promise));
		const second = lanes.route("lb:app", "r2", (promise) => keptBySecond.push(promise));
		calls[0]?.answer();
		await first;
		await settle();
		expect(keptByFirst).toHaveLength(2); // its own call, then the batch it sent on
		expect(keptBySecond).toHaveLength(0);
		calls[1]?.answer();
		await expect(second).resolves.toBe("plan for r2");
	});

	it("sends a batch anyway when its first request has waited maxWaitMs for the call ahead", async () => {
		const { calls, sender } = heldRegistry();
		const { timers, setTimer } = heldTimers();
		const lanes = new RouteLanes(sender, 5, setTimer);
		const keptBySecond: Promise<unknown>[] = [];
		void lanes.route("lb:app", "r1", () => {});
		const second = lanes.route("lb:app", "r2", (promise) => keptBySecond.push(promise));
		const third = lanes.route("lb:app", "r3", () => {});
		timers[0]?.fire();
		expect(calls.map((call) => call.requests)).toEqual([["r1"], ["r2", "r3"]]);
		expect(keptBySecond).toHaveLength(1); // the first to queue sent its batch
		calls[1]?.answer(); // answered before the slow call ahead of it
		await expect(Promise.all([second, third])).resolves.toEqual(["plan for r2", "plan for r3"]);
		// The call ahead coming back later finds nothing queued, and a timer firing late sends nothing twice.
		calls[0]?.answer();
		await settle();
		expect(calls).toHaveLength(2);
	});

	it("a timer whose batch already went with a returning call does nothing", async () => {
		const { calls, sender } = heldRegistry();
		const { timers, setTimer } = heldTimers();
		const lanes = new RouteLanes(sender, 5, setTimer);
		void lanes.route("lb:app", "r1", () => {});
		void lanes.route("lb:app", "r2", () => {});
		calls[0]?.answer();
		await settle();
		expect(calls).toHaveLength(2);
		timers[0]?.fire();
		expect(calls).toHaveLength(2);
	});

	it("never queues with maxWaitMs 0: every request its own call, all out at once", () => {
		const { calls, sender } = heldRegistry();
		const { timers, setTimer } = heldTimers();
		const lanes = new RouteLanes(sender, 0, setTimer);
		for (const request of ["r1", "r2", "r3"]) void lanes.route("lb:app", request, () => {});
		expect(calls.map((call) => call.requests)).toEqual([["r1"], ["r2"], ["r3"]]);
		expect(timers).toEqual([]);
	});

	it("keeps one lane per shard: a call out to one shard holds back no request for another", () => {
		const { calls, sender } = heldRegistry();
		const lanes = new RouteLanes(sender, 5, () => {});
		void lanes.route("lb:app", "r1", () => {});
		void lanes.route("lb:api", "r2", () => {});
		void lanes.route("lb:app", "r3", () => {});
		expect(calls.map((call) => [call.shard, call.requests])).toEqual([
			["lb:app", ["r1"]],
			["lb:api", ["r2"]],
		]);
		expect(lanes.queued).toBe(1);
	});

	it("fails every request of a failed call, and the lane goes on with the next one", async () => {
		const { calls, sender } = heldRegistry();
		const lanes = new RouteLanes(sender, 5, () => {});
		const first = lanes.route("lb:app", "r1", () => {});
		const batch = ["r2", "r3"].map((request) => lanes.route("lb:app", request, () => {}));
		calls[0]?.answer();
		await first;
		await settle();
		calls[1]?.answer(new Error("object reset"));
		for (const reply of batch) await expect(reply).rejects.toThrow("object reset");
		const next = lanes.route("lb:app", "r4", () => {});
		expect(calls.map((call) => call.requests)).toEqual([["r1"], ["r2", "r3"], ["r4"]]);
		calls[2]?.answer();
		await expect(next).resolves.toBe("plan for r4");
	});

	it("fails the whole batch when the registry answers a different number of requests", async () => {
		const sender: RouteSender<string, string> = {
			one: async (_shard, request) => `plan for ${request}`,
			many: async () => ["only one"],
		};
		let release: () => void = () => {};
		const held: RouteSender<string, string> = {
			one: (shard, request) =>
				new Promise((resolve) => {
					release = () => resolve(sender.one(shard, request));
				}),
			many: sender.many,
		};
		const lanes = new RouteLanes(held, 5, () => {});
		const first = lanes.route("lb:app", "r1", () => {});
		const batch = ["r2", "r3"].map((request) => lanes.route("lb:app", request, () => {}));
		release();
		await first;
		for (const reply of batch) await expect(reply).rejects.toThrow("answered 1 of 2 route requests");
	});
});
