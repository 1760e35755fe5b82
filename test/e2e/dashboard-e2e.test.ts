/**
 * The dashboard at /_lb/ (issue 19) in a real Chromium (test/support/browser.ts: the one
 * @sparticuz/chromium brings with `npm ci`) against the real `wrangler dev` and real origins: the
 * page loads without console errors and shows every origin; an origin failing its health check
 * turns unhealthy on the page without a reload within consecutive_down × interval + 5 s; the drain
 * button drains (the registry says so); a read token sees no buttons; a hostile origin name shows
 * as text; the token never appears in a URL the page asks for, and leaves the address bar; an origin
 * checked from three regions shows each region's view.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall, adminResult } from "../support/admin-api.ts";
import { launchChromium } from "../support/browser.ts";
import { freePort } from "../support/ports.ts";

const ADMIN_TOKEN = "e2e-dashboard-admin-token";
const READ_TOKEN = "e2e-dashboard-read-token";
const HOSTILE = "<img src=x onerror=alert(1)>";
const INTERVAL_S = 5;
const CONSECUTIVE_DOWN = 1;

interface StatusPool {
	id: string;
	origins: { name: string; healthy: boolean; draining: boolean }[];
}

let wrangler: WranglerDev;
let origins: OriginServer[];
let stateDir: string;
let browser: Browser;

/** What one page did: console errors, uncaught errors, dialogs, every URL it asked for. */
interface Watched {
	readonly page: Page;
	readonly errors: string[];
	readonly dialogs: string[];
	readonly urls: string[];
}

async function openDashboard(fragment: string): Promise<Watched> {
	const page = await browser.newPage();
	const watched: Watched = { page, errors: [], dialogs: [], urls: [] };
	page.on("console", (message) => {
		if (message.type() === "error") watched.errors.push(message.text());
	});
	page.on("pageerror", (error) => watched.errors.push(error.message));
	page.on("dialog", (dialog) => {
		watched.dialogs.push(dialog.message());
		void dialog.dismiss();
	});
	page.on("request", (request) => watched.urls.push(request.url()));
	await page.goto(`${wrangler.url}/_lb/${fragment}`);
	return watched;
}

/**
 * Ends a page's polling by leaving it. Not page.close(): the package's flags run Chromium as a single
 * process, and closing a page there ends the browser.
 */
async function leave(page: Page): Promise<void> {
	await page.goto("about:blank");
}

const row = (page: Page, pool: string, origin: string) =>
	page.locator(`tr[data-origin="${`${pool}/${origin}`.replaceAll('"', '\\"')}"]`);

async function statusPool(): Promise<StatusPool> {
	const status = await adminResult<{ pools: StatusPool[] }>(wrangler.url, ADMIN_TOKEN, "/status");
	const pool = status.pools.find((entry) => entry.id === "web");
	if (!pool) throw new Error("no pool web in /status");
	return pool;
}

beforeAll(async () => {
	origins = await Promise.all(["alpha", "beta", "gamma", "delta"].map((name) => startOrigin({ name })));
	// delta is checked from three regions, and WEU sees it down.
	const failWeu = await fetch(`${origins[3]?.url}/_origin/fail-region?region=WEU`, { method: "POST" });
	expect(failWeu.status).toBe(204);
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-dashboard-e2e-"));
	[wrangler, browser] = await Promise.all([
		startWranglerDev({
			port: await freePort(),
			vars: { ADMIN_TOKEN, ADMIN_READ_TOKEN: READ_TOKEN },
			persistTo: stateDir,
		}),
		launchChromium(),
	]);
	const names = ["alpha", "beta", HOSTILE];
	const response = await adminCall(wrangler.url, ADMIN_TOKEN, "PUT", "/config", {
		monitors: [
			{
				id: "web",
				path: "/health",
				expected_codes: "200",
				interval: INTERVAL_S,
				timeout: 2,
				retries: 0,
				consecutive_down: CONSECUTIVE_DOWN,
				consecutive_up: 1,
			},
		],
		pools: [
			{
				id: "web",
				name: "web",
				monitor: "web",
				origin_steering: { policy: "round_robin" },
				origins: origins.slice(0, 3).map((origin, i) => ({ name: names[i], address: origin.url })),
			},
			{
				id: "regional",
				name: "regional",
				monitor: "web",
				check_regions: ["WEU", "ENAM", "WNAM"],
				origins: [{ name: "delta", address: origins[3]?.url }],
			},
		],
		load_balancers: [{ name: "localhost", default_pools: ["web"], counter_rtt_budget_ms: 0 }],
	});
	expect(response.status).toBe(200);
	await response.text();
	// Every origin checked healthy before the page opens: the failure below is the one change.
	await vi.waitFor(
		async () => {
			const pool = await statusPool();
			if (!pool.origins.every((origin) => origin.healthy)) throw new Error("not every origin checked healthy yet");
		},
		{ timeout: 30_000, interval: 250 },
	);
}, 120_000);

