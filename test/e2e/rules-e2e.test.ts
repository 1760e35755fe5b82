/**
 * Issue 20, end to end: the real `wrangler dev`, two real origins on loopback, a real client. A
 * load balancing rule sends `/api` to its own pool; another answers a maintenance path with a
 * fixed response, which no origin ever sees; /status counts both.
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

/** The part of GET /status this test reads (src/contract/status.ts). */
interface StatusReport {
	load_balancers: { rules?: { name: string; disabled: boolean; matched: number }[] }[];
}

let wrangler: WranglerDev;
let web: OriginServer;
let api: OriginServer;
let stateDir: string;
/** The balancer as a client names it: the load balancer "localhost" on wrangler's port. */
let base: string;

beforeAll(async () => {
	[web, api] = await Promise.all([startOrigin({ name: "web" }), startOrigin({ name: "api" })]);
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-rules-e2e-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	base = wrangler.url.replace("127.0.0.1", "localhost");
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		pools: [
			{ id: "web", name: "web", origins: [{ name: web.name, address: web.url }] },
			{ id: "api", name: "api", origins: [{ name: api.name, address: api.url }] },
		],
		load_balancers: [
			{
				name: "localhost",
				default_pools: ["web"],
				proxy: { debug_headers: true },
				rules: [
					{
						name: "api to its pool",
						condition: 'http.request.uri.path eq "/api" or starts_with(http.request.uri.path, "/api/")',
						overrides: { default_pools: ["api"] },
					},
					{
						name: "maintenance",
						condition: 'http.request.uri.path matches "^/maintenance(/|$)"',
						fixed_response: { status_code: 503, content_type: "text/html", message_body: "<h1>Back soon</h1>" },
					},
				],
			},
		],
	});
	expect(response.status, await response.clone().text()).toBe(200);
	await response.arrayBuffer();
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all([web?.close(), api?.close()]);
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("wrangler dev, load balancing rules (issue 20)", () => {
	it("sends /api to the api pool and everything else to the default pool", async () => {
		const home = await fetch(`${base}/home`);
		await home.arrayBuffer();
		expect(home.status).toBe(200);
		expect(home.headers.get("x-switchyard-pool")).toBe("web");
		for (const path of ["/api", "/api/users?id=7"]) {
			const response = await fetch(`${base}${path}`);
			await response.arrayBuffer();
			expect(response.status).toBe(200);
			expect(response.headers.get("x-switchyard-pool")).toBe("api");
		}
		expect(api.received.map((request) => request.url)).toEqual(["/api", "/api/users?id=7"]);
		expect(web.received.map((request) => request.url)).toEqual(["/home"]);
	});

	it("answers the maintenance path with the fixed response, and no origin sees it", async () => {
		const before = web.received.length + api.received.length;
		const response = await fetch(`${base}/maintenance/today`);
		expect(response.status).toBe(503);
		expect(response.headers.get("content-type")).toBe("text/html");
		expect(await response.text()).toBe("<h1>Back soon</h1>");
		expect(web.received.length + api.received.length).toBe(before);
	});

	it("counts each rule's matches in /status", async () => {
		const expected = [
			{ name: "api to its pool", disabled: false, matched: 2 },
			{ name: "maintenance", disabled: false, matched: 1 },
		];
		// Outcomes reach the counter object in a batch a few milliseconds after each request.
		await expect
			.poll(async () => (await adminResult<StatusReport>(wrangler.url, TOKEN, "/status")).load_balancers[0]?.rules, {
				timeout: 10_000,
			})
			.toEqual(expected);
	});
});
