/**
 * bench/simulate/model.ts, the pure model behind `npm run simulate`: distances, the RTT model and
 * its fit, nearest hosts, mixture percentiles, the per-scope numbers with and without the budget,
 * and replica propagation; and bench/simulate/sites.ts's data holds together.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
	busiestSite,
	type Component,
	checkPairs,
	fitRttModel,
	greatCircleKm,
	JITTER,
	jitterMeanMs,
	likeliestHost,
	measuredPlacement,
	mixtureCdf,
	mixtureMax,
	mixtureMean,
	nearestHost,
	nearestPlacement,
	quantile,
	type ReferencePair,
	RTT_MODEL,
	rttMs,
	type Site,
	SWITCHYARD,
	simulatePropagation,
	simulateScope,
	siteCalls,
	siteRttMs,
	type World,
} from "../../../bench/simulate/model.ts";
import { MEASURED_HOSTS, REFERENCE_PAIRS, SITES } from "../../../bench/simulate/sites.ts";

const ROOT = join(import.meta.dirname, "../../..");

const at = (iata: string, lat: number, lon: number, percent: number, host: boolean): Site => ({
	iata,
	city: iata,
	region: "test",
	lat,
	lon,
	percent,
	host,
});

/** Two sites on the equator: A hosts objects (60% of traffic), B is 2,000 km east (40%). */
const A = at("AAA", 0, 0, 60, true);
const B = at("BBB", 0, (2_000 / (Math.PI * 6371.0088)) * 180, 40, false);
const small: World = { sites: [A, B], placement: nearestPlacement([A, B]), rtt: RTT_MODEL, jitter: JITTER };
/** B's call: 5 ms + 1.4 × 2 × 2,000 / 200 = 33 ms. */
const B_RTT = 33;

describe("greatCircleKm", () => {
	it("measures known distances", () => {
		expect(greatCircleKm({ lat: 51.507, lon: -0.128 }, { lat: 40.713, lon: -74.006 })).toBeCloseTo(5_570, -1);
		expect(greatCircleKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371.0088, 6);
		expect(greatCircleKm({ lat: 10, lon: 20 }, { lat: 10, lon: 20 })).toBe(0);
		expect(greatCircleKm(A, B)).toBeCloseTo(2_000, 6);
	});

	it("is symmetric", () => {
		const p = { lat: -33.9, lon: 151.2 };
		const q = { lat: 35.8, lon: 140.4 };
		expect(greatCircleKm(p, q)).toBeCloseTo(greatCircleKm(q, p), 9);
	});
});

describe("rttMs", () => {
	it("is the fixed overhead plus inflated fibre time, and sameSiteMs within a site", () => {
		expect(rttMs(0)).toBe(RTT_MODEL.sameSiteMs);
		expect(rttMs(1_000)).toBeCloseTo(5 + 1.4 * 10, 9);
		expect(rttMs(2_000) - rttMs(1_000)).toBeCloseTo(14, 9);
		expect(siteRttMs(A, A)).toBe(RTT_MODEL.sameSiteMs);
		expect(siteRttMs(A, B)).toBeCloseTo(B_RTT, 6);
		expect(rttMs(1_000, { fibreKmPerMs: 100, inflation: 1, hopOverheadMs: 0, sameSiteMs: 0 })).toBeCloseTo(20, 9);
	});

	it("stays within 25% of each recent published round trip, 12% on average", () => {
		const recent = checkPairs(REFERENCE_PAIRS.filter((p) => p.source.includes("recent")));
		expect(recent.length).toBeGreaterThanOrEqual(5);
		for (const check of recent) expect(Math.abs(check.error)).toBeLessThan(0.25);
		expect(recent.reduce((sum, c) => sum + Math.abs(c.error), 0) / recent.length).toBeLessThan(0.13);
	});
});

describe("fitRttModel", () => {
	it("recovers the parameters of pairs the model itself generated", () => {
		const model = { ...RTT_MODEL, inflation: 1.7, hopOverheadMs: 9 };
		const pairs: ReferencePair[] = [500, 2_000, 6_000, 11_000].map((km) => ({
			a: "x",
			b: "y",
			from: { lat: 0, lon: 0 },
			to: { lat: 0, lon: (km / (Math.PI * 6371.0088)) * 180 },
			rttMs: rttMs(km, model),
			source: "synthetic",
		}));
		const fit = fitRttModel(pairs);
		expect(fit.inflation).toBeCloseTo(1.7, 9);
		expect(fit.hopOverheadMs).toBeCloseTo(9, 9);
		expect(checkPairs(pairs, model).every((c) => Math.abs(c.error) < 1e-9)).toBe(true);
	});

	it("reports the error's sign: positive when the model is slower than published", () => {
		const pair: ReferencePair = { a: "x", b: "y", from: A, to: B, rttMs: 30, source: "t" };
		expect(checkPairs([pair])[0]?.error).toBeCloseTo((B_RTT - 30) / 30, 6);
		expect(() => fitRttModel([pair])).toThrow(/two pairs/);
	});
});

