/**
 * Active health checks driven by the cron trigger (scheduled() with advancing scheduledTime),
 * against real loopback origins flipped between healthy, failing (503 on /health), slow (a /health
 * delay longer than the monitor's timeout) and down (a port nobody listens on). What is asserted is
 * what the origins received, what clients got, and what /status and /events say. Rise/fall with
 * consecutive_down 2 and consecutive_up 3; one distinct reason per kind of failed check; the monitor
 * fields test/workers/proxy-integration.test.ts does not cover already (it has GET, path, a header,
 * the user agent, "only when due" and the fallback pool of single-origin pools); bad states.
 */
import { reset, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import type { EventEntry, OriginStatus, StatusReport } from "../../src/contract/status";
import {
	adminResult,
	clearReceived,
	originControl as control,
	onePoolConfig,
	originUrl,
	putConfig,
	received,
	runCron,
	send,
	setOriginHealthy,
} from "./helpers";
import { statsOf } from "./object-stats";

const ALL = ["a", "b", "c", "d", "e"];
const MINUTE = 60_000;

async function restoreOrigins(): Promise<void> {
	await Promise.all(
		ALL.map(async (name) => {
			await setOriginHealthy(name, true);
			await control(name, "health-delay?ms=0");
			await control(name, "fail-next?count=0");
			await control(name, "traffic-status", "DELETE");
			await control(name, "health-stats", "DELETE");
		}),
	);
	await clearReceived(...ALL);
}

beforeEach(async () => {
	await reset();
	await restoreOrigins();
});

// The origins are shared with the other files of this layer: leave them as they were.
afterEach(restoreOrigins);

/** PUTs a configuration and removes the alarm the PUT armed, so only the cron runs checks here. */
async function putCronOnly(config: unknown): Promise<void> {
	await putConfig(config);
	await runInDurableObject(env.REGISTRY.getByName("global"), (_, state) => state.storage.deleteAlarm());
}

const status = () => adminResult<StatusReport>("/status");
const healthEvents = async () =>
	(await adminResult<EventEntry[]>("/events?limit=100")).filter(
		(event): event is Extract<EventEntry, { type: "health" }> => event.type === "health",
	);

function originOf(report: StatusReport, name: string, pool = "main"): OriginStatus {
	const origin = report.pools.find((entry) => entry.id === pool)?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${pool}/${name} in /status`);
	return origin;
}

async function healthProbes(name: string): Promise<{ method: string; url: string }[]> {
	return (await received(name)).filter((request) => request.url.endsWith("/health"));
}

/** `count` proxied GETs; how many each origin served (by x-switchyard-origin). All must succeed. */
async function spread(count: number): Promise<Record<string, number>> {
	const counts: Record<string, number> = {};
	for (let i = 0; i < count; i++) {
		const response = await send(`https://app.test/spread/${i}`);
		expect(response.status).toBe(200);
		const origin = response.headers.get("x-switchyard-origin") ?? "?";
		counts[origin] = (counts[origin] ?? 0) + 1;
	}
	return counts;
}

