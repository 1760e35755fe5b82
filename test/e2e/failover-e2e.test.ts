/**
 * End to end: the real `wrangler dev` process, three real origins on loopback, a real HTTP client.
 * Many requests at once are all served, evenly. Traffic spreads over the three; one origin is stopped, the cron trigger fires through
 * the cron trigger, and from then on every request is served by the other two, with no 5xx.
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

let wrangler: WranglerDev;
let origins: OriginServer[];
let stateDir: string;

beforeAll(async () => {
	origins = await Promise.all(["east", "west", "north"].map((name) => startOrigin({ name })));
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		// A minute between checks: only the cron runs them within this test, not the registry's alarm.
		monitors: [{ id: "m", path: "/health", expected_codes: "200", interval: 60, timeout: 2, retries: 0 }],
		pools: [
			{
				id: "everywhere",
				name: "everywhere",
				monitor: "m",
				origin_steering: { policy: "round_robin" },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		// Exact shares: who plans must not depend on how busy the machine is (the latency budget, off).
		load_balancers: [
			{ name: "localhost", default_pools: ["everywhere"], proxy: { debug_headers: true }, counter_rtt_budget_ms: 0 },
		],
	});
	expect(response.status).toBe(200);
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all((origins ?? []).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** Sends `count` requests one after another; returns each response's status and serving origin. */
async function sendMany(count: number): Promise<{ status: number; origin: string | null }[]> {
	const base = wrangler.url.replace("127.0.0.1", "localhost");
	const results: { status: number; origin: string | null }[] = [];
	for (let i = 0; i < count; i++) {
		const response = await fetch(`${base}/hello?i=${i}`);
		results.push({ status: response.status, origin: response.headers.get("x-switchyard-origin") });
		await response.arrayBuffer();
	}
	return results;
}

let cronRuns = 0;

/**
 * Fires the cron trigger a minute after the previous run, as Cloudflare would: through miniflare's
 * trigger endpoint, which takes the scheduled time (wrangler's /__scheduled does not).
 */
async function fireCron(): Promise<void> {
	const time = Date.now() + 60_000 * ++cronRuns;
	const response = await fetch(`${wrangler.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${time}`);
	expect(response.status).toBe(200);
	await response.text();
}

describe("wrangler dev, three origins", () => {
	it("serves many requests at once, sharing registry calls, exactly a third each", async () => {
		const base = wrangler.url.replace("127.0.0.1", "localhost");
		const total = 60;
		const results = await Promise.all(
			Array.from({ length: total }, async (_, i) => {
				const response = await fetch(`${base}/together?i=${i}`);
				await response.arrayBuffer();
				return { status: response.status, origin: response.headers.get("x-switchyard-origin") };
			}),
		);
		expect(results.filter((result) => result.status !== 200)).toEqual([]);
		for (const origin of origins) {
			expect(results.filter((result) => result.origin === origin.name)).toHaveLength(total / 3);
			expect(origin.received.filter((request) => request.url.startsWith("/together"))).toHaveLength(total / 3);
		}
		// They shared calls: the load balancer's counter object planned more requests than it answered calls.
		const { counters } = await adminResult<{ counters: { routed: number; route_calls: number }[] }>(
			wrangler.url,
			TOKEN,
			"/status",
		);
		expect(counters).toHaveLength(1);
		expect(counters[0]?.routed).toBeGreaterThanOrEqual(total); // a stale copy's re-ask would add one
		expect(counters[0]?.route_calls).toBeLessThan(total);
		// Replies reached the requests that shared a call as values: the runtime logged nothing about it.
		expect(wrangler.output()).not.toMatch(/different request|request context/i);
	});

	it("spreads traffic over three origins, and over the other two once one is stopped and the cron ran", async () => {
		await fireCron();
		const before = await sendMany(30);
		expect(before.every((result) => result.status === 200)).toBe(true);
		for (const origin of origins) {
			expect(before.filter((result) => result.origin === origin.name)).toHaveLength(10);
			expect(origin.received.filter((request) => request.url.startsWith("/hello"))).toHaveLength(10);
		}

		const [stopped, ...alive] = origins as [OriginServer, ...OriginServer[]];
		await stopped.close();
		await fireCron();

		const report = await adminResult<{ pools: { origins: { name: string; healthy: boolean }[] }[] }>(
			wrangler.url,
			TOKEN,
			"/status",
		);
		expect(report.pools[0]?.origins.find((origin) => origin.name === stopped.name)?.healthy).toBe(false);

		const after = await sendMany(30);
		expect(after.filter((result) => result.status >= 500)).toEqual([]);
		expect(after.filter((result) => result.origin === stopped.name)).toEqual([]);
		for (const origin of alive) {
			expect(after.filter((result) => result.origin === origin.name)).toHaveLength(15);
		}
	});
});