afterAll(async () => {
	await browser?.close();
	await wrangler?.stop();
	await Promise.all((origins ?? []).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("the dashboard in a real browser", () => {
	it("loads without console errors, shows every origin, and takes the token out of the address bar", async () => {
		const response = await fetch(`${wrangler.url}/_lb/`);
		const csp = response.headers.get("content-security-policy") ?? "";
		expect(csp).toContain("default-src 'self'");
		expect(csp).toContain("frame-ancestors 'none'");
		await response.text();

		const { page, errors, urls } = await openDashboard(`#token=${ADMIN_TOKEN}`);
		await expect.poll(() => page.locator("tr[data-origin]").count(), { timeout: 15_000 }).toBe(4);
		for (const name of ["alpha", "beta", HOSTILE])
			await expect(row(page, "web", name).locator("td.name").textContent()).resolves.toBe(name);
		await expect(page.locator("#role").textContent()).resolves.toBe("admin");
		expect(new URL(page.url()).hash).toBe("");
		// A few polls later: still no errors, and the token in no URL the page asked for.
		await page.waitForRequest((request) => request.url().endsWith("/_lb/api/dashboard"));
		await page.waitForRequest((request) => request.url().endsWith("/_lb/api/dashboard"));
		expect(errors).toEqual([]);
		expect(urls.length).toBeGreaterThan(3);
		expect(urls.filter((url) => url.includes(ADMIN_TOKEN))).toEqual([]);
		await leave(page);
	});

	it("shows a hostile origin name as text: no element made of it, no script run", async () => {
		const { page, errors, dialogs } = await openDashboard(`#token=${READ_TOKEN}`);
		await expect.poll(() => row(page, "web", HOSTILE).count(), { timeout: 15_000 }).toBe(1);
		await expect(row(page, "web", HOSTILE).locator("td.name").textContent()).resolves.toBe(HOSTILE);
		await expect(page.locator("#view img").count()).resolves.toBe(0);
		await page.waitForRequest((request) => request.url().endsWith("/_lb/api/dashboard"));
		expect(dialogs).toEqual([]);
		expect(errors).toEqual([]);
		await leave(page);
	});

	it("shows a read token the page without drain or enable buttons", async () => {
		const { page } = await openDashboard(`#token=${READ_TOKEN}`);
		await expect.poll(() => page.locator("tr[data-origin]").count(), { timeout: 15_000 }).toBe(4);
		await expect(page.locator("#role").textContent()).resolves.toBe("read-only");
		await expect(page.locator("button.drain, button.enable").count()).resolves.toBe(0);
		await leave(page);
	});

	it("takes a token typed into its form, and says when one is refused", async () => {
		const { page } = await openDashboard("");
		await page.locator("#token").fill("not-the-token");
		await page.locator("#login button[type=submit]").click();
		await expect.poll(() => page.locator("#message").textContent(), { timeout: 15_000 }).toContain("refused");
		await expect(page.locator("#login").isVisible()).resolves.toBe(true);
		await page.locator("#token").fill(ADMIN_TOKEN);
		await page.locator("#login button[type=submit]").click();
		await expect.poll(() => page.locator("tr[data-origin]").count(), { timeout: 15_000 }).toBe(4);
		await leave(page);
	});

	it("shows requests per second once traffic flows", async () => {
		const { page } = await openDashboard(`#token=${READ_TOKEN}`);
		await expect.poll(() => page.locator("tr[data-origin]").count(), { timeout: 15_000 }).toBe(4);
		// The load balancer answers "localhost"; 127.0.0.1 is only an admin hostname.
		const base = wrangler.url.replace("127.0.0.1", "localhost");
		for (let i = 0; i < 30; i++) {
			const response = await fetch(`${base}/`);
			expect(response.status).toBe(200);
			await response.text();
		}
		// The next read after the traffic differs from the first: each origin took ten requests.
		await expect
			.poll(async () => Number((await row(page, "web", "alpha").locator("td.rps").textContent()) ?? "0"), {
				timeout: 15_000,
			})
			.toBeGreaterThan(0);
		const p50 = await row(page, "web", "alpha").locator("td.p50").textContent();
		expect(p50).toMatch(/^\d+(\.\d)? ms$/);
		await leave(page);
	});

	it("drains an origin with its button: the registry says so, and the button becomes Enable", async () => {
		const { page } = await openDashboard(`#token=${ADMIN_TOKEN}`);
		await expect.poll(() => row(page, "web", "alpha").locator("button.drain").count(), { timeout: 15_000 }).toBe(1);
		await row(page, "web", "alpha").locator("button.drain").click();
		await expect
			.poll(async () => (await statusPool()).origins.find((origin) => origin.name === "alpha")?.draining, {
				timeout: 10_000,
			})
			.toBe(true);
		await expect.poll(() => row(page, "web", "alpha").locator("button.enable").count(), { timeout: 10_000 }).toBe(1);
		await expect(row(page, "web", "alpha").locator("td.conditions").textContent()).resolves.toContain("drained");
		await row(page, "web", "alpha").locator("button.enable").click();
		await expect
			.poll(async () => (await statusPool()).origins.find((origin) => origin.name === "alpha")?.draining, {
				timeout: 10_000,
			})
			.toBe(false);
		await leave(page);
	});

	it("shows each region's view of an origin checked from several regions", async () => {
		const { page } = await openDashboard(`#token=${READ_TOKEN}`);
		const delta = row(page, "regional", "delta");
		// Each region's probe object runs on its own alarm: WEU's failed check shows once it has run.
		await delta.locator('span.region[data-region="WEU"][data-healthy="false"]').waitFor({ timeout: 20_000 });
		await expect(delta.locator("span.region").allTextContents()).resolves.toEqual(["ENAM up", "WEU down", "WNAM up"]);
		// One region of three: still healthy by the majority.
		await expect(delta.getAttribute("data-health")).resolves.toBe("healthy");
		await expect(page.locator('section[data-pool="regional"] .meta').textContent()).resolves.toContain(
			"checked from ENAM, WEU, WNAM",
		);
		await leave(page);
	});

	it("turns an origin failing its health check unhealthy without a reload", async () => {
		const { page } = await openDashboard(`#token=${ADMIN_TOKEN}`);
		await expect.poll(() => row(page, "web", "beta").getAttribute("data-health"), { timeout: 15_000 }).toBe("healthy");
		await page.evaluate(() => {
			(globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
		});
		const beta = origins[1] as OriginServer;
		beta.setHealthy(false);
		const started = Date.now();
		const budgetMs = CONSECUTIVE_DOWN * INTERVAL_S * 1000 + 5_000;
		await row(page, "web", "beta").and(page.locator('[data-health="unhealthy"]')).waitFor({ timeout: budgetMs });
		const tookMs = Date.now() - started;
		expect(tookMs).toBeLessThanOrEqual(budgetMs);
		await expect(page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).resolves.toBe(
			true,
		);
		await expect(row(page, "web", "beta").locator(".reason").textContent()).resolves.not.toBe("");
		beta.setHealthy(true);
		await leave(page);
	});
});