describe("rise and fall (consecutive_down 2, consecutive_up 3)", () => {
	it("takes a failing origin down on the 2nd failed check and back up on the 3rd good one; /status and /events show each transition", async () => {
		const config = onePoolConfig(["a", "b"], { monitor: { interval: 60, consecutive_down: 2, consecutive_up: 3 } });
		// Traffic shares below are exact round robin: no slow start for the recovered origin.
		(config.load_balancers[0] as Record<string, unknown>).slow_start_s = 0;
		await putCronOnly(config);
		const t0 = Date.now();
		await runCron(t0);
		let b = originOf(await status(), "b");
		expect(b).toMatchObject({ healthy: true, last_check: "200", last_error: null, changed_at: null });
		expect(b.rtt_ms).toBeTypeOf("number");
		expect(b.rtt_ewma_ms).toBeTypeOf("number");
		expect(b.last_check_at).not.toBeNull();

		await setOriginHealthy("b", false);
		await runCron(t0 + MINUTE); // 1st failed check: still healthy
		b = originOf(await status(), "b");
		expect(b).toMatchObject({
			healthy: true,
			last_check: "status 503, expected 2xx",
			last_error: null,
			changed_at: null,
		});
		expect(await healthEvents()).toEqual([]);

		const beforeDown = Date.now();
		await runCron(t0 + 2 * MINUTE); // 2nd: down
		const afterDown = Date.now();
		const report = await status();
		b = originOf(report, "b");
		expect(b).toMatchObject({
			healthy: false,
			last_check: "status 503, expected 2xx",
			last_error: "status 503, expected 2xx",
		});
		const downAt = Date.parse(b.changed_at as string);
		expect(downAt).toBeGreaterThanOrEqual(beforeDown);
		expect(downAt).toBeLessThanOrEqual(afterDown);
		expect(report.pools[0]?.healthy).toBe(true); // a is still up
		expect(await healthEvents()).toEqual([
			{
				type: "health",
				at: b.changed_at,
				pool: "main",
				origin: "b",
				healthy: false,
				reason: "status 503, expected 2xx",
			},
		]);
		await clearReceived("a", "b");
		expect(await spread(4)).toEqual({ a: 4 });
		expect(await received("b")).toEqual([]);

		await setOriginHealthy("b", true);
		for (const minute of [3, 4]) {
			await runCron(t0 + minute * MINUTE); // 1st and 2nd good checks: still down
			b = originOf(await status(), "b");
			expect(b).toMatchObject({ healthy: false, last_check: "200", changed_at: new Date(downAt).toISOString() });
			expect(await spread(2)).toEqual({ a: 2 });
		}

		const beforeUp = Date.now();
		await runCron(t0 + 5 * MINUTE); // 3rd good check: up
		b = originOf(await status(), "b");
		expect(b).toMatchObject({ healthy: true, last_check: "200", last_error: null });
		expect(Date.parse(b.changed_at as string)).toBeGreaterThanOrEqual(beforeUp);
		const events = await healthEvents();
		expect(events).toHaveLength(2);
		expect(events[0]).toEqual({
			type: "health",
			at: b.changed_at,
			pool: "main",
			origin: "b",
			healthy: true,
			reason: "200",
		});
		expect(await spread(4)).toEqual({ a: 2, b: 2 });
		// One probe per cron run: the three since the log was cleared.
		expect(await healthProbes("b")).toHaveLength(3);
	});

	it("keeps the failure as last_error while an unhealthy origin is passing checks on its way back up", async () => {
		await putCronOnly(onePoolConfig(["a", "b"], { monitor: { interval: 60, consecutive_down: 1, consecutive_up: 3 } }));
		const t0 = Date.now();
		await setOriginHealthy("b", false);
		await runCron(t0);
		expect(originOf(await status(), "b")).toMatchObject({ healthy: false, last_error: "status 503, expected 2xx" });

		await setOriginHealthy("b", true);
		await runCron(t0 + MINUTE); // one good check of three
		const b = originOf(await status(), "b");
		expect(b).toMatchObject({ healthy: false, last_check: "200" });
		// An unhealthy origin's last error is the failure that took it down, not the good check "200".
		expect(b.last_error).toBe("status 503, expected 2xx");
	});
});

describe("what checks write", () => {
	it("writes no storage row for checks that change nothing, and writes each transition once", async () => {
		await putCronOnly(onePoolConfig(["a", "b"], { monitor: { interval: 60, consecutive_down: 1 } }));
		const registry = env.REGISTRY.getByName("global");
		const t0 = Date.now();
		await runCron(t0);
		const before = (await statsOf(registry)).rowsWritten;
		for (const minute of [1, 2, 3]) await runCron(t0 + minute * MINUTE);
		expect(await healthProbes("a")).toHaveLength(4);
		expect((await statsOf(registry)).rowsWritten).toBe(before); // last-check times live in memory

		await setOriginHealthy("b", false);
		await runCron(t0 + 4 * MINUTE);
		const afterTransition = (await statsOf(registry)).rowsWritten;
		expect(afterTransition).toBeGreaterThan(before);
		await runCron(t0 + 5 * MINUTE); // still failing: no transition, no row
		expect((await statsOf(registry)).rowsWritten).toBe(afterTransition);
		expect(await healthEvents()).toHaveLength(1);
	});
});

