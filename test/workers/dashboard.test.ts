/**
 * The dashboard's Worker side (issue 19): the page and its files on admin hostnames only, with a
 * Content-Security-Policy that allows this origin's files alone; and GET /_lb/api/dashboard, the
 * page's one read, after known traffic to real origins on loopback: exact counts per counter
 * object and origin, the histogram, status and events, and the caller's role.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DashboardData } from "../../src/contract/dashboard";
import { ADMIN, live, originControl, putConfig, send, startClean, TOKEN } from "./helpers";

const READ_TOKEN = "test-read-token";

beforeEach(async () => {
	await startClean();
});

// The origins are shared with the next test files: b answers normally again.
afterEach(async () => {
	await originControl("b", "traffic-status", "DELETE");
});

async function readDashboard(token: string): Promise<DashboardData> {
	const response = await send(`${ADMIN}/_lb/api/dashboard`, { headers: { authorization: `Bearer ${token}` } });
	expect(response.status).toBe(200);
	return ((await response.json()) as { result: DashboardData }).result;
}

describe("the dashboard's page", () => {
	it("serves the page, its script and its stylesheet on an admin hostname, each under a strict CSP", async () => {
		const page = await send(`${ADMIN}/_lb/`);
		expect(page.status).toBe(200);
		expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
		const html = await page.text();
		// Its files are this origin's own: no external script, stylesheet or font.
		const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
		expect(sources.length).toBeGreaterThanOrEqual(2);
		for (const source of sources) expect(source).toMatch(/^\/_lb\//);
		expect(html).not.toMatch(/<script>|<style>|\sstyle=|\son\w+=/i);

		for (const [path, type] of [
			["/_lb/dashboard.js", "text/javascript; charset=utf-8"],
			["/_lb/dashboard.css", "text/css; charset=utf-8"],
		] as const) {
			const response = await send(`${ADMIN}${path}`);
			expect(response.status).toBe(200);
			expect(response.headers.get("content-type")).toBe(type);
			expect((await response.text()).length).toBeGreaterThan(100);
		}
		const csp = page.headers.get("content-security-policy") ?? "";
		expect(csp.split(/;\s*/)).toEqual(
			expect.arrayContaining(["default-src 'self'", "frame-ancestors 'none'", "form-action 'none'"]),
		);
		expect(page.headers.get("x-content-type-options")).toBe("nosniff");
	});

	it("redirects /_lb to the page, and is a 404 on a proxied hostname, never proxied", async () => {
		const bare = await send(`${ADMIN}/_lb`, { redirect: "manual" });
		expect(bare.status).toBe(308);
		expect(bare.headers.get("location")).toBe(`${ADMIN}/_lb/`);
		await putConfig({
			pools: [{ id: "main", name: "main", origins: [live("a")] }],
			load_balancers: [{ name: "app.test", default_pools: ["main"] }],
		});
		for (const path of ["/_lb/", "/_lb/dashboard.js"]) {
			const response = await send(`https://app.test${path}`);
			expect(response.status).toBe(404);
			await response.text();
		}
	});

	it("answers only GET and HEAD", async () => {
		const response = await send(`${ADMIN}/_lb/`, { method: "POST" });
		expect(response.status).toBe(405);
		await response.text();
	});
});

describe("GET /_lb/api/dashboard", () => {
	it("needs a token", async () => {
		const response = await send(`${ADMIN}/_lb/api/dashboard`);
		expect(response.status).toBe(401);
		await response.text();
	});

	it("counts known traffic per counter object and origin, with status, events and the caller's role", async () => {
		const { version } = await putConfig({
			pools: [
				{
					id: "main",
					name: "main",
					origin_steering: { policy: "round_robin" },
					origins: [live("a"), live("b")],
				},
			],
			load_balancers: [
				{
					name: "app.test",
					default_pools: ["main"],
					proxy: { retries: 0 },
					outlier_detection: { consecutive_failures: 1000 },
					counter_rtt_budget_ms: 0,
				},
			],
		});
		await originControl("b", "traffic-status?status=503");
		const statuses: number[] = [];
		for (let i = 0; i < 6; i++) {
			const response = await send(`https://app.test/item/${i}`);
			statuses.push(response.status);
			await response.text();
		}
		expect(statuses).toEqual([200, 503, 200, 503, 200, 503]);

		const read = await readDashboard(READ_TOKEN);
		expect(read.role).toBe("read");
		expect(read.version).toBe(version);
		expect(read.unanswered).toEqual([]);
		expect(read.pools.map((pool) => pool.origins.map((origin) => origin.name))).toEqual([["a", "b"]]);
		expect(read.load_balancers.map((lb) => lb.name)).toEqual(["app.test"]);
		const bySeries = Object.fromEntries(read.traffic.map((series) => [`${series.counter} ${series.origin}`, series]));
		expect(Object.keys(bySeries).sort()).toEqual(["lb:app.test@local a", "lb:app.test@local b"]);
		expect(bySeries["lb:app.test@local a"]).toMatchObject({ pool: "main", requests: 3, errors: 0 });
		expect(bySeries["lb:app.test@local b"]).toMatchObject({ pool: "main", requests: 3, errors: 3 });
		// Every answered request is in exactly one bucket.
		for (const series of read.traffic) {
			expect(series.buckets).toHaveLength(read.duration_buckets_s.length + 1);
			expect(series.buckets.reduce((sum, count) => sum + count, 0)).toBe(3);
		}
		expect(read.events[0]).toMatchObject({ type: "config", version });
		expect(Date.parse(read.at)).not.toBeNaN();

		expect((await readDashboard(TOKEN)).role).toBe("admin");
	});
});
