/**
 * Passive health (outlier detection): real traffic's failures eject an origin. With
 * consecutive_failures 3 and max_ejection_percent 50, in a pool of four origins with no monitor (so
 * no active check interferes): three failed requests in a row eject an origin (/status, no more
 * traffic, an /events entry once the alarm ran); a success resets the count; never more than two of
 * the four are out; a request that failed over still counts against the origin it failed on; after
 * base_ejection_s the origin is readmitted, and a second ejection lasts twice as long.
 * Origins fail on demand through the demo origin's /_origin/traffic-status (every non-/health
 * request answered with that status) or by pointing at a port nobody listens on.
 */
import { reset, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import type { EventEntry, OriginStatus, StatusReport } from "../../src/contract/status";
import { adminResult, clearReceived, originControl as control, originUrl, putConfig, received, send } from "./helpers";

const FOUR = ["a", "b", "c", "d"];

const failRequests = (name: string, status = 500) => control(name, `traffic-status?status=${status}`);
const serveRequests = (name: string) => control(name, "traffic-status", "DELETE");

async function restoreOrigins(): Promise<void> {
	await Promise.all(FOUR.map(serveRequests));
	await clearReceived(...FOUR);
}

beforeEach(async () => {
	await reset();
	await restoreOrigins();
});

afterEach(restoreOrigins);

function config(
	origins: { name: string; address: string }[],
	outliers: Record<string, number> = {},
	proxy: Record<string, unknown> = { retries: 0 },
) {
	return {
		pools: [{ id: "main", name: "main", origin_steering: { policy: "round_robin" }, origins }],
		load_balancers: [
			{
				name: "app.test",
				default_pools: ["main"],
				outlier_detection: { consecutive_failures: 3, base_ejection_s: 30, max_ejection_percent: 50, ...outliers },
				proxy: { debug_headers: true, ...proxy },
			},
		],
	};
}

const fourOrigins = () => FOUR.map((name) => ({ name, address: originUrl(name) }));

async function originStatus(name: string): Promise<OriginStatus> {
	const report = await adminResult<StatusReport>("/status");
	const origin = report.pools[0]?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name}`);
	return origin;
}

/** One proxied GET; the status the client got and the origin that answered. */
async function get(path = "/item"): Promise<{ status: number; origin: string | null }> {
	const response = await send(`https://app.test${path}`);
	return { status: response.status, origin: response.headers.get("x-switchyard-origin") };
}

/** Sends GETs until `name` has answered `times` of them (round robin reaches it every few requests). */
async function untilAnsweredBy(name: string, times: number): Promise<{ status: number; origin: string | null }[]> {
	const results: { status: number; origin: string | null }[] = [];
	let answered = 0;
	for (let i = 0; answered < times; i++) {
		if (i > 20 * times) throw new Error(`${name} answered ${answered} of ${results.length} requests`);
		const result = await get(`/item/${i}`);
		results.push(result);
		if (result.origin === name) answered++;
	}
	return results;
}

const ejectionEvents = async () =>
	(await adminResult<EventEntry[]>("/events?limit=100")).filter(
		(event): event is Extract<EventEntry, { type: "health" }> => event.type === "health",
	);

const nonHealth = async (name: string) => (await received(name)).filter((request) => !request.url.endsWith("/health"));