describe("why a check failed", () => {
	it("gives timeouts, refused connections, status and body mismatches and an unfollowed 3xx each their own reason, in one sweep", async () => {
		const monitor = (id: string, fields: Record<string, unknown>) => ({
			id,
			path: "/health",
			expected_codes: "2xx",
			timeout: 1,
			retries: 0,
			interval: 60,
			consecutive_down: 1,
			...fields,
		});
		const pool = (id: string, monitorId: string, address: string) => ({
			id,
			name: id,
			monitor: monitorId,
			origins: [{ name: id, address }],
		});
		await putCronOnly({
			monitors: [
				monitor("plain", {}),
				monitor("body", { expected_body: "no-such-text" }),
				monitor("redirect", { path: "/redirect?to=/health" }),
				monitor("redirect-followed", { path: "/redirect?to=/health", follow_redirects: true }),
			],
			pools: [
				pool("slow", "plain", originUrl("a")),
				pool("refused", "plain", inject("deadOrigin")),
				pool("failing", "plain", originUrl("b")),
				pool("wrong-body", "body", originUrl("c")),
				pool("redirected", "redirect", originUrl("d")),
				pool("followed", "redirect-followed", originUrl("e")),
			],
			load_balancers: [{ name: "app.test", default_pools: ["followed"] }],
		});
		await control("a", "health-delay?ms=3000"); // longer than the 1 s timeout
		await setOriginHealthy("b", false);

		const started = Date.now();
		await runCron(started);
		// The slow origin's check was cut at its 1 s timeout, not waited out.
		expect(Date.now() - started).toBeLessThan(2500);

		const report = await status();
		const expected: Record<string, string | RegExp> = {
			slow: "timeout after 1000 ms",
			refused: /^unreachable: /,
			failing: "status 503, expected 2xx",
			"wrong-body": 'body does not contain "no-such-text" (first 65536 bytes searched)',
			redirected: "status 302, expected 2xx (redirect not followed)",
		};
		for (const [id, reason] of Object.entries(expected)) {
			const origin = originOf(report, id, id);
			expect(origin.healthy, id).toBe(false);
			expect(origin.last_check, id).toEqual(reason instanceof RegExp ? expect.stringMatching(reason) : reason);
			expect(origin.last_error, id).toBe(origin.last_check);
			expect(report.pools.find((entry) => entry.id === id)?.healthy, id).toBe(false);
		}
		const slow = originOf(report, "slow", "slow");
		expect(slow.rtt_ms).toBeGreaterThanOrEqual(1000);
		expect(slow.rtt_ms).toBeLessThan(2000);
		// The same redirect, followed, is a good check: e saw the redirect and then /health.
		expect(originOf(report, "followed", "followed")).toMatchObject({ healthy: true, last_check: "200" });
		expect((await received("e")).map((request) => request.url)).toEqual(["/redirect?to=/health", "/health"]);
		expect((await received("d")).map((request) => request.url)).toEqual(["/redirect?to=/health"]);

		const events = await healthEvents();
		expect(events).toHaveLength(5);
		const reasons = Object.fromEntries(events.map((event) => [event.origin, event.reason]));
		for (const [id, reason] of Object.entries(expected)) {
			expect(reasons[id], id).toEqual(reason instanceof RegExp ? expect.stringMatching(reason) : reason);
		}
		expect(new Set(Object.values(reasons)).size).toBe(5);
	});
});

describe("monitor fields", () => {
	it("honours method HEAD, a port override and a non-default expected_codes", async () => {
		const portB = new URL(originUrl("b")).port;
		await putCronOnly({
			monitors: [
				{ id: "head", method: "HEAD", path: "/health", expected_codes: "200", retries: 0 },
				{ id: "port", path: "/health", port: Number(portB), expected_codes: "200", retries: 0 },
				{ id: "expects-503", path: "/health", expected_codes: "503", retries: 0 },
			],
			pools: [
				{ id: "head", name: "head", monitor: "head", origins: [{ name: "a", address: `${originUrl("a")}/head` }] },
				// The origin's address is a's; the monitor's port sends its checks to b's port instead.
				{ id: "port", name: "port", monitor: "port", origins: [{ name: "a", address: `${originUrl("a")}/port` }] },
				{
					id: "codes",
					name: "codes",
					monitor: "expects-503",
					origins: [
						{ name: "failing", address: originUrl("c") },
						{ name: "fine", address: originUrl("d") },
					],
				},
			],
			load_balancers: [{ name: "app.test", default_pools: ["head"] }],
		});
		await setOriginHealthy("c", false);
		await runCron(Date.now());

		expect((await received("a")).map((request) => `${request.method} ${request.url}`)).toEqual(["HEAD /head/health"]);
		expect((await received("b")).map((request) => `${request.method} ${request.url}`)).toEqual(["GET /port/health"]);
		const report = await status();
		expect(originOf(report, "a", "head")).toMatchObject({ healthy: true, last_check: "200" });
		expect(originOf(report, "a", "port")).toMatchObject({ healthy: true, last_check: "200" });
		expect(originOf(report, "failing", "codes")).toMatchObject({ healthy: true, last_check: "503" });
		expect(originOf(report, "fine", "codes")).toMatchObject({ healthy: false, last_check: "status 200, expected 503" });
	});

	it("retries within one check: two failed attempts then a good one pass; three failed attempts fail it", async () => {
		await putCronOnly(onePoolConfig(["a"], { monitor: { retries: 2, interval: 60, consecutive_down: 1 } }));
		const t0 = Date.now();
		await control("a", "fail-next?count=2");
		await runCron(t0);
		expect(await healthProbes("a")).toHaveLength(3);
		expect(originOf(await status(), "a")).toMatchObject({ healthy: true, last_check: "200" });

		await clearReceived("a");
		await control("a", "fail-next?count=3");
		await runCron(t0 + MINUTE);
		expect(await healthProbes("a")).toHaveLength(3);
		expect(originOf(await status(), "a")).toMatchObject({
			healthy: false,
			last_check: "status 503, expected 2xx",
		});
	});
});

