import { describe, expect, it } from "vitest";
import { type BannerOrigin, toOriginState, toOriginSummary } from "../../demo/banner.ts";

const healthy: BannerOrigin = {
	name: "origin-1",
	enabled: true,
	healthy: true,
	pending: false,
	draining: false,
	draining_since: null,
	ejected_until: null,
	last_error: null,
};

describe("the demo banner's origin states (issue 14, item 7)", () => {
	it.each([
		[{}, "healthy"],
		[
			{ draining: true, draining_since: "2026-12-07T10:00:00.000Z" },
			"draining since 2026-12-07T10:00:00.000Z (…/enable ends it)",
		],
		[{ healthy: false, last_error: "status 503, expected 2xx" }, "unhealthy: status 503, expected 2xx"],
		[{ pending: true }, "not checked yet"],
		[{ ejected_until: "2026-12-07T10:01:00.000Z", healthy: false }, "ejected until 2026-12-07T10:01:00.000Z"],
		[{ enabled: false }, "disabled"],
	])("%o → %s", (change, expected) => {
		expect(toOriginState({ ...healthy, ...change })).toBe(expected);
	});

	it("says how many origins take no new traffic, and which; nothing when all are healthy", () => {
		const drained = { ...healthy, name: "origin-2", draining: true, draining_since: "t" };
		const down = { ...healthy, name: "origin-3", healthy: false, last_error: "timeout" };
		expect(toOriginSummary([healthy, drained, down])).toBe(" — 2 of 3 not taking new traffic: origin-2, origin-3");
		expect(toOriginSummary([healthy, { ...healthy, name: "origin-2" }])).toBe("");
	});
});
