/**
 * Issue 14, item 1: health follows an origin's identity (address, port, the pool's monitor), not its
 * name. A change gives the origin a fresh start: pending, no ejection, no averages, probed at once
 * (the authority's alarm armed now); a pending origin takes no traffic while its pool has a checked
 * healthy origin, and is tried when it has none (fail open); a probe of the old address that
 * finishes after the change is dropped.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import type { OriginStatus, StatusReport } from "../../src/contract/status";
import { registryStub, servedBy } from "./admin-helpers";
import {
	admin,
	adminResult,
	clearReceived,
	onePoolConfig,
	originControl,
	originUrl,
	putConfig,
	received,
	runCron,
	send,
	startClean,
} from "./helpers";

beforeEach(startClean);
afterEach(async () => {
	await originControl("b", "traffic-status", "DELETE");
});

async function originOf(name: string): Promise<OriginStatus> {
	const status = await adminResult<StatusReport>("/status");
	const origin = status.pools[0]?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name} in /status`);
	return origin;
}

async function patchOrigin(name: string, body: Record<string, unknown>): Promise<void> {
	const response = await admin("PATCH", `/pools/main/origins/${name}`, body);
	expect(response.status, await response.clone().text()).toBe(200);
	await response.body?.cancel();
}

/** When the authority's alarm is set for (null: none). */
function alarmAt(): Promise<number | null> {
	return runInDurableObject(registryStub(), (_instance, state) => state.storage.getAlarm());
}

/** A pool checked once by the cron (interval 60 s: only the cron and the alarm a write arms probe). */
async function checkedPool(names: string[], extra: { proxy?: Record<string, unknown> } = {}): Promise<void> {
	const config = onePoolConfig(names, {
		monitor: { interval: 60 },
		proxy: { debug_headers: true, retries: 0, ...extra.proxy },
	});
	(config.load_balancers[0] as Record<string, unknown>).slow_start_s = 0;
	await putConfig(config);
	await runCron(Date.now());
	for (const name of names)
		expect(await originOf(name)).toMatchObject({ healthy: true, pending: false, last_check: "200" });
}

describe("an origin whose address changes", () => {
	it("is pending and probed at once: an origin moved to a dead address gets no request, and is down after the alarm", async () => {
		await checkedPool(["a", "b"]);
		const written = Date.now();
		await patchOrigin("b", { address: inject("deadOrigin") });
		// Fresh: none of the old address's health is kept.
		expect(await originOf("b")).toMatchObject({
			pending: true,
			last_check: null,
			last_check_at: null,
			rtt_ms: null,
			rtt_ewma_ms: null,
		});
		// Not a 502 for every other request (retries 0): a is checked healthy, so pending b waits for its check.
		const statuses = [];
		for (let i = 0; i < 6; i++) statuses.push((await send(`https://app.test/wave/${i}`)).status);
		expect(statuses).toEqual(Array(6).fill(200));
		// The alarm is armed for now (at most its one-second gap away), not for the monitor's next interval.
		const at = await alarmAt();
		expect(at).not.toBeNull();
		expect(at as number).toBeLessThanOrEqual(Date.now() + 1000);
		expect(at as number).toBeGreaterThanOrEqual(written);
		expect(await runDurableObjectAlarm(registryStub())).toBe(true);
		const down = await originOf("b");
		expect(down).toMatchObject({ healthy: false, pending: false });
		expect(down.last_error).toMatch(/connect|refused|unreachable|network/i);
	});

	it("takes no traffic while pending beside a checked healthy origin; after its check it takes its share", async () => {
		await checkedPool(["a", "b"]);
		// b now points at origin c's server: a new origin to health, whatever it is called.
		await patchOrigin("b", { address: originUrl("c") });
		await clearReceived("a", "b", "c");
		expect(await servedBy("app.test", 6)).toEqual(Array(6).fill("a"));
		expect(await received("c")).toHaveLength(0);
		expect(await runDurableObjectAlarm(registryStub())).toBe(true);
		expect(await originOf("b")).toMatchObject({ healthy: true, pending: false, last_check: "200" });
		const shared = await servedBy("app.test", 6);
		expect(shared.filter((name) => name === "b")).toHaveLength(3);
		expect((await received("c")).filter((request) => request.url.startsWith("/served/"))).toHaveLength(3);
	});

	it("when no origin of the pool is checked healthy, a pending one is tried (fail open)", async () => {
		await checkedPool(["a", "b"]);
		await originControl("a", "fail");
		await runCron(Date.now() + 60_000);
		expect(await originOf("a")).toMatchObject({ healthy: false });
		await patchOrigin("b", { address: originUrl("c") });
		expect(await originOf("b")).toMatchObject({ pending: true, healthy: true });
		const response = await send("https://app.test/open");
		expect(response.status).toBe(200);
		expect(response.headers.get("x-switchyard-origin")).toBe("b");
		await originControl("a", "recover");
	});

	it("drops its ejection and passive failure count, and keeps its name's drain", async () => {
		const config = onePoolConfig(["a", "b"], { monitor: { interval: 60 }, proxy: { debug_headers: true, retries: 0 } });
		Object.assign(config.load_balancers[0] as Record<string, unknown>, {
			slow_start_s: 0,
			outlier_detection: { consecutive_failures: 2, base_ejection_s: 600, max_ejection_percent: 50 },
		});
		await putConfig(config);
		await runCron(Date.now());
		await originControl("b", "traffic-status?status=503");
		let ejected = false;
		for (let i = 0; i < 8 && !ejected; i++) {
			await send(`https://app.test/fail/${i}`);
			ejected = (await originOf("b")).ejected_until !== null;
		}
		expect(ejected).toBe(true);
		const drained = await admin("POST", "/pools/main/origins/b/drain");
		expect(drained.status).toBe(200);
		await drained.body?.cancel();
		await patchOrigin("b", { address: originUrl("c") });
		expect(await originOf("b")).toMatchObject({
			ejected_until: null,
			passive_failures: 0,
			pending: true,
			draining: true,
		});
	});

	it("a probe of the old address that finishes after the change is dropped", async () => {
		// Probes take half a second: the change lands while one is out.
		await putConfig(onePoolConfig(["a"], { monitor: { interval: 60, path: "/respond?status=200&delayms=500" } }));
		const round = registryStub().sweep(Date.now());
		await patchOrigin("a", { address: originUrl("b") });
		expect(await round).toMatchObject({ probed: 1 });
		// Not the old address's "200": b's own check has not run yet.
		expect(await originOf("a")).toMatchObject({ pending: true, last_check: null, last_check_at: null });
	});

	it("a change of the pool's monitor starts its origins afresh too; a change of weight does not", async () => {
		await checkedPool(["a", "b"]);
		await patchOrigin("a", { weight: 0.5 });
		expect(await originOf("a")).toMatchObject({ pending: false, last_check: "200" });
		const monitor = await admin("POST", "/monitors", { id: "second", path: "/health", interval: 60 });
		expect(monitor.status).toBe(201);
		await monitor.body?.cancel();
		const pool = await admin("PATCH", "/pools/main", { monitor: "second" });
		expect(pool.status).toBe(200);
		await pool.body?.cancel();
		expect(await originOf("a")).toMatchObject({ pending: true, last_check: null });
		expect(await originOf("b")).toMatchObject({ pending: true, last_check: null });
	});
});