describe("nearestHost and placements", () => {
	const C = at("CCC", 0, 60, 0, true);
	const D = at("DDD", 0, 61, 0, true);
	it("keeps a host's objects at home and sends others to the closest host", () => {
		expect(nearestHost(A, [A, B, C]).iata).toBe("AAA");
		expect(nearestHost(B, [A, B, C]).iata).toBe("AAA");
		expect(nearestHost(at("EEE", 0, 50, 0, false), [A, B, C]).iata).toBe("CCC");
		expect(nearestHost(at("EEE", 0, 60.5, 0, false), [A, D, C]).iata).toBe("DDD"); // a tie: the first listed
		expect(() => nearestHost(B, [B])).toThrow(/no site hosts/);
	});

	it("normalises measured shares and refuses a host that is not one", () => {
		const placement = measuredPlacement([A, B, C], { BBB: { AAA: 3, CCC: 1 } });
		expect(placement(B).map((e) => [e.host.iata, e.likelihood])).toEqual([
			["AAA", 0.75],
			["CCC", 0.25],
		]);
		expect(likeliestHost(B, placement).iata).toBe("AAA");
		expect(() => placement(A)).toThrow(/no measured placement/);
		expect(() => measuredPlacement([A, B], { AAA: { BBB: 1 } })(A)).toThrow(/not a listed host/);
	});

	it("finds the busiest site, the first on a tie", () => {
		expect(busiestSite([B, A]).iata).toBe("AAA");
		expect(busiestSite([at("X", 0, 0, 5, false), at("Y", 0, 0, 5, false)]).iata).toBe("X");
	});
});

describe("mixtures", () => {
	it("takes quantiles of point masses at the least value reaching q", () => {
		const points: Component[] = [
			{ weight: 3, kind: "point", at: 0 },
			{ weight: 7, kind: "point", at: 10 },
		];
		expect(quantile(points, 0.3)).toBe(0);
		expect(quantile(points, 0.31)).toBeCloseTo(10, 6);
		expect(quantile(points, 1)).toBeCloseTo(10, 6);
		expect(mixtureMean(points)).toBeCloseTo(7, 9);
		expect(mixtureMax(points)).toBe(10);
		expect(() => quantile(points, 0)).toThrow(/outside/);
	});

	it("matches the exponential's and the uniform's closed forms", () => {
		const exponential: Component[] = [{ weight: 1, kind: "exponential", from: 20, mean: 4 }];
		expect(quantile(exponential, 0.5)).toBeCloseTo(20 + 4 * Math.LN2, 6);
		expect(quantile(exponential, 0.99)).toBeCloseTo(20 - 4 * Math.log(0.01), 6);
		expect(mixtureMean(exponential)).toBe(24);
		const uniform: Component[] = [{ weight: 1, kind: "uniform", from: 100, width: 5_000 }];
		expect(quantile(uniform, 0.5)).toBeCloseTo(2_600, 4);
		expect(mixtureCdf(uniform, 99)).toBe(0);
		expect(mixtureCdf(uniform, 5_100)).toBe(1);
		expect(mixtureMax(uniform)).toBe(5_100);
	});

	it("weights components: a CDF that only grows from 0 to 1", () => {
		const mixed: Component[] = [
			{ weight: 0.5, kind: "point", at: 0 },
			{ weight: 0.3, kind: "exponential", from: 10, mean: 2 },
			{ weight: 0.2, kind: "uniform", from: 50, width: 100 },
		];
		let previous = 0;
		for (let x = -1; x <= 200; x += 0.5) {
			const p = mixtureCdf(mixed, x);
			expect(p).toBeGreaterThanOrEqual(previous);
			previous = p;
		}
		expect(mixtureCdf(mixed, -1)).toBe(0);
		expect(previous).toBeCloseTo(1, 9);
		expect(quantile(mixed, 0.5)).toBe(0);
		expect(quantile(mixed, 0.9)).toBeCloseTo(100, 4); // halfway through the uniform's 20%
	});
});

