/**
 * End to end (issue 17): Cloudflare's official TypeScript SDK (`cloudflare` on npm, v7), changed in
 * nothing but its base URL and token, manages Switchyard under the real `wrangler dev`: every
 * method the SDK has for monitors, pools and load balancers (create, list, get, update, edit,
 * delete), pool health (get, and create: a preview), monitor previews and references; then real
 * traffic goes through the load balancer it made to two real origins.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Cloudflare from "cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { freePort } from "../support/ports.ts";

const ADMIN_TOKEN = "e2e-cloudflare-sdk-token";
const account_id = "023e105f4ecef8ad9ca31a8372d0c353";
const zone_id = "023e105f4ecef8ad9ca31a8372d0c354";

let wrangler: WranglerDev;
let a: OriginServer;
let b: OriginServer;
let stateDir: string;
let sdk: Cloudflare;

beforeAll(async () => {
	[a, b] = await Promise.all([startOrigin({ name: "a" }), startOrigin({ name: "b" })]);
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-sdk-e2e-"));
	wrangler = await startWranglerDev({
		port: await freePort(),
		vars: { ADMIN_TOKEN, ACCOUNT_ID: account_id, ZONE_ID: zone_id },
		persistTo: stateDir,
	});
	const SWITCHYARD_URL = wrangler.url;
	// README: Using Cloudflare's SDK (the README shows these lines; test/unit/readme-sdk.test.ts checks they match)
	const client = new Cloudflare({
		baseURL: `${SWITCHYARD_URL}/_lb/api`,
		apiToken: ADMIN_TOKEN,
	});
	// end of the README's lines
	sdk = client;
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all([a?.close(), b?.close()]);
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** Fires the cron (Miniflare's trigger endpoint), which runs the probe round due now and answers when it ran. */
async function fireCron(): Promise<void> {
	const response = await fetch(`${wrangler.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Date.now()}`);
	expect(response.status).toBe(200);
	expect(await response.text()).toBe("ok");
}

/**
 * The pool's health once every origin has a check behind it: the cron's round probes what is due,
 * but an origin the registry's own alarm is probing at that moment is left to that probe, which
 * ends within the monitor's timeout. Asked again until then (bounded).
 */
