import { describe, expect, it } from "vitest";
import { DeadlineTimer } from "../../src/deadline";
import { fakeTimers } from "../fixtures/timers";

describe("DeadlineTimer", () => {
	it("runs the callback once the time has passed, not before", () => {
		const { timers, advance } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		const fired: number[] = [];
		timer.start(100, () => fired.push(timers.now()));
		advance(99);
		expect(fired).toEqual([]);
		advance(1);
		expect(fired).toEqual([100]);
		advance(1000);
		expect(fired).toEqual([100]);
	});

	it("does not run it once stopped", () => {
		const { timers, advance } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		let fired = false;
		timer.start(100, () => {
			fired = true;
		});
		advance(50);
		timer.stop();
		advance(1000);
		expect(fired).toBe(false);
	});

	it("reuses the armed timer for a later deadline, re-arming for the rest when it fires", () => {
		const { timers, advance, counts } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		timer.start(1000, () => {
			throw new Error("the first wait ended: its deadline must not fire");
		});
		advance(10);
		timer.stop();
		const fired: number[] = [];
		timer.start(5000, () => fired.push(timers.now()));
		expect(counts).toEqual({ armed: 1, cleared: 0 });
		advance(4999);
		expect(fired).toEqual([]);
		advance(1);
		expect(fired).toEqual([5010]);
		expect(counts).toEqual({ armed: 2, cleared: 0 });
	});

	it("arms a new timer for a deadline earlier than the armed one", () => {
		const { timers, advance, counts, pendingCount } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		timer.start(1000, () => {});
		timer.stop();
		const fired: number[] = [];
		timer.start(300, () => fired.push(timers.now()));
		expect(counts).toEqual({ armed: 2, cleared: 1 });
		expect(pendingCount()).toBe(1);
		advance(300);
		expect(fired).toEqual([300]);
	});

	it("runs only the latest callback when started again without a stop", () => {
		const { timers, advance } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		const fired: string[] = [];
		timer.start(100, () => fired.push("first"));
		timer.start(200, () => fired.push("second"));
		advance(1000);
		expect(fired).toEqual(["second"]);
	});

	it("leaves nothing armed after the deadline fired", () => {
		const { timers, advance, pendingCount } = fakeTimers();
		const timer = new DeadlineTimer(timers);
		timer.start(100, () => {});
		advance(100);
		expect(pendingCount()).toBe(0);
	});
});