describe("bad states", () => {
	it("marks a pool whose origins are all down unhealthy and uses the next pool, then the fallback pool regardless of its health", async () => {
		await putCronOnly({
			monitors: [{ id: "m", path: "/health", expected_codes: "200", retries: 0, consecutive_down: 1 }],
			pools: [
				{
					id: "primary",
					name: "primary",
					monitor: "m",
					origins: [
						{ name: "a", address: originUrl("a") },
						{ name: "b", address: originUrl("b") },
					],
				},
				{ id: "secondary", name: "secondary", monitor: "m", origins: [{ name: "c", address: originUrl("c") }] },
				{ id: "standby", name: "standby", monitor: "m", origins: [{ name: "d", address: originUrl("d") }] },
			],
			load_balancers: [
				{
					name: "app.test",
					default_pools: ["primary", "secondary"],
					fallback_pool: "standby",
					proxy: { debug_headers: true },
				},
			],
		});
		const t0 = Date.now();
		await setOriginHealthy("a", false);
		await setOriginHealthy("b", false);
		await runCron(t0);
		let report = await status();
		expect(report.pools.map((pool) => [pool.id, pool.healthy])).toEqual([
			["primary", false],
			["secondary", true],
			["standby", true],
		]);
		const toSecondary = await send("https://app.test/one");
		expect(toSecondary.headers.get("x-switchyard-pool")).toBe("secondary");

		await setOriginHealthy("c", false);
		await setOriginHealthy("d", false);
		await runCron(t0 + MINUTE);
		report = await status();
		expect(report.pools.every((pool) => !pool.healthy)).toBe(true);
		for (let i = 0; i < 3; i++) {
			const response = await send(`https://app.test/two/${i}`);
			expect(response.status).toBe(200);
			expect(response.headers.get("x-switchyard-pool")).toBe("standby");
			expect(response.headers.get("x-switchyard-origin")).toBe("d");
		}
		for (const name of ["a", "b", "c"]) {
			expect((await received(name)).filter((request) => request.url.startsWith("/two"))).toEqual([]);
		}
	});

	it("answers 503 when every pool is down and the fallback pool has no enabled origin", async () => {
		await putCronOnly({
			monitors: [{ id: "m", path: "/health", expected_codes: "200", retries: 0, consecutive_down: 1 }],
			pools: [
				{ id: "primary", name: "primary", monitor: "m", origins: [{ name: "a", address: originUrl("a") }] },
				{
					id: "standby",
					name: "standby",
					monitor: "m",
					origins: [{ name: "b", address: originUrl("b"), enabled: false }],
				},
			],
			load_balancers: [{ name: "app.test", default_pools: ["primary"], fallback_pool: "standby" }],
		});
		await setOriginHealthy("a", false);
		await runCron(Date.now());
		expect((await status()).pools.map((pool) => pool.healthy)).toEqual([false, false]);
		await clearReceived("a", "b");
		const response = await send("https://app.test/nothing-left");
		expect(response.status).toBe(503);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect(await response.json()).toMatchObject({ status: 503, pool: "standby" });
		expect(await received("a")).toEqual([]);
		expect(await received("b")).toEqual([]);
	});
});
