/**
 * Issue 21: TCP monitors (`type: "tcp"`) run by the cron inside workerd with cloudflare:sockets'
 * connect, against a real listening port on 127.0.0.1 (a loopback origin) and a closed one. What
 * is asserted: /status, /events, which origin clients reach, and that the check sent no HTTP request.
 */
import { reset, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import type { OriginStatus, StatusReport } from "../../src/contract/status";
import { cf, LBS, ok, refused } from "./cloudflare-api";
import { adminResult, clearReceived, originUrl, putConfig, received, runCron, send } from "./helpers";

const MINUTE = 60_000;

beforeEach(async () => {
	await reset();
	await clearReceived("a", "b");
});

function tcpConfig(monitor: Record<string, unknown> = {}, origins = [{ name: "a", address: originUrl("a") }]) {
	return {
		monitors: [{ id: "tcp", type: "tcp", method: "connection_established", timeout: 2, retries: 0, ...monitor }],
		pools: [{ id: "main", name: "main", monitor: "tcp", origin_steering: { policy: "round_robin" }, origins }],
		load_balancers: [
			{ name: "app.test", default_pools: ["main"], proxy: { debug_headers: true }, counter_rtt_budget_ms: 0 },
		],
	};
}

/** PUTs a configuration and removes the alarm the PUT armed, so only the cron runs checks here. */
async function putCronOnly(config: unknown): Promise<{ messages: string[] }> {
	const result = await putConfig(config);
	await runInDurableObject(env.REGISTRY.getByName("global"), (_, state) => state.storage.deleteAlarm());
	return result;
}

function originOf(report: StatusReport, name: string): OriginStatus {
	const origin = report.pools[0]?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name}`);
	return origin;
}

const portOf = (url: string) => Number(new URL(url).port);

describe("TCP monitors", () => {
	it("keep an origin whose port accepts connections, take out one whose port is closed", async () => {
		const dead = inject("deadOrigin");
		const { messages } = await putCronOnly(
			tcpConfig({}, [
				{ name: "a", address: originUrl("a") },
				{ name: "dead", address: dead },
			]),
		);
		expect(messages.filter((message) => message.startsWith("monitors"))).toEqual([]);
		await runCron(Date.now());
		const report = await adminResult<StatusReport>("/status");
		expect(originOf(report, "a")).toMatchObject({
			healthy: true,
			pending: false,
			last_check: `connection established to port ${portOf(originUrl("a"))}`,
		});
		expect(originOf(report, "dead")).toMatchObject({ healthy: false });
		expect(originOf(report, "dead").last_error).toMatch(/^unreachable: /);
		// The check opened a connection and sent nothing: the origin saw no HTTP request.
		expect(await received("a")).toEqual([]);
		// Clients reach the open one only.
		for (let i = 0; i < 4; i++) {
			const response = await send(`https://app.test/tcp/${i}`);
			expect(response.headers.get("x-switchyard-origin")).toBe("a");
		}
	});

	it("connects to the monitor's port when it names one, not the origin's", async () => {
		// The origin's own port is closed; the monitor points at a's port, which listens.
		await putCronOnly(tcpConfig({ port: portOf(originUrl("a")) }, [{ name: "x", address: inject("deadOrigin") }]));
		await runCron(Date.now());
		expect(originOf(await adminResult<StatusReport>("/status"), "x")).toMatchObject({ healthy: true });
		await putCronOnly(tcpConfig({ port: portOf(inject("deadOrigin")) }, [{ name: "x", address: originUrl("a") }]));
		await runCron(Date.now() + MINUTE);
		expect(originOf(await adminResult<StatusReport>("/status"), "x")).toMatchObject({ healthy: false });
	});

	it("follows consecutive_down and consecutive_up as HTTP checks do", async () => {
		// The monitor's port decides: first a closed one, then a's.
		const closed = portOf(inject("deadOrigin"));
		const open = portOf(originUrl("a"));
		await putCronOnly(tcpConfig({ port: open, consecutive_down: 2, consecutive_up: 2 }));
		let at = Date.now();
		await runCron(at);
		expect(originOf(await adminResult<StatusReport>("/status"), "a").healthy).toBe(true);
		// Same monitor id, another port: the identity (address, port, monitor id) holds, so rise/fall applies.
		await putCronOnly(tcpConfig({ port: closed, consecutive_down: 2, consecutive_up: 2 }));
		const seen: boolean[] = [];
		for (let i = 0; i < 2; i++) {
			at += MINUTE;
			await runCron(at);
			seen.push(originOf(await adminResult<StatusReport>("/status"), "a").healthy);
		}
		expect(seen).toEqual([true, false]);
	});

	it("previews a TCP monitor through Cloudflare's preview route; an smtp one is refused", async () => {
		await putCronOnly(
			tcpConfig({}, [
				{ name: "a", address: originUrl("a") },
				{ name: "dead", address: inject("deadOrigin") },
			]),
		);
		const started = await ok<{ preview_id: string }>(await cf("POST", `${LBS}/monitors/tcp/preview`, {}));
		const results = await ok<Record<string, { origins: Record<string, { healthy: boolean }>[] }>>(
			await cf("GET", `${LBS}/preview/${started.result.preview_id}`),
		);
		expect(results.result.main?.origins.map((entry) => Object.values(entry)[0]?.healthy)).toEqual([true, false]);
		const message = await refused(await cf("POST", `${LBS}/monitors/tcp/preview`, { type: "smtp" }), 400);
		expect(message).toContain('"smtp" monitor is not run by this version');
	});

	it("a monitor type this version does not run (smtp) leaves the pool unchecked, and says so", async () => {
		const { messages } = await putCronOnly({
			...tcpConfig(),
			monitors: [{ id: "tcp", type: "smtp", port: 25 }],
			pools: [{ id: "main", name: "main", monitor: "tcp", origins: [{ name: "dead", address: inject("deadOrigin") }] }],
		});
		expect(messages.some((message) => message.startsWith('monitors[0].type: "smtp" is kept, but not run'))).toBe(true);
		await runCron(Date.now());
		expect(originOf(await adminResult<StatusReport>("/status"), "dead")).toMatchObject({
			healthy: true,
			monitored: false,
			last_check: null,
		});
	});
});
