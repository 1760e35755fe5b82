/**
 * Issue 21: health seen from several regions (a pool's `check_regions`). One probe object per region
 * ("probe:<region>"), created with its region's locationHint (which does nothing locally, so a
 * wrapped PROBES binding records it), each probing on its own alarm with X-Switchyard-Probe-Region,
 * reporting to the authority, which decides by majority. Against a real loopback origin that fails
 * the probes of chosen regions (/_origin/fail-region).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OriginStatus, PoolStatus, StatusReport } from "../../src/contract/status";
import type { Env } from "../../src/env";
import { REGION_HINTS } from "../../src/health/regions";
import { RegionProbes } from "../../src/registry/region-probes";
import { RoutingState } from "../../src/routing/routing-state";
import { aValidConfig } from "../fixtures/config";
import { cf, LBS, ok } from "./cloudflare-api";
import {
	adminResult,
	clearReceived,
	originControl,
	originUrl,
	putConfig,
	received,
	runCron,
	send,
	startClean,
} from "./helpers";
import { envWithGetByName } from "./recording-env";

beforeEach(startClean);
afterEach(async () => {
	await originControl("a", "fail-region", "DELETE");
	await originControl("b", "fail-region", "DELETE");
});

type CheckRegions = readonly string[];

function regionsConfig(checkRegions: CheckRegions, monitor: Record<string, unknown> = {}) {
	return {
		monitors: [{ id: "health", path: "/health", expected_codes: "2xx", timeout: 2, retries: 0, ...monitor }],
		pools: [
			{
				id: "main",
				name: "main",
				monitor: "health",
				check_regions: checkRegions,
				origins: [{ name: "a", address: originUrl("a") }],
			},
			{ id: "spare", name: "spare", origins: [{ name: "b", address: originUrl("b") }] },
		],
		load_balancers: [
			{
				name: "app.test",
				default_pools: ["main", "spare"],
				proxy: { debug_headers: true },
				counter_rtt_budget_ms: 0,
			},
		],
	};
}

/** The configuration as validation fills it in. */
const aConfigOf = (input: ReturnType<typeof regionsConfig>) =>
	aValidConfig(input as Parameters<typeof aValidConfig>[0]);

const prober = (region: string) => env.PROBES.getByName(`probe:${region}`);

/** PROBES as the authority's code sees it, recording each object asked for and its location hint. */
function recordingEnv(created: { name: string; locationHint: string | undefined }[]): Env {
	return envWithGetByName("PROBES", (name, options, real) => {
		created.push({ name, locationHint: options?.locationHint });
		return real.getByName(name, options);
	});
}

async function alarmOf(region: string): Promise<number | null> {
	return runInDurableObject(prober(region), (_, state) => state.storage.getAlarm());
}

/**
 * Holds the probe objects' own alarms a minute off, so only the test runs their rounds (with
 * runDurableObjectAlarm, which runs an alarm however far off it is).
 */
async function holdAlarms(regions: readonly string[]): Promise<void> {
	for (const region of regions) {
		await runInDurableObject(prober(region), async (_, state) => {
			if ((await state.storage.getAlarm()) !== null) await state.storage.setAlarm(Date.now() + 60_000);
		});
	}
}

/**
 * Puts the configuration and waits until the authority has told the probe objects (the cron's call
 * repeats any untold); their alarms are held for the test to run.
 */
async function putAndAssign(config: ReturnType<typeof regionsConfig>): Promise<void> {
	await putConfig(config);
	await env.REGISTRY.getByName("global").ensureAlarm();
	await holdAlarms(config.pools[0]?.check_regions ?? []);
}

async function regionProbesOn(name: string): Promise<string[]> {
	return (await received(name))
		.filter((request) => request.url.endsWith("/health"))
		.map((request) => String(request.headers["x-switchyard-probe-region"]));
}

const originA = (report: StatusReport): OriginStatus =>
	report.pools.find((pool) => pool.id === "main")?.origins[0] as OriginStatus;
const poolMain = (report: StatusReport): PoolStatus => report.pools.find((pool) => pool.id === "main") as PoolStatus;

