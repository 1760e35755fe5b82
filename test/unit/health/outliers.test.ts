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
