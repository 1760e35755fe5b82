/**
 * GET /_lb/metrics (issue 18 item 1) after known traffic through the Worker, to real origins on
 * loopback: exact counts per origin and status class, failures by kind, retries, a histogram whose
 * count is the requests, health checks; read with parse-prometheus-text-format. Only on an admin
 * hostname, and only with the read or admin token.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { METRICS_CONTENT_TYPE } from "../../src/observe/metrics-text";
import { histogramSeries, parseMetrics, samplesOf, sumOf } from "../support/prometheus";
import {
	ADMIN,
	dead,
	live,
	onePoolConfig,
	originControl,
	putConfig,
	runCron,
	send,
	sendStreaming,
	startClean,
	TOKEN,
} from "./helpers";

const READ_TOKEN = "test-read-token";
const DURATION = "switchyard_request_duration_seconds";

beforeEach(async () => {
	await startClean();
	await originControl("b", "traffic-status", "DELETE");
});

async function scrape(token = TOKEN): Promise<string> {
	const response = await send(`${ADMIN}/_lb/metrics`, { headers: { authorization: `Bearer ${token}` } });
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toBe(METRICS_CONTENT_TYPE);
	return response.text();
}

/** Pool "main" of the given origins in this order (round robin starts at the first), no monitor, no retries unless asked. */
function pool(origins: { name: string; address: string }[], proxy: Record<string, unknown> = { retries: 0 }) {
	return {
		pools: [{ id: "main", name: "main", origin_steering: { policy: "round_robin" }, origins }],
		load_balancers: [
			{
				name: "app.test",
				default_pools: ["main"],
				proxy: { debug_headers: true, ...proxy },
				// No ejection may change where requests go here.
				outlier_detection: { consecutive_failures: 1000 },
				counter_rtt_budget_ms: 0,
			},
		],
	};
}