describe("simulateScope", () => {
	const rps = 10_000;
	it("colo: each site calls its own object at its nearest host", () => {
		const calls = siteCalls(small, { scope: "colo", budgetMs: 0, worldRps: rps });
		expect(calls.map((c) => [c.site.iata, c.host?.iata, c.weight])).toEqual([
			["AAA", "AAA", 0.6],
			["BBB", "AAA", 0.4],
		]);
		const result = simulateScope(small, { scope: "colo", budgetMs: 0, worldRps: rps });
		// 60% of requests pay 1 ms + jitter, 40% pay 33 ms + jitter.
		expect(result.p50Ms).toBeGreaterThan(1);
		expect(result.p50Ms).toBeLessThan(3);
		expect(result.p90Ms).toBeGreaterThan(B_RTT);
		expect(result.meanMs).toBeCloseTo(0.6 * (1 + jitterMeanMs(1)) + 0.4 * (B_RTT + jitterMeanMs(B_RTT)), 4);
		expect(result.plannedLocally).toBe(0);
		expect(result.objects).toBe(2);
		expect(result.busiestObject).toBe("lb:<name>@AAA");
		expect(result.busiestObjectRps).toBeCloseTo(6_000, 6);
	});

	it("colo with a budget: requests from sites whose average round trip is over it add nothing", () => {
		const result = simulateScope(small, { scope: "colo", budgetMs: 20, worldRps: rps });
		expect(result.plannedLocally).toBeCloseTo(0.4, 9);
		expect(result.p90Ms).toBeLessThan(10);
		expect(result.p99Ms).toBeLessThan(10);
		expect(result.objects).toBe(2); // B's object still hears the outcomes
		expect(result.busiestObjectRps).toBeCloseTo(6_000, 6);
		// The isolate compares its moving average, base RTT plus mean jitter, with the budget.
		const average = B_RTT + jitterMeanMs(B_RTT);
		expect(simulateScope(small, { scope: "colo", budgetMs: average + 0.01, worldRps: rps }).plannedLocally).toBe(0);
		expect(simulateScope(small, { scope: "colo", budgetMs: average - 0.01, worldRps: rps }).plannedLocally).toBeCloseTo(
			0.4,
			9,
		);
	});

	it("global: one object, at the busiest site's host, planning every request", () => {
		const result = simulateScope(small, { scope: "global", budgetMs: 0, worldRps: rps });
		expect(result.objects).toBe(1);
		expect(result.busiestObject).toBe("lb:<name>");
		expect(result.busiestObjectRps).toBeCloseTo(rps, 6);
		const elsewhere = simulateScope(small, { scope: "global", budgetMs: 20, worldRps: rps, globalHost: B });
		// Created at B (were it a host): now A's 60% are far and plan locally.
		expect(elsewhere.plannedLocally).toBeCloseTo(0.6, 9);
		expect(elsewhere.busiestObjectRps).toBeCloseTo(4_000, 6);
	});

	it("isolate: no call on the path, every request planned locally", () => {
		const result = simulateScope(small, { scope: "isolate", budgetMs: 20, worldRps: rps });
		expect([result.meanMs, result.p50Ms, result.p99Ms, result.plannedLocally]).toEqual([0, 0, 0, 1]);
		expect(result.busiestObject).toBeNull();
		expect(result.busiestObjectRps).toBe(0);
		expect(result.objects).toBe(2);
	});

	it("measured placement spreads a site's requests over its hosts by likelihood", () => {
		const C = at("CCC", 0, 0.01, 0, true);
		const w: World = {
			...small,
			sites: [A, B, C],
			placement: measuredPlacement([A, B, C], { AAA: { AAA: 1 }, BBB: { AAA: 0.5, CCC: 0.5 }, CCC: { CCC: 1 } }),
		};
		const calls = siteCalls(w, { scope: "colo", budgetMs: 0, worldRps: rps }).filter((c) => c.site.iata === "BBB");
		expect(calls.map((c) => [c.host?.iata, c.weight])).toEqual([
			["AAA", 0.2],
			["CCC", 0.2],
		]);
		// Still one object per site: B's is wherever it landed.
		expect(simulateScope(w, { scope: "colo", budgetMs: 0, worldRps: rps }).objects).toBe(3);
	});
});

