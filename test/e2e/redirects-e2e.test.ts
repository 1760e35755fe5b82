/**
 * Issue 14, item 8, end to end: the real `wrangler dev`, a real origin on loopback that builds its
 * redirect and its cookie's Domain from the Host it was asked for (its own address, since a Worker
 * cannot send another), and a real HTTP client. The client gets a Location on the balancer's host,
 * and following it goes through the balancer, never straight to the origin.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";
/** The demo origin's redirect: `to` made absolute on the Host it was asked for, and a cookie for that host. */
const SELF_REDIRECT = "/redirect?to=%2Fnext%3Fstep%3D2&absolute=1&cookie=sid%3D7";

let wrangler: WranglerDev;
let origin: OriginServer;
let stateDir: string;
/** The balancer as a client names it: the load balancer "localhost" on wrangler's port. */
let base: string;

beforeAll(async () => {
	origin = await startOrigin({ name: "app" });
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-redirects-e2e-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	base = wrangler.url.replace("127.0.0.1", "localhost");
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		pools: [{ id: "p", name: "p", origins: [{ name: origin.name, address: origin.url }] }],
		load_balancers: [{ name: "localhost", default_pools: ["p"], proxy: { debug_headers: true } }],
	});
	expect(response.status).toBe(200);
	await response.arrayBuffer();
});

afterAll(async () => {
	await wrangler?.stop();
	await origin?.close();
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("wrangler dev, an origin redirecting to its own address (issue 14, item 8)", () => {
	it("gives the client a Location on the balancer's host and a cookie without the origin's Domain", async () => {
		const response = await fetch(`${base}${SELF_REDIRECT}`, { redirect: "manual" });
		await response.arrayBuffer();
		expect(response.status).toBe(302);
		expect(response.headers.get("location")).toBe(`${base}/next?step=2`);
		expect(response.headers.getSetCookie()).toEqual(["sid=7; Path=/"]);
		// The origin was asked under its own address, and that is what it redirected to.
		const asked = origin.received.find((request) => request.url.startsWith("/redirect"));
		expect(asked?.headers.host).toBe(new URL(origin.url).host);
	});

	it("takes a client that follows the redirect through the balancer to the origin", async () => {
		const before = origin.received.length;
		const response = await fetch(`${base}${SELF_REDIRECT}`);
		const echo = (await response.json()) as { path: string; query: string };
		expect(response.status).toBe(200);
		expect(response.url).toBe(`${base}/next?step=2`);
		expect(response.headers.get("x-switchyard-origin")).toBe("app");
		expect(echo).toMatchObject({ path: "/next", query: "step=2" });
		const next = origin.received.slice(before).find((request) => request.url.startsWith("/next"));
		expect(next?.headers["x-forwarded-host"]).toBe(new URL(base).host);
		expect(next?.headers["cdn-loop"]).toBe("switchyard");
	});
});
