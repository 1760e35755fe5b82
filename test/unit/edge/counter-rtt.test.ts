import { describe, expect, it } from "vitest";
import { COUNTER_RTT_ALPHA, CounterRtt, MAX_MEASURED_OBJECTS, MIN_SAMPLES } from "../../../src/edge/counter-rtt";

describe("an isolate's round trips to its counter objects (issue 16, item 2)", () => {
	it("keeps a moving average per object and says when it is over a budget (not before MIN_SAMPLES calls, never with 0)", () => {
		const rtt = new CounterRtt();
		expect(rtt.isOver("lb:a@GRU", 20)).toBe(false);
		for (let i = 1; i < MIN_SAMPLES; i++) {
			rtt.sample("lb:a@GRU", 120);
			expect(rtt.isOver("lb:a@GRU", 20)).toBe(false);
		}
		rtt.sample("lb:a@GRU", 120);
		expect(rtt.averageOf("lb:a@GRU")).toBe(120);
		expect(rtt.isOver("lb:a@GRU", 20)).toBe(true);
		expect(rtt.isOver("lb:a@GRU", 0)).toBe(false);
		expect(rtt.isOver("lb:a@FRA", 20)).toBe(false);
		rtt.sample("lb:a@GRU", 4);
		expect(rtt.averageOf("lb:a@GRU")).toBeCloseTo(120 + COUNTER_RTT_ALPHA * (4 - 120));
		// Back under budget after a handful of quick calls.
		let samples = 1;
		while (rtt.isOver("lb:a@GRU", 20)) {
			rtt.sample("lb:a@GRU", 4);
			samples++;
		}
		expect(samples).toBeLessThanOrEqual(8);
	});

	it("times a call, a failed one too (an object that hangs is over any budget)", async () => {
		let now = 0;
		const rtt = new CounterRtt(() => now);
		await rtt.time("k", async () => {
			now += 35;
			return "answer";
		});
		expect(rtt.averageOf("k")).toBe(35);
		await expect(
			rtt.time("slow", async () => {
				now += 1000;
				throw new Error("timed out");
			}),
		).rejects.toThrow("timed out");
		expect(rtt.averageOf("slow")).toBe(1000);
	});

	it("answers with the call's own value, and turns a call that throws before it starts into a rejection, timed too", async () => {
		let now = 0;
		const rtt = new CounterRtt(() => now);
		const reply = { plan: 1 };
		await expect(rtt.time("k", async () => reply)).resolves.toBe(reply);
		const calling = rtt.time("broken", () => {
			now += 2;
			throw new Error("no stub");
		});
		await expect(calling).rejects.toThrow("no stub");
		expect(rtt.averageOf("broken")).toBe(2);
	});

	it("remembers at most MAX_MEASURED_OBJECTS objects (issue 14, item 3)", () => {
		const rtt = new CounterRtt();
		for (let i = 0; i < MAX_MEASURED_OBJECTS + 500; i++) rtt.sample(`lb:x@C${i}`, 50);
		expect(rtt.averageOf("lb:x@C0")).toBeUndefined();
		expect(rtt.averageOf(`lb:x@C${MAX_MEASURED_OBJECTS + 499}`)).toBe(50);
	});
});
