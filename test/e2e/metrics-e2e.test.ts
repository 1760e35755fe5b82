/**
 * GET /_lb/metrics on the real `wrangler dev` (issue 18 item 1): after 7 requests through the
 * balancer to two real origins (one answering 503), the scrape shows exactly those counts, read
 * with parse-prometheus-text-format, and `promtool check metrics` (Prometheus' own linter) accepts
 * it. .ci/run installs promtool (Debian's `prometheus` package), so CI always runs it; where it is
 * missing outside CI the test says so, and the npm parser's checks still run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";
import { histogramSeries, parseMetrics, samplesOf, sumOf } from "../support/prometheus.ts";

const TOKEN = "e2e-metrics-token";
const DURATION = "switchyard_request_duration_seconds";

let wrangler: WranglerDev;
let origins: OriginServer[];
let stateDir: string;

beforeAll(async () => {
	origins = await Promise.all(["east", "west"].map((name) => startOrigin({ name })));
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-metrics-e2e-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		pools: [
			{
				id: "two",
				name: "two",
				origin_steering: { policy: "round_robin" },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		load_balancers: [
			{
				name: "localhost",
				default_pools: ["two"],
				counter_rtt_budget_ms: 0,
				outlier_detection: { consecutive_failures: 1000 },
				proxy: { retries: 0, debug_headers: true },
			},
		],
	});
	expect(response.status).toBe(200);
	await response.text();
	const west = await fetch(`${origins[1]?.url}/_origin/traffic-status?status=503`, { method: "POST" });
	expect(west.status).toBe(204);
}, 90_000);

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all((origins ?? []).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function scrape(): Promise<string> {
	const response = await fetch(`${wrangler.url}/_lb/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
	return response.text();
}

/** promtool's path, or null when it is not on PATH. */
function findPromtool(): string | null {
	const found = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" });
	return found.status === 0 ? found.stdout.trim() : null;
}

describe("GET /_lb/metrics on wrangler dev", () => {
	it("answers 401 without the token", async () => {
		const response = await fetch(`${wrangler.url}/_lb/metrics`);
		expect(response.status).toBe(401);
		await response.text();
	});

	it("shows exactly the 7 requests sent, and promtool check metrics accepts the scrape", async () => {
		const base = wrangler.url.replace("127.0.0.1", "localhost");
		const statuses: number[] = [];
		for (let i = 0; i < 7; i++) {
			const response = await fetch(`${base}/item/${i}`);
			await response.arrayBuffer();
			statuses.push(response.status);
		}
		expect(statuses.filter((status) => status === 200)).toHaveLength(4);
		expect(statuses.filter((status) => status === 503)).toHaveLength(3);

		// Outcomes reach the counter object off the request path, a few milliseconds after each request.
		let text = await scrape();
		for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
			if (sumOf(parseMetrics(text), "switchyard_requests_total") >= 7) break;
			await new Promise((resolve) => setTimeout(resolve, 100));
			text = await scrape();
		}
		const families = parseMetrics(text);
		expect(sumOf(families, "switchyard_requests_total")).toBe(7);
		expect(sumOf(families, "switchyard_requests_total", { origin: "east", code_class: "2xx" })).toBe(4);
		expect(sumOf(families, "switchyard_requests_total", { origin: "west", code_class: "5xx" })).toBe(3);
		expect(sumOf(families, "switchyard_failures_total", { origin: "west", kind: "5xx" })).toBe(3);
		expect(sumOf(histogramSeries(text, DURATION), `${DURATION}_count`)).toBe(7);
		expect(samplesOf(families, "switchyard_scrape_errors")).toEqual([]);

		const file = join(stateDir, "metrics.txt");
		writeFileSync(file, text);
		const promtool = findPromtool();
		if (promtool === null) {
			// Outside CI only: .ci/run installs Debian's prometheus package, so CI always runs the check.
			expect(process.env.CI, "promtool is missing: .ci/run must install it").toBeUndefined();
			console.warn("promtool is not on PATH: `promtool check metrics` was not run (the npm parser's checks were)");
			return;
		}
		const checked = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
		expect({ status: checked.status, stdout: checked.stdout, stderr: checked.stderr }).toEqual({
			status: 0,
			stdout: "",
			stderr: "",
		});
	}, 60_000);
});