describe("simulatePropagation", () => {
	const options = {
		authority: A,
		globalHost: A,
		perRound: 48,
		roundGapMs: 50,
		outcomeBatchMs: 1_000,
		revalidateMs: 5_000,
	};
	const rows = (w: World, o = options) => new Map(simulatePropagation(w, o).map((row) => [row.target, row]));

	it("pushes authority → hub (one RTT) → counter objects (one same-site RTT)", () => {
		const r = rows(small);
		// Both hubs live at A, where the authority is: one same-site RTT.
		expect(r.get("hubs colo:<colo>")?.maxMs).toBe(1);
		expect(r.get("counter objects lb:<name>@<colo>")?.maxMs).toBe(2);
		expect(r.get("global object lb:<name>")?.p50Ms).toBe(2);
		// B's isolates hear it with the reply to their next call: one more RTT to A.
		expect(r.get("isolates, colo scope (next route reply)")?.maxMs).toBeCloseTo(2 + B_RTT, 6);
		expect(r.get("isolates planning locally (next outcome reply)")?.maxMs).toBeCloseTo(2 + B_RTT + 1_000, 6);
		expect(r.get("isolates, idle (own check of the hub)")?.maxMs).toBeCloseTo(1 + B_RTT + 5_000, 6);
		expect(r.get("isolates, idle (own check of the hub)")?.p50Ms).toBeGreaterThan(2_000);
	});

	it("sends hubs beyond a round later, the busiest sites' first", () => {
		const r = rows(small, { ...options, perRound: 1 });
		// A (60%) in the first round, B's hub in the second, 50 ms later; both hubs are at A.
		expect(r.get("hubs colo:<colo>")?.maxMs).toBe(51);
		expect(r.get("hubs colo:<colo>")?.p50Ms).toBeCloseTo(1, 6);
	});

	it("costs one authority → host RTT for a far authority", () => {
		const r = rows(small, { ...options, authority: B });
		expect(r.get("hubs colo:<colo>")?.maxMs).toBeCloseTo(B_RTT, 6);
	});
});

describe("the data", () => {
	it("has at least 20 sites whose shares sum to 100%, 32 of them hosts", () => {
		expect(SITES.length).toBeGreaterThanOrEqual(20);
		expect(SITES.reduce((sum, s) => sum + s.percent, 0)).toBeCloseTo(100, 9);
		expect(SITES.filter((s) => s.host)).toHaveLength(32);
		expect(new Set(SITES.map((s) => s.iata)).size).toBe(SITES.length);
		for (const s of SITES) {
			expect(s.iata).toMatch(/^[A-Z]{3}$/);
			expect(Math.abs(s.lat)).toBeLessThanOrEqual(90);
			expect(Math.abs(s.lon)).toBeLessThanOrEqual(180);
		}
	});

	it("has a measured placement for every site, landing only at hosts", () => {
		const placement = measuredPlacement(SITES, MEASURED_HOSTS);
		for (const s of SITES) {
			const hosts = placement(s);
			expect(hosts.reduce((sum, e) => sum + e.likelihood, 0)).toBeCloseTo(1, 9);
		}
		expect(Object.keys(MEASURED_HOSTS).sort()).toEqual(SITES.map((s) => s.iata).sort());
	});

	it("has no hosts in South America, Africa or the Middle East (Cloudflare's docs)", () => {
		const regions = new Set(SITES.filter((s) => s.host).map((s) => s.region));
		for (const region of ["Latin America", "Africa", "Middle East"]) expect(regions.has(region)).toBe(false);
	});

	it("uses Switchyard's own numbers", () => {
		const source = (path: string) => readFileSync(join(ROOT, path), "utf8");
		const constant = (path: string, pattern: RegExp) => Number(pattern.exec(source(path))?.[1]?.replaceAll("_", ""));
		expect(constant("src/routing/shard-keys.ts", /REVALIDATE_MS = ([\d_]+)/)).toBe(SWITCHYARD.revalidateMs);
		expect(constant("src/routing/fan-out.ts", /MAX_CALLS_PER_INVOCATION = ([\d_]+)/)).toBe(SWITCHYARD.pushRound);
		expect(constant("src/edge/isolate-counters.ts", /ISOLATE_OUTCOME_DELAY_MS = ([\d_]+)/)).toBe(
			SWITCHYARD.outcomeBatchMs,
		);
		expect(constant("src/config/schema.ts", /counter_rtt_budget_ms:[^\n]*\.default\(([\d_]+)\)/)).toBe(
			SWITCHYARD.defaultBudgetMs,
		);
	});
});
