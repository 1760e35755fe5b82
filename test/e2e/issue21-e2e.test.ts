/**
 * Issue 21 end to end on the real `wrangler dev`, real origins on loopback, a real client: load
 * shedding at 100% and at 50% (random) over real requests; a TCP monitor against an open port and a
 * closed one (checks fired through the cron trigger); health from three regions, each region's
 * probe object on its own alarm, where one region failing keeps the origin healthy and two take it out.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall, adminResult } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";

let wrangler: WranglerDev;
let primary: OriginServer;
let secondary: OriginServer;
let stateDir: string;

beforeAll(async () => {
	[primary, secondary] = await Promise.all([startOrigin({ name: "primary" }), startOrigin({ name: "secondary" })]);
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-issue21-e2e-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all([primary, secondary].filter(Boolean).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

afterEach(async () => {
	const response = await fetch(`${primary.url}/_origin/fail-region`, { method: "DELETE" });
	await response.body?.cancel();
	primary.received.length = 0;
	secondary.received.length = 0;
});

async function putConfig(config: unknown): Promise<void> {
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", config);
	const body = await response.text();
	expect(response.status, body).toBe(200);
}

function twoPools(primaryPool: Record<string, unknown> = {}, monitors: unknown[] = []) {
	return {
		monitors,
		pools: [
			{ id: "primary", name: "primary", ...primaryPool, origins: [{ name: "p", address: primary.url }] },
			{ id: "secondary", name: "secondary", origins: [{ name: "s", address: secondary.url }] },
		],
		load_balancers: [
			{
				name: "localhost",
				default_pools: ["primary", "secondary"],
				fallback_pool: "secondary",
				proxy: { debug_headers: true },
				counter_rtt_budget_ms: 0,
			},
		],
	};
}

/** `count` GETs through the balancer, `lanes` at a time; how many each origin served. */
async function sendMany(count: number, lanes = 8): Promise<Record<string, number>> {
	const base = wrangler.url.replace("127.0.0.1", "localhost");
	const served: Record<string, number> = {};
	let next = 0;
	const lane = async () => {
		while (next < count) {
			const i = next++;
			const response = await fetch(`${base}/shed/${i}`);
			await response.arrayBuffer();
			expect(response.status).toBe(200);
			const origin = response.headers.get("x-switchyard-origin") ?? "?";
			served[origin] = (served[origin] ?? 0) + 1;
		}
	};
	await Promise.all(Array.from({ length: lanes }, lane));
	return served;
}

interface OriginView {
	name: string;
	healthy: boolean;
	last_check: string | null;
	last_error: string | null;
	regions: Record<string, { healthy: boolean; last_check: string | null }> | null;
}
interface PoolView {
	id: string;
	shed: number;
	load_shedding: Record<string, unknown> | null;
	origins: OriginView[];
}

async function pools(): Promise<PoolView[]> {
	return (await adminResult<{ pools: PoolView[] }>(wrangler.url, TOKEN, "/status")).pools;
}

