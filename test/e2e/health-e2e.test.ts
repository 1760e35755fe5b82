/**
 * End to end on the real `wrangler dev`: three origins under steady load (concurrent GETs in a
 * loop), one killed. Clients see no failed GET (retries cover the gap); the origin is marked down
 * by the next health check (the cron trigger, fired through /cdn-cgi/local/scheduled); restarted on the same
 * port it comes back after `consecutive_up` good checks, and ramps up under slow start: /status
 * shows slow_start < 1 and it gets fewer requests than the others over the next requests.
 *
 * The cron is fired with explicit scheduled times a minute apart (`&time=`), with a 60 s monitor interval, so
 * every check here is one the test fired (the registry's own alarm finds nothing due in between).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall, adminResult } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";
const CONSECUTIVE_UP = 2;
const SLOW_START_S = 15;
const LANES = 4;

let wrangler: WranglerDev;
let origins: OriginServer[];
let restarted: OriginServer | undefined;
let stateDir: string;
/** When the configuration was in place: its origins count as warm SLOW_START_S later. */
let configuredAt: number;

beforeAll(async () => {
	origins = await Promise.all(["east", "west", "north"].map((name) => startOrigin({ name })));
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-health-e2e-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		monitors: [
			{
				id: "m",
				path: "/health",
				expected_codes: "200",
				interval: 60,
				timeout: 2,
				retries: 0,
				consecutive_down: 1,
				consecutive_up: CONSECUTIVE_UP,
			},
		],
		pools: [
			{
				id: "three",
				name: "three",
				monitor: "m",
				origin_steering: { policy: "round_robin" },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		load_balancers: [
			{
				name: "localhost",
				default_pools: ["three"],
				// Exact shares: who plans must not depend on how busy the machine is (the latency budget, off).
				counter_rtt_budget_ms: 0,
				slow_start_s: SLOW_START_S,
				// Passive health stays on but short, so it does not outlast the restart below.
				outlier_detection: { base_ejection_s: 1 },
				proxy: { debug_headers: true },
			},
		],
	});
	expect(response.status).toBe(200);
	await response.text();
	configuredAt = Date.now();
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all([...(origins ?? []), ...(restarted ? [restarted] : [])].map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function fireCron(time: number): Promise<void> {
	// Miniflare's trigger endpoint takes the scheduledTime (wrangler's /__scheduled does not).
	const response = await fetch(`${wrangler.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${time}`);
	expect(response.status).toBe(200);
	expect(await response.text()).toBe("ok");
}

interface OriginState {
	name: string;
	healthy: boolean;
	last_check: string | null;
	slow_start: number | null;
}

async function originState(name: string): Promise<OriginState> {
	const report = await adminResult<{ pools: { origins: OriginState[] }[] }>(wrangler.url, TOKEN, "/status");
	const origin = report.pools[0]?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name} in /status`);
	return origin;
}

interface Outcome {
	status: number;
	origin: string | null;
	error?: string;
}

/** Concurrent GETs in a loop until stopped; every outcome in the order it completed. */
function steadyLoad(lanes: number) {
	const base = wrangler.url.replace("127.0.0.1", "localhost");
	const outcomes: Outcome[] = [];
	let running = true;
	let sent = 0;
	const lane = async () => {
		while (running) {
			const i = sent++;
			try {
				const response = await fetch(`${base}/load?i=${i}`);
				await response.arrayBuffer();
				outcomes.push({ status: response.status, origin: response.headers.get("x-switchyard-origin") });
			} catch (error) {
				outcomes.push({ status: 0, origin: null, error: String(error) });
			}
		}
	};
	const done = Promise.all(Array.from({ length: lanes }, lane));
	return {
		outcomes,
		/** Resolves once `count` more requests have completed. */
		async more(count: number): Promise<Outcome[]> {
			const from = outcomes.length;
			while (outcomes.length < from + count) await new Promise((resolve) => setTimeout(resolve, 5));
			return outcomes.slice(from, from + count);
		},
		async stop(): Promise<void> {
			running = false;
			await done;
		},
	};
}

describe("wrangler dev: an origin killed under load", () => {
	it("loses no GET, is marked down by the next check, comes back after consecutive_up checks and ramps up", async () => {
		const [east, west, north] = origins as [OriginServer, OriginServer, OriginServer];
		const t0 = Date.now();
		await fireCron(t0);
		expect((await originState("north")).healthy).toBe(true);

		const load = steadyLoad(LANES);
		try {
			const before = await load.more(60);
			for (const name of ["east", "west", "north"]) {
				expect(before.filter((outcome) => outcome.origin === name).length, name).toBeGreaterThan(0);
			}

			// Killed under load: requests that were going to north are retried on east and west.
			await north.close();
			await load.more(60);

			// One check cycle: the next cron run marks it down.
			await fireCron(t0 + 60_000);
			const down = await originState("north");
			expect(down.healthy).toBe(false);
			expect(down.last_check).toMatch(/^unreachable/);
			const whileDown = await load.more(60);
			expect(whileDown.filter((outcome) => outcome.origin === "north")).toEqual([]);

			// Back on the same port. Wait until east and west are warm, so north's return is shielded.
			restarted = await startOrigin({ name: "north", port: north.port });
			const warmIn = configuredAt + SLOW_START_S * 1000 + 500 - Date.now();
			if (warmIn > 0) await new Promise((resolve) => setTimeout(resolve, warmIn));

			for (let check = 1; check < CONSECUTIVE_UP; check++) {
				await fireCron(t0 + (1 + check) * 60_000);
				expect((await originState("north")).healthy, `after ${check} good check(s)`).toBe(false);
			}
			expect(restarted.received.filter((request) => request.url.startsWith("/load"))).toEqual([]);
			await fireCron(t0 + (1 + CONSECUTIVE_UP) * 60_000);
			expect(restarted.received.filter((request) => request.url === "/health")).toHaveLength(CONSECUTIVE_UP);
			const up = await originState("north");
			expect(up.healthy).toBe(true);
			expect(up.slow_start).toBeGreaterThanOrEqual(0.1);
			expect(up.slow_start).toBeLessThan(1);

			// Ramping: over the next 150 requests north gets fewer than either warm origin (and at most
			// half its fair share of 50).
			const ramp = await load.more(150);
			const share = (name: string) => ramp.filter((outcome) => outcome.origin === name).length;
			expect(share("north")).toBeLessThan(share("east"));
			expect(share("north")).toBeLessThan(share("west"));
			expect(share("north")).toBeLessThanOrEqual(25);
			const later = await originState("north");
			expect(later.slow_start ?? 1).toBeGreaterThanOrEqual(up.slow_start as number);
		} finally {
			await load.stop();
		}

		// Not one failed GET over the whole run.
		expect(load.outcomes.length).toBeGreaterThan(330);
		expect(load.outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
		expect(east.received.length + west.received.length).toBeGreaterThan(0);
	});
});
