import { describe, expect, it } from "vitest";
import { type CpuProfile, frameName, summarise, toSummary } from "../../../bench/profile-summary.ts";

const frame = (functionName: string, url = "", lineNumber = 0) => ({ functionName, url, lineNumber });

// (root) → fetch index.js:10 → [copy index.js:20 → copy index.js:20 (recursion)], [setTimeout (native)]; (idle)
const profile: CpuProfile = {
	nodes: [
		{ id: 1, callFrame: frame("(root)"), children: [2, 6] },
		{ id: 2, callFrame: frame("fetch", "file:///tmp/out/index.js", 9), children: [3, 5] },
		{ id: 3, callFrame: frame("copy", "file:///tmp/out/index.js", 19), children: [4] },
		{ id: 4, callFrame: frame("copy", "file:///tmp/out/index.js", 19) },
		{ id: 5, callFrame: frame("setTimeout") },
		{ id: 6, callFrame: frame("(idle)") },
	],
	samples: [2, 3, 4, 4, 5, 6, 6, 6],
};

describe("a CPU profile summarised (bench/profile.ts)", () => {
	it("names frames by function, file and 1-based line", () => {
		expect(frameName(frame("copy", "file:///tmp/out/index.js", 19))).toBe("copy index.js:20");
		expect(frameName(frame("", "node-internal:internal_timers", 101))).toBe(
			"(anonymous) node-internal:internal_timers:102",
		);
		expect(frameName(frame("setTimeout"))).toBe("setTimeout");
	});

	it("counts self samples at the top of the stack and total samples once per function however deep", () => {
		const summary = toSummary(profile);
		expect(summary.samples).toBe(8);
		expect(summary.idle).toBe(3);
		const self = Object.fromEntries(summary.self.map((s) => [s.name, s.samples]));
		expect(self).toEqual({ "(idle)": 3, "copy index.js:20": 3, "fetch index.js:10": 1, setTimeout: 1 });
		const total = Object.fromEntries(summary.total.map((s) => [s.name, s.samples]));
		// The recursive copy counts once per sample (3, not 5); fetch is under every busy sample.
		expect(total["copy index.js:20"]).toBe(3);
		expect(total["fetch index.js:10"]).toBe(5);
		expect(total["(root)"]).toBeUndefined();
		expect(summary.total[0]?.name).toBe("fetch index.js:10");
		expect(summary.self.find((s) => s.name === "(idle)")?.percent).toBeCloseTo(37.5);
	});

	it("prints both tables without the idle thread, busiest first", () => {
		const text = summarise(profile, 2);
		expect(text).toContain("8 samples, 3 idle (37.5%), 5 busy");
		const selfTable = text.split("total")[0] ?? "";
		expect(selfTable).not.toContain("(idle)");
		expect(selfTable.indexOf("copy index.js:20")).toBeLessThan(selfTable.indexOf("fetch index.js:10"));
	});
});
