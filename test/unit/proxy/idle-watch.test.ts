// The idle watch of a body (proxy.idle_timeout_ms) on the one deadline timer (issue 11: one way of
// timing out): a body that keeps moving is never cut, one that stalls is, and an ended one leaves
// no timer behind.
import { describe, expect, it } from "vitest";
import { IdleTimeout, watchForIdle } from "../../../src/proxy/bodies";
import { fakeTimers } from "../../fixtures/timers";

const chunk = new Uint8Array([1]);

describe("watchForIdle", () => {
	it("lets a body that keeps moving through, however long it runs, and clears its timer at the end", async () => {
		const clock = fakeTimers();
		const watch = watchForIdle(100, clock.timers);
		const writer = watch.writable.getWriter();
		const reader = watch.readable.getReader();
		for (let i = 0; i < 10; i++) {
			clock.advance(90);
			const written = writer.write(chunk);
			expect((await reader.read()).value).toEqual(chunk);
			await written;
		}
		const closed = writer.close();
		expect((await reader.read()).done).toBe(true);
		await closed;
		expect(clock.pendingCount()).toBe(0);
	});

	it("errors the stream once no chunk passed for the idle time", async () => {
		const clock = fakeTimers();
		const watch = watchForIdle(100, clock.timers);
		const writer = watch.writable.getWriter();
		const reader = watch.readable.getReader();
		clock.advance(60);
		const written = writer.write(chunk);
		await reader.read();
		await written;
		clock.advance(99); // 99 ms since the last chunk: still fine
		const next = reader.read();
		clock.advance(1);
		await expect(next).rejects.toBeInstanceOf(IdleTimeout);
	});

	it("watches nothing with an idle time of 0", () => {
		const clock = fakeTimers();
		watchForIdle(0, clock.timers);
		expect(clock.counts.armed).toBe(0);
	});
});
