// Issue 11: a Durable Object with a pending timer stays in memory until it fires, so every deadline
// the counter objects and the authority wait on must leave nothing armed once it is over.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineTimer, TimeoutError, withTimeout } from "../../src/deadline";
import { deferred, settle } from "../fixtures/fetch";
import { fakeTimers } from "../fixtures/timers";

/** Where a promise stands, without waiting for it. */
function track<T>(promise: Promise<T>) {
	const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
	promise.then(
		(value) => Object.assign(state, { settled: true, value }),
		(error) => Object.assign(state, { settled: true, error }),
	);
	return state;
}

describe("withTimeout with its own timer", () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});

	afterEach(() => {
		vi.useRealTimers();
	});

	it("resolves with the promise's value and leaves no timer pending", async () => {
		const onTimeout = vi.fn();
		await expect(withTimeout(Promise.resolve(42), 1000, "too slow", { onTimeout })).resolves.toBe(42);
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(5000);
		expect(onTimeout).not.toHaveBeenCalled();
	});

	it("passes the promise's own rejection on, and leaves no timer pending", async () => {
		const onTimeout = vi.fn();
		await expect(withTimeout(Promise.reject(new Error("refused")), 1000, "too slow", { onTimeout })).rejects.toThrow(
			"refused",
		);
		expect(vi.getTimerCount()).toBe(0);
		expect(onTimeout).not.toHaveBeenCalled();
	});

	it("rejects with a TimeoutError after ms, not before, calling onTimeout once", async () => {
		const onTimeout = vi.fn();
		const never = deferred<number>();
		const result = track(withTimeout(never.promise, 1000, "route took too long", { onTimeout }));
		await vi.advanceTimersByTimeAsync(999);
		expect(result.settled).toBe(false);
		expect(onTimeout).not.toHaveBeenCalled();
		await vi.advanceTimersByTimeAsync(1);
		expect(result.error).toBeInstanceOf(TimeoutError);
		expect(result.error).toMatchObject({ name: "TimeoutError", message: "route took too long" });
		expect(onTimeout).toHaveBeenCalledOnce();
		never.resolve(1); // a late answer changes nothing
		await vi.advanceTimersByTimeAsync(5000);
		expect(onTimeout).toHaveBeenCalledOnce();
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe("withTimeout on a shared timer", () => {
	it("leaves the timer to the next deadline: the finished wait never fires, the next one does", async () => {
		const { timers, advance, counts } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		const first = vi.fn();
		await expect(withTimeout(Promise.resolve("headers"), 100, "first", { timer, onTimeout: first })).resolves.toBe(
			"headers",
		);
		advance(1000);
		expect(first).not.toHaveBeenCalled();

		const second = vi.fn();
		const never = deferred<string>();
		const waiting = withTimeout(never.promise, 500, "second", { timer, onTimeout: second });
		const result = track(waiting);
		advance(499);
		await settle();
		expect(result.settled).toBe(false);
		advance(1);
		await expect(waiting).rejects.toMatchObject({ name: "TimeoutError", message: "second" });
		expect(second).toHaveBeenCalledOnce();
		expect(first).not.toHaveBeenCalled();
		expect(counts.cleared).toBe(0); // never disposed: the caller's timer stays the caller's
	});

	it("does not fire a finished wait's onTimeout when nothing else starts the timer", async () => {
		const { timers, advance } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		const onTimeout = vi.fn();
		await withTimeout(Promise.resolve(1), 100, "late", { timer, onTimeout });
		advance(100);
		expect(onTimeout).not.toHaveBeenCalled();
	});
});

describe("DeadlineTimer.dispose", () => {
	it("clears the armed runtime timer: nothing stays pending and the wait never fires", () => {
		const { timers, advance, pendingCount } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		const fired = vi.fn();
		timer.start(1000, fired);
		expect(pendingCount()).toBe(1);
		timer.dispose();
		expect(pendingCount()).toBe(0);
		advance(5000);
		expect(fired).not.toHaveBeenCalled();
	});

	it("leaves the timer usable: a deadline started afterwards arms again and fires on time", () => {
		const { timers, advance, pendingCount } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		timer.start(100, () => {});
		timer.dispose();
		const fired: number[] = [];
		timer.start(300, () => fired.push(timers.now()));
		expect(pendingCount()).toBe(1);
		advance(1000);
		expect(fired).toEqual([300]);
	});
});