describe("GET /_lb/metrics", () => {
	it("counts 7 requests exactly: per origin and status class, 5xx failures, and a histogram of 7", async () => {
		const { version } = await putConfig(pool([live("a"), live("b")]));
		await originControl("b", "traffic-status?status=503");
		const statuses: number[] = [];
		for (let i = 0; i < 7; i++) statuses.push((await send(`https://app.test/item/${i}`)).status);
		// Round robin from a: a, b, a, b, a, b, a.
		expect(statuses).toEqual([200, 503, 200, 503, 200, 503, 200]);

		const text = await scrape();
		const families = parseMetrics(text);
		const object = { load_balancer: "app.test", colo: "local" };
		expect(samplesOf(families, "switchyard_requests_total")).toEqual([
			{ labels: { ...object, pool: "main", origin: "a", code_class: "2xx" }, value: "4" },
			{ labels: { ...object, pool: "main", origin: "b", code_class: "5xx" }, value: "3" },
		]);
		expect(samplesOf(families, "switchyard_failures_total")).toEqual([
			{ labels: { ...object, pool: "main", origin: "b", kind: "5xx" }, value: "3" },
		]);
		expect(samplesOf(families, "switchyard_retries_total")).toEqual([{ labels: object, value: "0" }]);
		expect(samplesOf(families, "switchyard_in_flight")).toEqual([]);
		expect(samplesOf(families, "switchyard_scrape_errors")).toEqual([]);
		expect(sumOf(families, "switchyard_config_version")).toBe(version);
		expect(samplesOf(families, "switchyard_origin_healthy")).toEqual([
			{ labels: { pool: "main", origin: "a" }, value: "1" },
			{ labels: { pool: "main", origin: "b" }, value: "1" },
		]);
		expect(sumOf(families, "switchyard_pool_healthy", { pool: "main" })).toBe(1);
		const [age] = samplesOf(families, "switchyard_replica_age_seconds", object);
		expect(Number(age?.value)).toBeGreaterThanOrEqual(0);

		// The histogram: one series per origin, its count the requests that origin answered, 7 in all.
		expect(families.get(DURATION)?.type).toBe("HISTOGRAM");
		const series = histogramSeries(text, DURATION);
		expect(sumOf(series, `${DURATION}_count`)).toBe(7);
		expect(sumOf(series, `${DURATION}_count`, { origin: "a" })).toBe(4);
		expect(sumOf(series, `${DURATION}_count`, { origin: "b" })).toBe(3);
		expect(sumOf(series, `${DURATION}_bucket`, { le: "+Inf" })).toBe(7);
		expect(samplesOf(series, `${DURATION}_bucket`, { origin: "a" })).toHaveLength(12);
		expect(sumOf(series, `${DURATION}_sum`)).toBeGreaterThan(0);
	});

	it("counts a retry and the connection failure behind it, against the origin that failed", async () => {
		await putConfig(pool([dead(), live("a")], { retries: 1 }));
		expect((await send("https://app.test/once")).status).toBe(200);
		const families = parseMetrics(await scrape(READ_TOKEN));
		const object = { load_balancer: "app.test", colo: "local" };
		expect(samplesOf(families, "switchyard_requests_total")).toEqual([
			{ labels: { ...object, pool: "main", origin: "a", code_class: "2xx" }, value: "1" },
		]);
		expect(samplesOf(families, "switchyard_failures_total")).toEqual([
			{ labels: { ...object, pool: "main", origin: "dead", kind: "connect" }, value: "1" },
		]);
		expect(samplesOf(families, "switchyard_retries_total")).toEqual([{ labels: object, value: "1" }]);
	});

	it("counts a request no origin answered as code_class error", async () => {
		await putConfig(pool([dead()]));
		expect((await send("https://app.test/nobody")).status).toBeGreaterThanOrEqual(500);
		const families = parseMetrics(await scrape());
		expect(sumOf(families, "switchyard_requests_total", { origin: "dead", code_class: "error" })).toBe(1);
		expect(sumOf(families, "switchyard_failures_total", { origin: "dead", kind: "connect" })).toBe(1);
		expect(samplesOf(histogramSeries(await scrape(), DURATION), `${DURATION}_count`)).toEqual([]);
	});

	it("counts health checks by result, with the last round trip", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		await originControl("b", "fail");
		await runCron(Date.now());
		const families = parseMetrics(await scrape());
		expect(sumOf(families, "switchyard_health_checks_total", { origin: "a", result: "success" })).toBe(1);
		expect(sumOf(families, "switchyard_health_checks_total", { origin: "a", result: "failure" })).toBe(0);
		expect(sumOf(families, "switchyard_health_checks_total", { origin: "b", result: "failure" })).toBe(1);
		expect(sumOf(families, "switchyard_origin_healthy", { origin: "a" })).toBe(1);
		expect(sumOf(families, "switchyard_origin_healthy", { origin: "b" })).toBe(0);
		expect(samplesOf(families, "switchyard_health_check_rtt_seconds", { origin: "a" })).toHaveLength(1);
	});

	it("keeps each data center's counter object apart (colo label), in the colo and the isolate scope", async () => {
		for (const scope of ["colo", "isolate"]) {
			const config = pool([live("a")]);
			await putConfig({
				...config,
				pools: config.pools.map((entry) => ({ ...entry, description: scope })),
				load_balancers: config.load_balancers.map((lb) => ({ ...lb, name: `${scope}.test`, counter_scope: scope })),
			});
			const from = (colo: string) => ({ cf: { colo } }) as RequestInit;
			for (const colo of ["FRA", "FRA", "LHR"])
				expect((await send(`https://${scope}.test/`, from(colo))).status).toBe(200);
			const families = parseMetrics(await scrape());
			const lb = `${scope}.test`;
			expect(sumOf(families, "switchyard_requests_total", { load_balancer: lb, colo: "FRA" }), scope).toBe(2);
			expect(sumOf(families, "switchyard_requests_total", { load_balancer: lb, colo: "LHR" }), scope).toBe(1);
			expect(samplesOf(families, "switchyard_retries_total", { load_balancer: lb }), scope).toHaveLength(2);
		}
	});

	it("counts an ejection, and shows the ejected origin unhealthy", async () => {
		const config = pool([live("a"), live("b")]);
		await putConfig({
			...config,
			load_balancers: config.load_balancers.map((lb) => ({
				...lb,
				outlier_detection: { consecutive_failures: 2, max_ejection_percent: 50, base_ejection_s: 60 },
			})),
		});
		await originControl("b", "traffic-status?status=503");
		// a, b (503), a, b (503): b's second failure in a row ejects it.
		for (let i = 0; i < 4; i++) await send(`https://app.test/e/${i}`);
		const families = parseMetrics(await scrape());
		expect(samplesOf(families, "switchyard_ejections_total")).toEqual([
			{ labels: { load_balancer: "app.test", pool: "main", origin: "b", colo: "local" }, value: "1" },
		]);
		expect(sumOf(families, "switchyard_origin_healthy", { origin: "b" })).toBe(0);
		expect(sumOf(families, "switchyard_origin_healthy", { origin: "a" })).toBe(1);
	});

	it("shows a request in flight while its body streams, and none once it ended", async () => {
		await putConfig(pool([live("a")]));
		const gate = `metrics-${crypto.randomUUID()}`;
		// 1 MiB, over the 64 KiB read whole: the body streams, and pauses after its first chunk until the gate opens.
		const { response, settled } = await sendStreaming(`https://app.test/stream?bytes=1048576&chunk=1024&gate=${gate}`);
		expect(response.status).toBe(200);
		const during = parseMetrics(await scrape());
		expect(samplesOf(during, "switchyard_in_flight")).toEqual([
			{ labels: { load_balancer: "app.test", pool: "main", origin: "a", colo: "local" }, value: "1" },
		]);
		await originControl("a", `gates/${gate}`);
		await response.arrayBuffer();
		await settled;
		const after = parseMetrics(await scrape());
		expect(samplesOf(after, "switchyard_in_flight")).toEqual([]);
		expect(sumOf(after, "switchyard_requests_total", { origin: "a", code_class: "2xx" })).toBe(1);
	});

	it("answers 401 without a token or with a wrong one", async () => {
		await putConfig(pool([live("a")]));
		const without = await send(`${ADMIN}/_lb/metrics`);
		expect(without.status).toBe(401);
		expect(without.headers.get("www-authenticate")).toContain("Bearer");
		const wrong = await send(`${ADMIN}/_lb/metrics`, { headers: { authorization: "Bearer nope" } });
		expect(wrong.status).toBe(401);
	});

	it("is a 404 on a balanced hostname, never proxied", async () => {
		await putConfig(pool([live("a")]));
		const response = await send("https://app.test/_lb/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
		expect(response.status).toBe(404);
		expect(response.headers.get("x-switchyard-origin")).toBeNull();
	});
});