async function checkedHealth(poolId: string) {
	const deadline = Date.now() + 10_000;
	for (;;) {
		const health = await sdk.loadBalancers.pools.health.get(poolId, { account_id });
		const origins = Object.values(health.pop_health ?? {}).flatMap((place) => place.origins ?? []);
		const checked = origins.every((origin) =>
			(Object.values(origin) as { response_code?: number | null }[]).every((entry) => entry.response_code != null),
		);
		if (checked || Date.now() > deadline) return health;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

const ids = { monitor: "", pool: "", lb: "" };

describe("Cloudflare's SDK against Switchyard", () => {
	it("monitors: create, list, get, update, edit", async () => {
		const monitor = await sdk.loadBalancers.monitors.create({
			account_id,
			type: "http",
			method: "GET",
			path: "/health",
			expected_codes: "200",
			interval: 60,
			timeout: 2,
			retries: 0,
			description: "made by the SDK",
		});
		expect(monitor.id).toMatch(/^[0-9a-f]{32}$/);
		expect(monitor.created_on).toEqual(expect.any(String));
		ids.monitor = monitor.id as string;

		const list = await sdk.loadBalancers.monitors.list({ account_id });
		expect(list.result.map((item) => item.id)).toEqual([ids.monitor]);
		// Paging, which the SDK never asks for, over raw HTTP.
		const paged = await fetch(
			`${wrangler.url}/_lb/api/accounts/${account_id}/load_balancers/monitors?page=2&per_page=1`,
			{
				headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
			},
		);
		expect(await paged.json()).toMatchObject({
			success: true,
			result: [],
			result_info: { page: 2, per_page: 1, count: 0, total_count: 1 },
		});
		expect(await sdk.loadBalancers.monitors.get(ids.monitor, { account_id })).toEqual(monitor);

		const updated = await sdk.loadBalancers.monitors.update(ids.monitor, {
			account_id,
			type: "http",
			path: "/health",
			expected_codes: "2xx",
			interval: 60,
			timeout: 2,
			retries: 0,
		});
		expect(updated).toMatchObject({ id: ids.monitor, expected_codes: "2xx" });
		expect(updated.description).toBeUndefined();
		const edited = await sdk.loadBalancers.monitors.edit(ids.monitor, { account_id, description: "edited" });
		expect(edited).toMatchObject({ id: ids.monitor, expected_codes: "2xx", description: "edited" });
	});

	it("pools: create, list, get, update, edit, bulk edit", async () => {
		const pool = await sdk.loadBalancers.pools.create({
			account_id,
			name: "sdk-pool",
			monitor: ids.monitor,
			notification_email: "ops@example.com",
			origins: [{ name: "a", address: a.url }],
		});
		expect(pool.id).toMatch(/^[0-9a-f]{32}$/);
		ids.pool = pool.id as string;

		const list = await sdk.loadBalancers.pools.list({ account_id });
		expect(list.result.map((item) => item.id)).toEqual([ids.pool]);
		const byMonitor = await sdk.loadBalancers.pools.list({ account_id, monitor: ids.monitor });
		expect(byMonitor.result).toHaveLength(1);
		expect(await sdk.loadBalancers.pools.get(ids.pool, { account_id })).toEqual(pool);

		const updated = await sdk.loadBalancers.pools.update(ids.pool, {
			account_id,
			name: "sdk-pool",
			monitor: ids.monitor,
			notification_email: "ops@example.com",
			origins: [
				{ name: "a", address: a.url },
				{ name: "b", address: b.url },
			],
		});
		expect(updated.origins?.map((origin) => origin.name)).toEqual(["a", "b"]);
		const edited = await sdk.loadBalancers.pools.edit(ids.pool, { account_id, description: "edited" });
		expect(edited).toMatchObject({ id: ids.pool, description: "edited" });

		// Without notification_email the SDK sends {}: nothing is edited, every pool is answered.
		const untouched = await sdk.loadBalancers.pools.bulkEdit({ account_id });
		expect(untouched.result).toEqual([edited]);
		const bulk = await sdk.loadBalancers.pools.bulkEdit({ account_id, notification_email: "" });
		expect(bulk.result.map((item) => [item.id, item.notification_email])).toEqual([[ids.pool, ""]]);
	});

	it("references, monitor previews and pool health (get, and create: a preview)", async () => {
		const monitorRefs = await sdk.loadBalancers.monitors.references.get(ids.monitor, { account_id });
		expect(monitorRefs.result).toEqual([
			{ reference_type: "referrer", resource_id: ids.pool, resource_name: "sdk-pool", resource_type: "pool" },
		]);
		const poolRefs = await sdk.loadBalancers.pools.references.get(ids.pool, { account_id });
		expect(poolRefs.result).toEqual([
			{ reference_type: "referral", resource_id: ids.monitor, resource_name: "edited", resource_type: "monitor" },
		]);

		const healthy = {
			healthy: true,
			failure_reason: "No failures",
			response_code: 200,
			rtt: expect.stringMatching(/^\d+ms$/),
		};
		const preview = await sdk.loadBalancers.monitors.previews.create(ids.monitor, {
			account_id,
			type: "http",
			path: "/health",
			expected_codes: "200",
		});
		expect(preview.pools).toEqual({ [ids.pool]: "sdk-pool" });
		const previewed = await sdk.loadBalancers.previews.get(preview.preview_id as string, { account_id });
		expect(previewed).toEqual({ [ids.pool]: { healthy: true, origins: [{ [a.url]: healthy }, { [b.url]: healthy }] } });

		const poolPreview = await sdk.loadBalancers.pools.health.create(ids.pool, {
			account_id,
			path: "/health",
			expected_codes: "204",
		});
		const poolPreviewed = await sdk.loadBalancers.previews.get(poolPreview.preview_id as string, { account_id });
		expect(poolPreviewed[ids.pool]).toMatchObject({
			healthy: false,
			origins: [
				{ [a.url]: { healthy: false, response_code: 200, failure_reason: "status 200, expected 204" } },
				{ [b.url]: { healthy: false, response_code: 200 } },
			],
		});

		await fireCron();
		const health = await checkedHealth(ids.pool);
		expect(health).toEqual({
			pool_id: ids.pool,
			pop_health: { local: { healthy: true, origins: [{ [a.url]: healthy }, { [b.url]: healthy }] } },
		});
	});

	it("load balancers: create, list, get, update, edit under the zone; traffic reaches both origins", async () => {
		const lb = await sdk.loadBalancers.create({
			zone_id,
			name: "localhost",
			default_pools: [ids.pool],
			fallback_pool: ids.pool,
			description: "made by the SDK",
		});
		expect(lb.id).toMatch(/^[0-9a-f]{32}$/);
		ids.lb = lb.id as string;
		expect((lb as { zone_id?: string }).zone_id).toBe(zone_id);

		expect((await sdk.loadBalancers.list({ zone_id })).result.map((item) => item.id)).toEqual([ids.lb]);
		expect((await sdk.loadBalancers.list({ account_id })).result.map((item) => item.id)).toEqual([ids.lb]);
		expect(await sdk.loadBalancers.get(ids.lb, { zone_id })).toEqual(lb);
		const updated = await sdk.loadBalancers.update(ids.lb, {
			zone_id,
			name: "localhost",
			default_pools: [ids.pool],
			fallback_pool: ids.pool,
			steering_policy: "off",
		});
		expect(updated).toMatchObject({ id: ids.lb, steering_policy: "off" });
		expect(updated.description).toBeUndefined();
		const edited = await sdk.loadBalancers.edit(ids.lb, { zone_id, description: "edited" });
		expect(edited).toMatchObject({ id: ids.lb, description: "edited" });

		// Another zone is not this Switchyard's (ZONE_ID is set): Cloudflare's 404, as the SDK raises it.
		await expect(sdk.loadBalancers.list({ zone_id: "99999999999999999999999999999999" })).rejects.toBeInstanceOf(
			Cloudflare.NotFoundError,
		);

		const seen = a.received.length + b.received.length;
		const base = wrangler.url.replace("127.0.0.1", "localhost");
		for (let i = 0; i < 20; i++) {
			const response = await fetch(`${base}/through-sdk-lb/${i}`);
			expect(response.status).toBe(200);
			await response.arrayBuffer();
		}
		const paths = [...a.received, ...b.received].map((request) => request.url);
		expect(a.received.length + b.received.length - seen).toBe(20);
		expect(paths.filter((url) => url.startsWith("/through-sdk-lb/"))).toHaveLength(20);
		expect(a.received.some((request) => request.url.startsWith("/through-sdk-lb/"))).toBe(true);
		expect(b.received.some((request) => request.url.startsWith("/through-sdk-lb/"))).toBe(true);
	});

	it("delete: load balancer, pool and monitor, each answering its id", async () => {
		expect(await sdk.loadBalancers.delete(ids.lb, { zone_id })).toEqual({ id: ids.lb });
		expect(await sdk.loadBalancers.pools.delete(ids.pool, { account_id })).toEqual({ id: ids.pool });
		expect(await sdk.loadBalancers.monitors.delete(ids.monitor, { account_id })).toEqual({ id: ids.monitor });
		expect((await sdk.loadBalancers.list({ zone_id })).result).toEqual([]);
		expect((await sdk.loadBalancers.pools.list({ account_id })).result).toEqual([]);
		expect((await sdk.loadBalancers.monitors.list({ account_id })).result).toEqual([]);
		await expect(sdk.loadBalancers.monitors.get(ids.monitor, { account_id })).rejects.toBeInstanceOf(
			Cloudflare.NotFoundError,
		);
	});
});