describe("check_regions: probe objects", () => {
	it("creates one probe object per region, each with its region's location hint, and tells it once", async () => {
		const created: { name: string; locationHint: string | undefined }[] = [];
		const routing = new RoutingState();
		routing.install(aConfigOf(regionsConfig(["WEU", "SEAS", "NSAM", "SSAM", "NAF"])), 1);
		const regions = new RegionProbes(recordingEnv(created), routing);
		await regions.sync();
		expect(created.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
			{ name: "probe:NAF", locationHint: "afr" },
			{ name: "probe:NSAM", locationHint: "sam" },
			{ name: "probe:SEAS", locationHint: "apac-se" },
			{ name: "probe:SSAM", locationHint: "sam" },
			{ name: "probe:WEU", locationHint: "weur" },
		]);
		// Each has its own alarm, armed for its first round.
		for (const region of ["WEU", "SEAS", "NSAM", "SSAM", "NAF"]) expect(await alarmOf(region)).not.toBeNull();
		// Nothing changed: nobody is told again.
		await regions.sync();
		expect(created).toHaveLength(5);
		// A region no longer listed is told to stop: its alarm goes.
		routing.install(aConfigOf(regionsConfig(["WEU"])), 2);
		await regions.sync();
		expect(created.map((entry) => entry.name).sort()).toEqual([
			"probe:NAF",
			"probe:NAF",
			"probe:NSAM",
			"probe:NSAM",
			"probe:SEAS",
			"probe:SEAS",
			"probe:SSAM",
			"probe:SSAM",
			"probe:WEU",
		]);
		expect(await alarmOf("SEAS")).toBeNull();
		expect(await alarmOf("WEU")).not.toBeNull();
	});

	it("ALL_REGIONS means all 13 regions, each with the hint Cloudflare's region maps to", async () => {
		const created: { name: string; locationHint: string | undefined }[] = [];
		const routing = new RoutingState();
		routing.install(aConfigOf(regionsConfig(["ALL_REGIONS", "WEU"])), 1);
		await new RegionProbes(recordingEnv(created), routing).sync();
		expect(Object.fromEntries(created.map(({ name, locationHint }) => [name, locationHint]))).toEqual(
			Object.fromEntries(Object.entries(REGION_HINTS).map(([region, hint]) => [`probe:${region}`, hint])),
		);
		expect(created).toHaveLength(13);
	});

	it("each region probes on its own alarm, with its header, and re-arms for the next interval", async () => {
		await putAndAssign(regionsConfig(["WEU", "ENAM", "WNAM"], { interval: 30 }));
		const seen: string[][] = [];
		for (const region of ["WEU", "ENAM", "WNAM"]) {
			expect(await runDurableObjectAlarm(prober(region))).toBe(true);
			seen.push(await regionProbesOn("a"));
			const next = await alarmOf(region);
			expect(next).not.toBeNull();
			expect((next as number) - Date.now()).toBeGreaterThan(20_000);
		}
		expect(seen).toEqual([["WEU"], ["WEU", "ENAM"], ["WEU", "ENAM", "WNAM"]]);
		// The authority's own rounds leave the pool to its regions: the cron probes nothing of it.
		await clearReceived("a");
		await runCron(Date.now() + 120_000);
		expect(await regionProbesOn("a")).toEqual([]);
	});
});

describe("check_regions: a probe object out of date", () => {
	it("takes the authority's answer: a region no longer listed stops, and its results count for nothing", async () => {
		await putAndAssign(regionsConfig(["WEU"]));
		const [target] = (await runInDurableObject(prober("WEU"), (_, state) => state.storage.get("targets"))) as {
			key: string;
		}[];
		expect(target?.key).toBe("main/a");
		// EEU was never listed (as after an authority that restarted and forgot to tell it): told the same by hand.
		await originControl("a", "fail-region?region=EEU");
		const stale = await runInDurableObject(prober("WEU"), (_, state) => state.storage.get("targets"));
		await prober("EEU").assign(stale as never);
		expect(await alarmOf("EEU")).not.toBeNull();
		await holdAlarms(["EEU"]);
		expect(await runDurableObjectAlarm(prober("EEU"))).toBe(true);
		// It probed (with its header), the authority ignored the result and answered: nothing to check.
		expect(await regionProbesOn("a")).toEqual(["EEU"]);
		const origin = originA(await adminResult<StatusReport>("/status"));
		expect(origin.regions).toEqual({ WEU: expect.objectContaining({ last_check: null }) });
		expect(origin.healthy).toBe(true);
		expect(await alarmOf("EEU")).toBeNull();
	});
});

describe("check_regions: a probe object that lost its list", () => {
	it("asks the authority what to check before its round", async () => {
		await putAndAssign(regionsConfig(["WEU", "ENAM"]));
		// Nothing stored, and a new instance (as after an eviction with a list too large to store).
		await runInDurableObject(prober("ENAM"), (_, state) => state.storage.delete("targets"));
		await runInDurableObject(prober("ENAM"), (_, state) => {
			try {
				state.abort("test: evicted");
			} catch {
				// abort() throws in the invocation that calls it
			}
		}).catch(() => undefined);
		expect(await runInDurableObject(prober("ENAM"), (_, state) => state.storage.get("targets"))).toBeUndefined();
		expect(await runDurableObjectAlarm(prober("ENAM"))).toBe(true);
		expect(await regionProbesOn("a")).toEqual(["ENAM"]);
		expect(originA(await adminResult<StatusReport>("/status")).regions?.ENAM?.last_check).toBe("200");
	});
});

