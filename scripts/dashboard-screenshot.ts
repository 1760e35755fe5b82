/**
 * Takes docs/dashboard.png: the dashboard of a real `wrangler dev` with five loopback origins in two
 * pools under light traffic, one origin failing its health check and one drained, in the Chromium
 * the tests use (test/support/browser.ts). Everything it starts, it stops.
 *
 *   npm exec -- node scripts/dashboard-screenshot.ts [--out docs/dashboard.png]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type OriginServer, startOrigin } from "../demo/origin.ts";
import { PROJECT_ROOT, startWranglerDev, type WranglerDev } from "../demo/wrangler-dev.ts";
import { adminCall } from "../test/support/admin-api.ts";
import { launchChromium } from "../test/support/browser.ts";
import { freePort } from "../test/support/ports.ts";

const TOKEN = "screenshot-admin-token";
const TRAFFIC_MS = 14_000;

const { values } = parseArgs({
	options: { out: { type: "string", default: join(PROJECT_ROOT, "docs", "dashboard.png") } },
});

let wrangler: WranglerDev | undefined;
let origins: OriginServer[] = [];
const stateDir = mkdtempSync(join(tmpdir(), "switchyard-screenshot-"));
const browser = await launchChromium();
try {
	const names = ["eu-1", "eu-2", "eu-3", "us-1", "us-2"];
	origins = await Promise.all(names.map((name) => startOrigin({ name })));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	const monitor = { id: "web", path: "/health", expected_codes: "200", interval: 5, timeout: 2, retries: 0 };
	const pool = (id: string, members: OriginServer[]) => ({
		id,
		name: id,
		monitor: "web",
		origin_steering: { policy: "least_connections" },
		origins: members.map((origin) => ({ name: origin.name, address: origin.url })),
	});
	const put = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		monitors: [monitor],
		pools: [pool("eu", origins.slice(0, 3)), pool("us", origins.slice(3))],
		load_balancers: [{ name: "localhost", default_pools: ["eu", "us"], fallback_pool: "us" }],
	});
	if (!put.ok) throw new Error(`PUT /config: ${put.status} ${await put.text()}`);
	await put.text();
	(origins[4] as OriginServer).setHealthy(false);
	const drain = await adminCall(wrangler.url, TOKEN, "POST", "/pools/eu/origins/eu-3/drain");
	await drain.text();

	const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
	await page.goto(`${wrangler.url}/_lb/#token=${TOKEN}`);
	const base = wrangler.url.replace("127.0.0.1", "localhost");
	const until = Date.now() + TRAFFIC_MS;
	while (Date.now() < until) {
		await Promise.all(Array.from({ length: 4 }, () => fetch(`${base}/`).then((response) => response.text())));
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	await page.locator('tr[data-origin="us/us-2"][data-health="unhealthy"]').waitFor({ timeout: 15_000 });
	await page.screenshot({ path: values.out, fullPage: true });
	process.stdout.write(`wrote ${values.out}\n`);
} finally {
	await browser.close();
	await wrangler?.stop();
	await Promise.all(origins.map((origin) => origin.close()));
	rmSync(stateDir, { recursive: true, force: true });
}
