import { describe, expect, it } from "vitest";
import type { Monitor } from "../../../src/config/schema";
import type { ProbeResult, RegionTarget } from "../../../src/contract/probe";
import type { OriginHealth } from "../../../src/health/record";
import {
	type CheckRegion,
	isHealthyByMajority,
	PROBE_REGION_HEADER,
	type RegionBook,
	type RegionView,
	toCheckRegions,
	toDueRegionTargets,
	toMajorityResults,
	toNextRegionDueAt,
	toProbeRegion,
	toRegionAssignments,
	toRegionProbe,
} from "../../../src/health/regions";
import { UNCHECKED } from "../../../src/health/state-machine";
import { aConfig, aMonitor, anOrigin, aPool, aSnapshot } from "../../fixtures/config";

const view = (healthy: boolean): RegionView => ({
	state: { ...UNCHECKED, healthy },
	reason: healthy ? "200" : "status 503",
	at: 1,
	rttMs: 1,
});

describe("isHealthyByMajority", () => {
	it.each([
		{ regions: ["WEU", "ENAM", "WNAM"], down: [], healthy: true },
		{ regions: ["WEU", "ENAM", "WNAM"], down: ["WEU"], healthy: true },
		{ regions: ["WEU", "ENAM", "WNAM"], down: ["WEU", "ENAM"], healthy: false },
		{ regions: ["WEU", "ENAM"], down: ["WEU"], healthy: true },
		{ regions: ["WEU", "ENAM"], down: ["WEU", "ENAM"], healthy: false },
		{ regions: ["WEU"], down: ["WEU"], healthy: false },
		{ regions: ["WEU", "ENAM", "WNAM", "EEU"], down: ["WEU", "ENAM"], healthy: true },
		{ regions: ["WEU", "ENAM", "WNAM", "EEU"], down: ["WEU", "ENAM", "EEU"], healthy: false },
	])("$regions with $down down: healthy $healthy", ({ regions, down, healthy }) => {
		const views = Object.fromEntries(regions.map((region) => [region, view(!down.includes(region))]));
		expect(isHealthyByMajority(regions as CheckRegion[], views)).toBe(healthy);
	});

	it("counts a region that has not reported as healthy", () => {
		expect(isHealthyByMajority(["WEU", "ENAM", "WNAM"], { WEU: view(false) })).toBe(true);
	});
});

describe("toCheckRegions and names", () => {
	it("expands ALL_REGIONS to all 13, lists each region once, in a fixed order", () => {
		expect(toCheckRegions(["ALL_REGIONS"])).toHaveLength(13);
		expect(toCheckRegions(["WEU", "ENAM", "WEU"])).toEqual(["ENAM", "WEU"]);
		expect(toCheckRegions(undefined)).toEqual([]);
		expect(toCheckRegions([])).toEqual([]);
	});

	it("reads a probe object's region from its name, nothing else", () => {
		expect(toProbeRegion("probe:WEU")).toBe("WEU");
		expect(toProbeRegion("probe:MARS")).toBeUndefined();
		expect(toProbeRegion("probe:constructor")).toBeUndefined();
		expect(toProbeRegion("global")).toBeUndefined();
		expect(toProbeRegion(undefined)).toBeUndefined();
	});
});

describe("toRegionAssignments", () => {
	it("gives each listed region the enabled origins of enabled, monitored pools, with its header and interval", () => {
		const snapshot = aSnapshot(
			aConfig({
				monitors: [aMonitor("mon", { interval: 15, path: "/health" })],
				pools: [
					aPool("p", [anOrigin("a"), anOrigin("off", undefined, { enabled: false })], {
						monitor: "mon",
						check_regions: ["WEU", "ENAM"],
					}),
					aPool("q", [anOrigin("b")], { monitor: "mon" }),
					aPool("unmonitored", [anOrigin("c")], { check_regions: ["WEU"] }),
					aPool("disabled", [anOrigin("d")], { monitor: "mon", check_regions: ["WEU"], enabled: false }),
					aPool("primary", [anOrigin("e")]),
				],
			}),
		);
		const assignments = toRegionAssignments(snapshot.pools.values());
		expect([...assignments.keys()].sort()).toEqual(["ENAM", "WEU"]);
		const weu = assignments.get("WEU") ?? [];
		expect(weu.map((target) => target.key)).toEqual(["p/a"]);
		expect(weu[0]?.intervalMs).toBe(15_000);
		expect(assignments.get("ENAM")?.map((target) => target.key)).toEqual(["p/a"]);
		// The object sends its own region, whatever its list says.
		expect(toRegionProbe(weu[0] as RegionTarget, "EEU").headers[PROBE_REGION_HEADER]).toBe("EEU");
	});
});