describe("check_regions: the majority decides", () => {
	it("one region of three failing keeps the origin healthy; /status and the pool health route show each region", async () => {
		await originControl("a", "fail-region?region=WEU");
		await putAndAssign(regionsConfig(["WEU", "ENAM", "WNAM"]));
		for (const region of ["WEU", "ENAM", "WNAM"]) await runDurableObjectAlarm(prober(region));
		const report = await adminResult<StatusReport>("/status");
		const origin = originA(report);
		expect(origin.healthy).toBe(true);
		expect(origin.regions?.WEU).toMatchObject({ healthy: false, last_check: "status 503, expected 2xx" });
		expect(origin.regions?.ENAM).toMatchObject({ healthy: true, last_check: "200" });
		expect(origin.regions?.WNAM).toMatchObject({ healthy: true, last_check: "200" });
		expect(origin.last_check).toBe("2 of 3 regions see it healthy (WEU: status 503, expected 2xx)");
		expect(poolMain(report).regions).toEqual({
			WEU: { healthy: false },
			ENAM: { healthy: true },
			WNAM: { healthy: true },
		});
		// Clients still reach it.
		const response = await send("https://app.test/majority");
		expect(response.headers.get("x-switchyard-origin")).toBe("a");
		// Cloudflare's pool health route: pop_health keyed by region.
		const health = await ok<{ pop_health: Record<string, { healthy: boolean; origins: Record<string, unknown>[] }> }>(
			await cf("GET", `${LBS}/pools/main/health`),
		);
		expect(Object.keys(health.result.pop_health).sort()).toEqual(["ENAM", "WEU", "WNAM"]);
		expect(health.result.pop_health.WEU?.healthy).toBe(false);
		expect(health.result.pop_health.WEU?.origins[0]?.[originUrl("a")]).toMatchObject({
			healthy: false,
			failure_reason: "status 503, expected 2xx",
			response_code: 503,
		});
		expect(health.result.pop_health.ENAM?.origins[0]?.[originUrl("a")]).toMatchObject({
			healthy: true,
			failure_reason: "No failures",
			response_code: 200,
		});
	});

	it("two regions of three failing take the origin out, and traffic fails over", async () => {
		await originControl("a", "fail-region?region=WEU");
		await originControl("a", "fail-region?region=ENAM");
		await putAndAssign(regionsConfig(["WEU", "ENAM", "WNAM"]));
		const healthyAfter: boolean[] = [];
		for (const region of ["WEU", "ENAM", "WNAM"]) {
			await runDurableObjectAlarm(prober(region));
			healthyAfter.push(originA(await adminResult<StatusReport>("/status")).healthy);
		}
		// WEU alone: 2 of 3 still healthy (ENAM and WNAM have not spoken); ENAM makes it 1 of 3.
		expect(healthyAfter).toEqual([true, false, false]);
		const origin = originA(await adminResult<StatusReport>("/status"));
		expect(origin.last_error).toBe(
			"1 of 3 regions see it healthy (ENAM: status 503, expected 2xx; WEU: status 503, expected 2xx)",
		);
		const response = await send("https://app.test/failover");
		expect(response.headers.get("x-switchyard-origin")).toBe("b");
		const events = await adminResult<{ type: string; healthy?: boolean; origin?: string }[]>("/events?limit=20");
		expect(events.filter((event) => event.type === "health" && event.origin === "a")).toMatchObject([
			{ healthy: false },
		]);
	});

	it("with two regions a tie counts as healthy", async () => {
		await originControl("a", "fail-region?region=WEU");
		await putAndAssign(regionsConfig(["WEU", "ENAM"]));
		for (const region of ["WEU", "ENAM"]) await runDurableObjectAlarm(prober(region));
		const origin = originA(await adminResult<StatusReport>("/status"));
		expect(origin.healthy).toBe(true);
		expect(origin.regions?.WEU?.healthy).toBe(false);
	});

	it("without check_regions the authority probes once per round, with no region header", async () => {
		const config = regionsConfig([]);
		delete (config.pools[0] as { check_regions?: unknown }).check_regions;
		await putConfig(config);
		await runCron(Date.now());
		expect(await regionProbesOn("a")).toEqual(["undefined"]);
		const origin = originA(await adminResult<StatusReport>("/status"));
		expect(origin.regions).toBeNull();
		const health = await ok<{ pop_health: Record<string, unknown> }>(await cf("GET", `${LBS}/pools/main/health`));
		expect(Object.keys(health.result.pop_health)).toEqual(["local"]);
	});
});
