/**
 * Persistence across a restart of `wrangler dev`: the registry's SQLite storage outlives the
 * process, so configuration, version, drains and the audit log are all still there after it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-restart-token";
const stateDir = mkdtempSync(join(tmpdir(), "switchyard-restart-"));
let wrangler: WranglerDev | undefined;
let origin: OriginServer | undefined;

afterAll(async () => {
	await wrangler?.stop();
	await origin?.close();
	rmSync(stateDir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown) {
	const response = await adminCall(`${wrangler?.url}`, TOKEN, method, path, body);
	return {
		status: response.status,
		etag: response.headers.get("etag"),
		body: (await response.json()) as { result: unknown },
	};
}

describe("wrangler dev restart", () => {
	it("keeps configuration, version, drains and the audit log", async () => {
		origin = await startOrigin({ name: "only" });
		wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
		const config = {
			pools: [
				{
					id: "p",
					name: "p",
					origins: [
						{ name: "only", address: origin.url },
						{ name: "other", address: origin.url },
					],
				},
			],
			load_balancers: [{ name: "localhost", default_pools: ["p"], x_owner: "team-edge" }],
		};
		expect((await api("PUT", "/config", config)).status).toBe(200);
		expect((await api("POST", "/pools/p/origins/other/drain")).status).toBe(200);
		const before = await api("GET", "/config");

		await wrangler.stop();
		wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });

		const after = await api("GET", "/config");
		expect(after.etag).toBe(before.etag);
		expect(after.body.result).toEqual(before.body.result);
		expect(after.body.result).toMatchObject({ load_balancers: [{ x_owner: "team-edge" }] });
		const status = (await api("GET", "/status")).body.result as {
			pools: { origins: { name: string; draining: boolean }[] }[];
		};
		expect(status.pools[0]?.origins.find((o) => o.name === "other")?.draining).toBe(true);
		const events = (await api("GET", "/events")).body.result as { type: string; action: string }[];
		expect(events.map((event) => event.action)).toEqual([
			'drained origin "other" in pool "p"',
			"replaced the configuration",
		]);
		const proxied = await fetch(`${wrangler.url.replace("127.0.0.1", "localhost")}/after-restart`);
		expect(proxied.status).toBe(200);
		await proxied.arrayBuffer();
		expect(origin.received.some((request) => request.url === "/after-restart")).toBe(true);
	});
});
