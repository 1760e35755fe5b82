import { describe, expect, it } from "vitest";
import { OutlierTracker } from "../../../src/health/outliers";

const settings = { consecutive_failures: 3, base_ejection_s: 10, max_ejection_percent: 50 };
const pool = ["p/a", "p/b", "p/c", "p/d"];

describe("OutlierTracker", () => {
	it("ejects after the threshold, for base × ejections, and readmits once", () => {
		const tracker = new OutlierTracker();
		expect(tracker.failed("p/a", pool, settings, 0, "timeout")).toBeUndefined();
		expect(tracker.failed("p/a", pool, settings, 0, "timeout")).toBeUndefined();
		expect(tracker.failed("p/a", pool, settings, 0, "timeout")).toMatchObject({ until: 10_000 });
		expect(tracker.isEjected("p/a", 9_999)).toBe(true);
		expect(tracker.readmitted(9_999)).toEqual([]);
		expect(tracker.readmitted(10_000)).toEqual(["p/a"]);
		expect(tracker.readmitted(10_001)).toEqual([]);
		for (let i = 0; i < 3; i++) tracker.failed("p/a", pool, settings, 20_000, "timeout");
		expect(tracker.ejectedUntil("p/a", 20_000)).toBe(40_000);
	});

	it("a success resets the count", () => {
		const tracker = new OutlierTracker();
		tracker.failed("p/a", pool, settings, 0, "x");
		tracker.failed("p/a", pool, settings, 0, "x");
		tracker.succeeded("p/a");
		expect(tracker.failed("p/a", pool, settings, 0, "x")).toBeUndefined();
		expect(tracker.consecutiveFailures("p/a")).toBe(1);
	});

	it("never ejects more than max_ejection_percent of a pool", () => {
		const tracker = new OutlierTracker();
		const eject = (key: string) => [0, 1, 2].map(() => tracker.failed(key, pool, settings, 0, "x")).at(-1);
		expect(eject("p/a")).toBeDefined();
		expect(eject("p/b")).toBeDefined();
		expect(eject("p/c")).toBeUndefined(); // 2 of 4 is the cap at 50%
	});

	it("never ejects the last origin that can take traffic", () => {
		const tracker = new OutlierTracker();
		const last = [0, 1, 2].map(() => tracker.failed("p/a", ["p/a", "p/b"], settings, 0, "x", false)).at(-1);
		expect(last).toBeUndefined();
		expect(tracker.isEjected("p/a", 0)).toBe(false);
	});
});

// Issue 4: counter shards eject on their own; the authority relays what they decided.
describe("OutlierTracker across shards", () => {
	it("records an ejection decided elsewhere: honoured until its end, then reported as a readmission once", () => {
		const tracker = new OutlierTracker();
		tracker.recordEjection("p/a", 10_000, 0);
		tracker.recordEjection("p/a", 10_000, 0); // the same ejection pushed again: no change
		expect(tracker.ejections(0)).toEqual([{ key: "p/a", until: 10_000 }]);
		expect(tracker.isEjected("p/a", 9_999)).toBe(true);
		expect(tracker.nextReadmission(0)).toBe(10_000);
		expect(tracker.readmitted(10_000)).toEqual(["p/a"]);
		expect(tracker.ejections(10_000)).toEqual([]);
	});

	it("keeps the later end when two shards ejected the same origin, and ignores ejections that are over", () => {
		const tracker = new OutlierTracker();
		expect(tracker.recordEjection("p/a", 10_000, 0)).toBe(true);
		expect(tracker.recordEjection("p/a", 5_000, 0)).toBe(false);
		expect(tracker.ejectedUntil("p/a", 0)).toBe(10_000);
		expect(tracker.recordEjection("p/a", 12_000, 0)).toBe(true);
		expect(tracker.ejectedUntil("p/a", 0)).toBe(12_000);
		expect(tracker.recordEjection("p/b", 1_000, 2_000)).toBe(false);
		expect(tracker.isEjected("p/b", 0)).toBe(false);
	});

	it("counts ejections recorded from elsewhere against max_ejection_percent of its own", () => {
		const tracker = new OutlierTracker();
		tracker.recordEjection("p/a", 10_000, 0);
		tracker.recordEjection("p/b", 10_000, 0);
		expect(tracker.mayEject("p/c", pool, settings, 0, true)).toBe(false);
		expect([0, 1, 2].map(() => tracker.failed("p/c", pool, settings, 0, "x")).at(-1)).toBeUndefined();
	});

	it("does not let a recorded ejection change its own ejection multiple", () => {
		const tracker = new OutlierTracker();
		tracker.recordEjection("p/a", 10_000, 0);
		const own = [0, 1, 2].map(() => tracker.failed("p/a", pool, settings, 20_000, "x")).at(-1);
		expect(own?.until).toBe(30_000); // the first of its own: base_ejection_s × 1
	});

	it("mayEject: never the last available origin, never beyond the percentage", () => {
		const tracker = new OutlierTracker();
		expect(tracker.mayEject("p/a", pool, settings, 0, false)).toBe(false);
		expect(tracker.mayEject("p/a", pool, settings, 0, true)).toBe(true);
		expect(tracker.mayEject("p/a", ["p/a"], settings, 0, true)).toBe(false); // 50% of one is none
	});

	it("lifts an ejection the authority refused, with no readmission to report", () => {
		const tracker = new OutlierTracker();
		for (let i = 0; i < 3; i++) tracker.failed("p/a", pool, settings, 0, "x");
		expect(tracker.isEjected("p/a", 0)).toBe(true);
		tracker.lift("p/a");
		expect(tracker.isEjected("p/a", 0)).toBe(false);
		expect(tracker.readmitted(20_000)).toEqual([]);
	});
});
