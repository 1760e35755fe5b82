/**
 * End to end, issue 12: `counter_scope` under the real `wrangler dev`, three real origins, a real
 * client. `wrangler dev` gives every request the same placeholder `request.cf`, so the client names
 * its data center with the dev-only x-switchyard-dev-colo header (DEV_GEO_HEADERS "true"). In the
 * colo scope (the default) each data center's traffic gets a counter object of its own, with an
 * exact rotation; in the global scope one object keeps one rotation across data centers.
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
const NAMES = ["a", "b", "c"];
const COLOS = ["FRA", "SJC", "LHR"];

interface CounterStatus {
	name: string;
	load_balancer: string;
	scope: string | null;
	colo: string | null;
	routed: number;
	answered: boolean;
}

let wrangler: WranglerDev;
let origins: OriginServer[];
let stateDir: string;

beforeAll(async () => {
	origins = await Promise.all(NAMES.map((name) => startOrigin({ name })));
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
	wrangler = await startWranglerDev({
		port: await freePort(),
		vars: { ADMIN_TOKEN: TOKEN, DEV_GEO_HEADERS: "true" },
		persistTo: stateDir,
	});
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all((origins ?? []).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** One load balancer "localhost" over a, b and c, round robin, in `scope` (the default when undefined). */
async function putConfig(scope?: string): Promise<void> {
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		pools: [
			{
				id: "main",
				name: "main",
				origin_steering: { policy: "round_robin" },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		load_balancers: [
			{
				name: "localhost",
				default_pools: ["main"],
				// Exact shares: who plans must not depend on how busy the machine is (the latency budget, off).
				counter_rtt_budget_ms: 0,
				proxy: { debug_headers: true },
				...(scope ? { counter_scope: scope } : {}),
			},
		],
	});
	expect(response.status, await response.text()).toBe(200);
}

/** 18 requests one after another, interleaved over the three data centers: the origin of each, in order. */
async function interleaved(prefix: string): Promise<{ colo: string; origin: string | null }[]> {
	const base = wrangler.url.replace("127.0.0.1", "localhost");
	const served: { colo: string; origin: string | null }[] = [];
	for (let i = 0; i < 18; i++) {
		const colo = COLOS[i % COLOS.length] as string;
		const response = await fetch(`${base}/${prefix}/${i}`, { headers: { "x-switchyard-dev-colo": colo } });
		await response.arrayBuffer();
		expect(response.status, `request ${i} from ${colo}`).toBe(200);
		served.push({ colo, origin: response.headers.get("x-switchyard-origin") });
	}
	return served;
}

async function counters(): Promise<CounterStatus[]> {
	const report = await adminResult<{ counters: CounterStatus[] }>(wrangler.url, TOKEN, "/status");
	return report.counters;
}

describe("wrangler dev, counter_scope", () => {
	it("colo: each data center's traffic has its own counter object, with an exact rotation", async () => {
		await putConfig();
		const served = await interleaved("colo");
		for (const colo of COLOS) {
			expect(
				served.filter((entry) => entry.colo === colo).map((entry) => entry.origin),
				colo,
			).toEqual(["a", "b", "c", "a", "b", "c"]);
		}
		// The origins had what the header says.
		for (const origin of origins) {
			expect(origin.received.filter((request) => request.url.startsWith("/colo/"))).toHaveLength(6);
		}
		expect(
			(await counters())
				.map(({ name, scope, colo, routed, answered }) => ({ name, scope, colo, routed, answered }))
				.sort((x, y) => x.name.localeCompare(y.name)),
		).toEqual(
			["FRA", "LHR", "SJC"].map((colo) => ({
				name: `lb:localhost@${colo}`,
				scope: "colo",
				colo,
				routed: 6,
				answered: true,
			})),
		);
	});

	it("global: one counter object for the world, one rotation across data centers", async () => {
		await putConfig("global");
		const served = await interleaved("global");
		const order = served.map((entry) => entry.origin);
		// One rotation continuing across the data centers (the global object's may start anywhere).
		const first = NAMES.indexOf(order[0] as string);
		expect(first).toBeGreaterThanOrEqual(0);
		expect(order).toEqual(order.map((_, i) => NAMES[(first + i) % NAMES.length]));
		for (const origin of origins) {
			expect(origin.received.filter((request) => request.url.startsWith("/global/"))).toHaveLength(6);
		}
		// The data centers' objects of the colo scope may still be listed (one may have sent a request on).
		expect((await counters()).filter((counter) => counter.colo === null)).toEqual([
			expect.objectContaining({ name: "lb:localhost", scope: "global", colo: null, routed: 18, answered: true }),
		]);
	});
});
