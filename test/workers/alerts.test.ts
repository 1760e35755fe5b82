/**
 * Issue 18, item 3: alerts on health changes, delivered to a REAL webhook receiver on loopback
 * (test/support/alert-receiver.ts, started by global-setup.ts): the body, its signature checked
 * with the secret, a receiver that fails twice first (delivered on the third attempt, both
 * failures in the events), no secret anywhere an admin can read, and an unknown secret_name a 400.
 */
import { reset, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import type { EventEntry } from "../../src/contract/status";
import { AUTHORITY } from "../../src/routing/shard-keys";
import type { ReceivedAlert } from "../support/alert-types";
import {
	admin,
	adminResult,
	type Envelope,
	onePoolConfig,
	originUrl,
	putConfig,
	runCron,
	setOriginHealthy,
} from "./helpers";

const SECRET = "test-alert-secret";
const authority = () => env.REGISTRY.getByName(AUTHORITY);
const receiver = () => inject("alertReceiver");

async function receivedAlerts(): Promise<ReceivedAlert[]> {
	return (await (await fetch(`${receiver()}/_receiver/received`)).json()) as ReceivedAlert[];
}

async function receiverControl(path: string, method = "POST"): Promise<void> {
	const response = await fetch(`${receiver()}/_receiver/${path}`, { method });
	expect(response.status).toBe(204);
}

function config(notification: Record<string, unknown> = {}) {
	return {
		pools: [
			{
				id: "main",
				name: "main",
				minimum_origins: 2,
				origins: [
					{ name: "a", address: originUrl("a") },
					{ name: "b", address: originUrl("b") },
				],
			},
		],
		load_balancers: [{ name: "app.test", default_pools: ["main"], counter_rtt_budget_ms: 0 }],
		notifications: [
			{
				id: "ops",
				url: `${receiver()}/hooks/ops`,
				secret_name: "ALERT_TEST_SECRET",
				events: ["ejection", "pool_health"],
				...notification,
			},
		],
	};
}

/** Runs the authority's alarm (the real one may fire too) until the receiver has `count` requests. */
async function untilReceived(count: number, timeoutMs = 15_000): Promise<ReceivedAlert[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const alerts = await receivedAlerts();
		if (alerts.length >= count || Date.now() > deadline) return alerts;
		await runDurableObjectAlarm(authority());
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

async function hmacHex(body: string, secret: string): Promise<string> {
	const encoder = new TextEncoder();
	const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
	]);
	const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
	return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function ejectA(): Promise<void> {
	const now = Date.now();
	const ejection = { key: "main/a", until: now + 120_000, reason: "5 consecutive failures", at: now };
	expect(await authority().recordEjections([ejection])).toEqual({ refused: [] });
}

beforeEach(async () => {
	await reset();
	await receiverControl("received", "DELETE");
});

describe("alerts to a real receiver", () => {
	it("POSTs a signed alert for an ejection and for the pool it left unhealthy", async () => {
		const { version } = await putConfig(config());
		await ejectA();
		const alerts = await untilReceived(2);
		expect(alerts).toHaveLength(2);
		const bodies = alerts.map((alert) => JSON.parse(alert.body));
		for (const alert of alerts) {
			expect(alert.path).toBe("/hooks/ops");
			expect(alert.headers["content-type"]).toBe("application/json");
			// The signature of the exact bytes received, with the secret the notification names.
			expect(alert.headers["x-switchyard-signature"]).toBe(`sha256=${await hmacHex(alert.body, SECRET)}`);
		}
		const ejection = bodies.find((body) => body.event === "ejection");
		expect(ejection).toEqual({
			id: expect.any(String),
			event: "ejection",
			load_balancers: ["app.test"],
			pool: "main",
			origin: "a",
			healthy: false,
			reason: "5 consecutive failures",
			at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			config_version: version,
		});
		const pool = bodies.find((body) => body.event === "pool_health");
		expect(pool).toMatchObject({ event: "pool_health", pool: "main", origin: null, healthy: false });
		expect(pool.id).not.toBe(ejection.id);

		const events = await adminResult<EventEntry[]>("/events?limit=50");
		const delivered = events.filter((event) => event.type === "alert");
		expect(delivered.map((event) => event.type === "alert" && event.outcome)).toEqual(["delivered", "delivered"]);
		const text = JSON.stringify(events);
		expect(text).not.toContain(SECRET);
		expect(text).not.toContain("sha256=");
	});

	it("retries a receiver that fails twice (503): delivered on the third attempt, both failures in the events", async () => {
		await putConfig(config({ events: ["ejection"] }));
		await receiverControl("fail?times=2&status=503");
		await ejectA();
		const alerts = await untilReceived(3);
		expect(alerts.map((alert) => alert.status)).toEqual([503, 503, 200]);
		// The same delivery each time: the same id and the same bytes.
		expect(new Set(alerts.map((alert) => alert.body)).size).toBe(1);
		const id = JSON.parse(alerts[0]?.body ?? "{}").id;

		const events = await adminResult<EventEntry[]>("/events?limit=50");
		const attempts = events
			.filter((event) => event.type === "alert")
			.reverse()
			.map((event) => event.type === "alert" && [event.delivery, event.attempt, event.outcome, event.status ?? null]);
		expect(attempts).toEqual([
			[id, 1, "failed", 503],
			[id, 2, "failed", 503],
			[id, 3, "delivered", null],
		]);
		expect(JSON.stringify(events)).not.toContain(SECRET);
	});
});

describe("alerts from health checks", () => {
	it("an origin failing its checks sends origin_health (healthy false), and origin_health (true) when it recovers", async () => {
		const base = onePoolConfig(["a", "b"], { monitor: { interval: 60, consecutive_down: 1, consecutive_up: 1 } });
		const { notifications } = config({ events: ["origin_health"] });
		await putConfig({ ...base, notifications });
		const t0 = Date.now();
		try {
			await runCron(t0);
			await setOriginHealthy("b", false);
			await runCron(t0 + 60_000);
			const down = await untilReceived(1);
			expect(down.map((alert) => JSON.parse(alert.body))).toEqual([
				expect.objectContaining({ event: "origin_health", pool: "main", origin: "b", healthy: false }),
			]);
			await setOriginHealthy("b", true);
			await runCron(t0 + 120_000);
			const up = await untilReceived(2);
			expect(JSON.parse(up[1]?.body ?? "{}")).toMatchObject({ event: "origin_health", origin: "b", healthy: true });
			for (const alert of up) {
				expect(alert.headers["x-switchyard-signature"]).toBe(`sha256=${await hmacHex(alert.body, SECRET)}`);
			}
		} finally {
			await setOriginHealthy("b", true);
		}
	});
});

describe("notifications in the configuration document", () => {
	async function putExpecting400(notification: Record<string, unknown>) {
		const response = await admin("PUT", "/config", config(notification));
		const body = (await response.json()) as Envelope;
		expect(response.status).toBe(400);
		return body.errors;
	}

	it("an unknown secret_name is a 400 naming the field", async () => {
		const errors = await putExpecting400({ secret_name: "NO_SUCH_SECRET" });
		expect(errors).toEqual([
			expect.objectContaining({
				field: "notifications[0].secret_name",
				message: expect.stringContaining('no Worker secret named "NO_SUCH_SECRET"'),
			}),
		]);
	});

	it.each([
		[{ url: "ftp://127.0.0.1/hook" }, "notifications[0].url"],
		[{ url: "not a url" }, "notifications[0].url"],
		[{ events: ["origin_down"] }, "notifications[0].events[0]"],
		[{ events: [] }, "notifications[0].events"],
	])("%j is a 400 naming %s", async (notification, field) => {
		const errors = await putExpecting400(notification);
		expect(errors.map((error) => error.field)).toContain(field);
	});

	it("reads back with the secret's name only, never the secret", async () => {
		await putConfig(config());
		const response = await admin("GET", "/config");
		const text = await response.text();
		expect(text).toContain("ALERT_TEST_SECRET");
		expect(text).not.toContain(SECRET);
	});
});