describe("a probe object's schedule", () => {
	const target = (key: string, intervalMs: number, retries = 0): RegionTarget => ({
		key,
		url: `http://${key}/health`,
		method: "GET",
		headers: {},
		timeoutMs: 1000,
		retries,
		expectedCodes: "200",
		expectedBody: "",
		followRedirects: false,
		intervalMs,
	});

	it("hands out the never-checked and those an interval old, oldest first, within the budget", () => {
		const targets = [target("new", 10_000), target("old", 10_000), target("recent", 10_000), target("older", 10_000)];
		const last: Record<string, number> = { old: 5_000, recent: 12_000, older: 1_000 };
		const due = toDueRegionTargets(targets, (t) => last[t.key], 20_000, 48);
		expect(due.map((t) => t.key)).toEqual(["new", "older", "old"]);
		expect(toDueRegionTargets(targets, (t) => last[t.key], 20_000, 2).map((t) => t.key)).toEqual(["new", "older"]);
	});

	it("is next due at the earliest of its targets; never without targets", () => {
		const targets = [target("a", 10_000), target("b", 30_000)];
		expect(toNextRegionDueAt(targets, () => 1_000, 5_000)).toBe(11_000);
		expect(toNextRegionDueAt(targets, (t) => (t.key === "a" ? 1_000 : undefined), 5_000)).toBe(5_000);
		expect(toNextRegionDueAt([], () => 1_000, 5_000)).toBeUndefined();
	});
});

describe("toMajorityResults", () => {
	const monitor = { consecutive_up: 0, consecutive_down: 2 } as Monitor;
	const regions: CheckRegion[] = ["WEU", "ENAM", "WNAM"];
	function aBook(health: OriginHealth, listed = regions): RegionBook {
		return {
			current: (key) => (key === "p/a" ? { identity: "id1", monitor, regions: listed } : undefined),
			healthOf: () => health,
		};
	}
	const result = (ok: boolean, at: number, overrides: Partial<ProbeResult> = {}): ProbeResult => ({
		key: "p/a",
		identity: "id1",
		ok,
		at,
		rttMs: 3,
		reason: ok ? "200" : "status 503, expected 2xx",
		...(ok ? {} : { failure: "status" as const }),
		...overrides,
	});

	it("applies each region's own rise/fall before the majority", () => {
		const health: OriginHealth = { state: UNCHECKED };
		const book = aBook(health);
		// A region's first result decides its view; later ones follow consecutive_down 2.
		const seen = [
			toMajorityResults("WEU", [result(true, 1)], book)[0]?.ok,
			toMajorityResults("ENAM", [result(true, 2)], book)[0]?.ok,
			toMajorityResults("WEU", [result(false, 3)], book)[0]?.ok,
			toMajorityResults("ENAM", [result(false, 4)], book)[0]?.ok,
			toMajorityResults("ENAM", [result(false, 5)], book)[0]?.ok,
			toMajorityResults("WEU", [result(false, 6)], book)[0]?.ok,
		];
		expect(seen).toEqual([true, true, true, true, true, false]);
		expect(health.regions?.WEU?.state.healthy).toBe(false);
		expect(health.regions?.ENAM?.state.healthy).toBe(false);
		expect(health.regions?.WNAM).toBeUndefined();
	});

	it("says which regions see it down, and keeps no failure on a result the majority passes", () => {
		const health: OriginHealth = { state: UNCHECKED };
		const [overall] = toMajorityResults("WEU", [result(false, 1)], aBook(health));
		expect(overall).toMatchObject({
			ok: true,
			reason: "2 of 3 regions see it healthy (WEU: status 503, expected 2xx)",
		});
		expect(overall?.failure).toBeUndefined();
	});

	it("stops counting a region not heard from for three intervals: its last view no longer outvotes the others", () => {
		const every60s = { ...monitor, interval: 60 } as Monitor;
		const health: OriginHealth = { state: UNCHECKED };
		const book: RegionBook = {
			current: () => ({ identity: "id1", monitor: every60s, regions }),
			healthOf: () => health,
		};
		toMajorityResults("ENAM", [result(false, 1_000)], book);
		toMajorityResults("WEU", [result(false, 100_000)], book);
		// Both heard from within 180 s: two of three see it down.
		expect(toMajorityResults("WNAM", [result(true, 150_000)], book)[0]).toMatchObject({
			ok: false,
			reason: expect.stringMatching(/^1 of 3 regions see it healthy \(WEU: .*; ENAM: /),
		});
		// ENAM last spoke 189 s before: it no longer counts, and WEU alone does not make a majority.
		expect(toMajorityResults("WNAM", [result(true, 190_000)], book)[0]).toMatchObject({
			ok: true,
			reason: "2 of 3 regions see it healthy (WEU: status 503, expected 2xx)",
		});
		// Its view is kept (and shown); it counts again when it reports.
		expect(health.regions?.ENAM?.state.healthy).toBe(false);
	});

	it("drops results for a gone or renewed origin, and from a region the pool no longer lists", () => {
		const health: OriginHealth = { state: UNCHECKED };
		expect(toMajorityResults("WEU", [result(false, 1, { key: "p/gone" })], aBook(health))).toEqual([]);
		expect(toMajorityResults("WEU", [result(false, 1, { identity: "old" })], aBook(health))).toEqual([]);
		expect(toMajorityResults("EEU", [result(false, 1)], aBook(health))).toEqual([]);
		expect(health.regions).toBeUndefined();
	});

	it("forgets the views of regions no longer listed", () => {
		const health: OriginHealth = { state: UNCHECKED, regions: { EEU: view(false) } };
		toMajorityResults("WEU", [result(true, 1)], aBook(health));
		expect(Object.keys(health.regions ?? {})).toEqual(["WEU"]);
	});
});