/** Polls /status until `done` holds (each probe object and the authority run on their own alarms), at most `timeoutMs`. */
async function statusUntil(done: (pools: PoolView[]) => boolean, timeoutMs = 30_000): Promise<PoolView[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const seen = await pools();
		if (done(seen)) return seen;
		if (Date.now() > deadline) throw new Error(`/status never got there: ${JSON.stringify(seen)}`);
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

describe("load shedding under wrangler dev", () => {
	it("at 100% every request goes to the next pool", async () => {
		await putConfig(twoPools({ load_shedding: { default_percent: 100, default_policy: "random" } }));
		expect(await sendMany(100)).toEqual({ s: 100 });
		const shedding = (await pools()).find((pool) => pool.id === "primary");
		expect(shedding?.load_shedding).toMatchObject({ default_percent: 100, default_policy: "random" });
		expect(shedding?.shed).toBe(100);
	});

	it("at 50% about half of 1,000 requests (± 7%) go to the next pool", async () => {
		await putConfig(twoPools({ load_shedding: { default_percent: 50 } }));
		const served = await sendMany(1000);
		expect((served.p ?? 0) + (served.s ?? 0)).toBe(1000);
		expect(Math.abs((served.s ?? 0) - 500)).toBeLessThanOrEqual(70);
		// What the origins received agrees with what the clients were told.
		expect(secondary.received.filter((request) => request.url.startsWith("/shed/")).length).toBe(served.s);
	});
});

describe("TCP monitor under wrangler dev", () => {
	it("an open port is healthy, a closed one is not", async () => {
		const closedPort = await freePort();
		await putConfig({
			monitors: [{ id: "tcp", type: "tcp", method: "connection_established", timeout: 2, retries: 0, interval: 60 }],
			pools: [
				{
					id: "tcp",
					name: "tcp",
					monitor: "tcp",
					origins: [
						{ name: "open", address: primary.url },
						{ name: "closed", address: `http://127.0.0.1:${closedPort}` },
					],
				},
			],
			load_balancers: [
				{ name: "localhost", default_pools: ["tcp"], proxy: { debug_headers: true }, counter_rtt_budget_ms: 0 },
			],
		});
		const response = await fetch(`${wrangler.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Date.now()}`);
		expect(response.status).toBe(200);
		await response.text();
		const seen = await statusUntil((all) => all[0]?.origins.every((origin) => origin.last_check !== null) === true);
		const byName = Object.fromEntries((seen[0]?.origins ?? []).map((origin) => [origin.name, origin]));
		expect(byName.open).toMatchObject({
			healthy: true,
			last_check: `connection established to port ${new URL(primary.url).port}`,
		});
		expect(byName.closed?.healthy).toBe(false);
		expect(byName.closed?.last_error).toMatch(/^unreachable: /);
		// Nothing was sent over the connection: the origin saw no request.
		expect(primary.received).toEqual([]);
	});
});

describe("health from three regions under wrangler dev", () => {
	const regionsConfig = () =>
		twoPools({ monitor: "m", check_regions: ["WEU", "ENAM", "WNAM"] }, [
			{ id: "m", path: "/health", expected_codes: "200", interval: 5, timeout: 2, retries: 0 },
		]);
	const originP = (all: PoolView[]) => all.find((pool) => pool.id === "primary")?.origins[0];
	const allReported = (all: PoolView[]) =>
		Object.values(originP(all)?.regions ?? {}).every((view) => view.last_check !== null) &&
		Object.keys(originP(all)?.regions ?? {}).length === 3;

	it("one region of three failing keeps the origin healthy; two of three take it out", async () => {
		const fail = async (region: string) => {
			const response = await fetch(`${primary.url}/_origin/fail-region?region=${region}`, { method: "POST" });
			expect(response.status).toBe(204);
		};
		await fail("WEU");
		await putConfig(regionsConfig());
		// Each region's probe object runs on its own alarm: wait until all three have spoken, and WEU failed.
		const one = await statusUntil((all) => allReported(all) && originP(all)?.regions?.WEU?.healthy === false);
		expect(originP(one)).toMatchObject({
			healthy: true,
			regions: {
				WEU: { healthy: false, last_check: "status 503, expected 200" },
				ENAM: { healthy: true, last_check: "200" },
				WNAM: { healthy: true, last_check: "200" },
			},
		});
		const regionsSeen = new Set(
			primary.received
				.filter((request) => request.url === "/health")
				.map((request) => request.headers["x-switchyard-probe-region"]),
		);
		expect([...regionsSeen].sort()).toEqual(["ENAM", "WEU", "WNAM"]);
		expect((await sendMany(10)).p).toBe(10);

		await fail("ENAM");
		const two = await statusUntil((all) => originP(all)?.healthy === false);
		expect(originP(two)?.last_error).toMatch(/^1 of 3 regions see it healthy \(ENAM: .*; WEU: /);
		expect(await sendMany(10)).toEqual({ s: 10 });
	});
});