describe("outlier detection (consecutive_failures 3)", () => {
	it("ejects an origin after 3 failed requests in a row: /status shows it, it gets no traffic, /events lists it after one alarm run", async () => {
		await putConfig(config(fourOrigins()));
		await failRequests("b");
		const first = await untilAnsweredBy("b", 2);
		expect(first.filter((result) => result.origin === "b").map((result) => result.status)).toEqual([500, 500]);
		expect(await originStatus("b")).toMatchObject({ passive_failures: 2, ejected_until: null, healthy: true });

		const before = Date.now();
		await untilAnsweredBy("b", 1);
		const after = Date.now();
		const b = await originStatus("b");
		expect(b).toMatchObject({ healthy: false, passive_failures: 0 });
		const until = Date.parse(b.ejected_until as string);
		expect(until).toBeGreaterThanOrEqual(before + 30_000);
		expect(until).toBeLessThanOrEqual(after + 30_000);
		expect((await adminResult<StatusReport>("/status")).pools[0]?.healthy).toBe(true);

		await clearReceived(...FOUR);
		const later: { status: number; origin: string | null }[] = [];
		for (let i = 0; i < 12; i++) later.push(await get(`/later/${i}`));
		expect(later.every((result) => result.status === 200 && result.origin !== "b")).toBe(true);
		expect(await received("b")).toEqual([]);

		// Ejections are noticed on the hot path and written by the alarm, which was armed for it.
		expect(await runDurableObjectAlarm(env.REGISTRY.getByName("global"))).toBe(true);
		expect(await ejectionEvents()).toEqual([
			expect.objectContaining({
				type: "health",
				pool: "main",
				origin: "b",
				healthy: false,
				reason: "ejected for 30 s after 3 failed requests in a row (last: status 500)",
			}),
		]);
	});

	it("starts counting again after a success in between", async () => {
		await putConfig(config(fourOrigins()));
		await failRequests("b");
		await untilAnsweredBy("b", 2);
		await serveRequests("b");
		expect((await untilAnsweredBy("b", 1)).at(-1)).toEqual({ status: 200, origin: "b" });
		expect(await originStatus("b")).toMatchObject({ passive_failures: 0, ejected_until: null });

		await failRequests("b");
		await untilAnsweredBy("b", 2);
		expect(await originStatus("b")).toMatchObject({ passive_failures: 2, ejected_until: null, healthy: true });
		await untilAnsweredBy("b", 1);
		expect((await originStatus("b")).ejected_until).not.toBeNull();
	});

	it("never ejects more than max_ejection_percent (50%): of four failing-prone origins, the third stays in", async () => {
		await putConfig(config(fourOrigins()));
		for (const name of ["a", "b", "c"]) await failRequests(name);
		// Enough requests for each of a, b and c to fail at least 3 times in a row.
		for (let i = 0; i < 16; i++) await get(`/spread/${i}`);

		const report = await adminResult<StatusReport>("/status");
		const origins = report.pools[0]?.origins ?? [];
		const ejected = origins.filter((origin) => origin.ejected_until !== null).map((origin) => origin.name);
		expect(ejected).toHaveLength(2);
		const kept = ["a", "b", "c"].find((name) => !ejected.includes(name)) as string;
		expect(origins.find((origin) => origin.name === kept)).toMatchObject({ healthy: true, ejected_until: null });
		expect(origins.find((origin) => origin.name === kept)?.passive_failures).toBeGreaterThanOrEqual(3);
		expect(report.pools[0]?.healthy).toBe(true);

		// The third keeps getting its share of traffic with d.
		await clearReceived(...FOUR);
		for (let i = 0; i < 8; i++) await get(`/after/${i}`);
		expect(await nonHealth(kept)).toHaveLength(4);
		expect(await nonHealth("d")).toHaveLength(4);
		for (const name of ejected) expect(await received(name)).toEqual([]);
	});

	it.each([
		{ how: "a refused connection", origin: () => ({ name: "bad", address: inject("deadOrigin") }), status: undefined },
		{ how: "a 503 (retried)", origin: () => ({ name: "bad", address: originUrl("b") }), status: 503 },
	])("counts a request that failed over to another origin against the first one: $how", async ({ origin, status }) => {
		const origins = [
			{ name: "a", address: originUrl("a") },
			origin(),
			...["c", "d"].map((name) => ({ name, address: originUrl(name) })),
		];
		await putConfig(config(origins, {}, { retries: 2 }));
		if (status !== undefined) await failRequests("b", status);
		const results: { status: number; origin: string | null }[] = [];
		for (let i = 0; i < 12; i++) results.push(await get(`/retried/${i}`));
		// Every client got a good answer from another origin...
		expect(results.every((result) => result.status === 200 && result.origin !== "bad")).toBe(true);
		// ...and "bad" was still charged with its 3 failures, and ejected.
		const bad = await originStatus("bad");
		expect(bad.healthy).toBe(false);
		expect(bad.ejected_until).not.toBeNull();
		if (status !== undefined) expect(await nonHealth("b")).toHaveLength(3);
	});

	it('lists the readmission in /events too, so its health events do not end on "ejected" while /status says healthy', async () => {
		await putConfig(config(fourOrigins(), { base_ejection_s: 1 }));
		await failRequests("b");
		await untilAnsweredBy("b", 3);
		await serveRequests("b");
		const until = Date.parse((await originStatus("b")).ejected_until as string);
		await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 20));
		await untilAnsweredBy("b", 1);
		expect(await originStatus("b")).toMatchObject({ healthy: true, ejected_until: null });
		// Whatever is pending is written by the alarm (armed or not, run it once).
		await runDurableObjectAlarm(env.REGISTRY.getByName("global"));
		const events = await ejectionEvents();
		expect(events.map((event) => [event.origin, event.healthy])).toEqual([
			["b", true],
			["b", false],
		]);
	});

	it("readmits an origin when its ejection ends; a second ejection lasts twice base_ejection_s", async () => {
		await putConfig(config(fourOrigins(), { base_ejection_s: 1 }));
		await failRequests("b");
		await untilAnsweredBy("b", 3);
		const ejected = await originStatus("b");
		expect(ejected.healthy).toBe(false);
		await serveRequests("b");

		// Wait exactly until the ejection ends, as /status states it.
		const until = Date.parse(ejected.ejected_until as string);
		await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 20));
		expect(await originStatus("b")).toMatchObject({ healthy: true, ejected_until: null });
		await clearReceived("b");
		expect((await untilAnsweredBy("b", 2)).filter((result) => result.origin === "b")).toEqual([
			{ status: 200, origin: "b" },
			{ status: 200, origin: "b" },
		]);
		expect(await nonHealth("b")).toHaveLength(2);

		await failRequests("b");
		const before = Date.now();
		await untilAnsweredBy("b", 3);
		const after = Date.now();
		const again = Date.parse((await originStatus("b")).ejected_until as string);
		expect(again).toBeGreaterThanOrEqual(before + 2_000);
		expect(again).toBeLessThanOrEqual(after + 2_000);
		await runDurableObjectAlarm(env.REGISTRY.getByName("global"));
		// Newest first: the second ejection, the readmission after the first, the first ejection.
		expect((await ejectionEvents()).map((event) => event.reason)).toEqual([
			"ejected for 2 s after 3 failed requests in a row (last: status 500)",
			"readmitted on probation after its ejection",
			"ejected for 1 s after 3 failed requests in a row (last: status 500)",
		]);
	});
});
