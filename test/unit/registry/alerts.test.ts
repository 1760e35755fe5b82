import { describe, expect, it } from "vitest";
import {
	FIRST_RETRY_MS,
	loadBalancersUsing,
	MAX_DELIVERY_AGE_MS,
	MAX_RETRY_MS,
	signBody,
	type Transition,
	toAlerts,
	toNextAttemptAt,
	toRetryDelayMs,
} from "../../../src/registry/alerts";
import { aConfig, aLoadBalancer, anOrigin, aPool, aSnapshot } from "../../fixtures/config";

/** node:crypto, the reference implementation (the unit layer runs in Node; its types are not in this tsconfig). */
interface NodeCrypto {
	createHmac(algorithm: string, key: string): { update(data: Uint8Array): { digest(encoding: "hex"): string } };
	timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}
const NODE_CRYPTO: string = "node:crypto";
const { createHmac, timingSafeEqual } = (await import(NODE_CRYPTO)) as NodeCrypto;
const utf8 = (text: string) => new TextEncoder().encode(text);

describe("signBody", () => {
	it.each([
		["{}", "s3cret"],
		['{"id":"1","event":"ejection","reason":"caf\u00e9 \u2603"}', "another secret"],
		["", "k"],
	])("is sha256=<hex HMAC-SHA256> of the body's UTF-8 bytes, as node:crypto computes it (%s)", async (body, secret) => {
		const expected = createHmac("sha256", secret).update(utf8(body)).digest("hex");
		const signature = await signBody(body, secret);
		expect(signature).toBe(`sha256=${expected}`);
		// What a receiver does: a timing-safe comparison of what it computes with the header.
		expect(timingSafeEqual(utf8(signature), utf8(`sha256=${expected}`))).toBe(true);
	});

	it("differs with another secret or one changed byte", async () => {
		const signature = await signBody('{"a":1}', "k");
		expect(await signBody('{"a":1}', "k2")).not.toBe(signature);
		expect(await signBody('{"a":2}', "k")).not.toBe(signature);
	});
});

describe("the retry schedule", () => {
	it("doubles from 1 s and is capped", () => {
		expect([1, 2, 3, 4, 5].map(toRetryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16_000]);
		expect(toRetryDelayMs(1)).toBe(FIRST_RETRY_MS);
		expect(toRetryDelayMs(30)).toBe(MAX_RETRY_MS);
	});

	it("gives up once the next attempt would be more than an hour after the first", () => {
		const first = 1_000_000;
		expect(toNextAttemptAt(first, 1, first)).toBe(first + 1000);
		expect(toNextAttemptAt(first, 3, first + 3000)).toBe(first + 7000);
		expect(toNextAttemptAt(first, 20, first + MAX_DELIVERY_AGE_MS - MAX_RETRY_MS)).toBe(first + MAX_DELIVERY_AGE_MS);
		expect(toNextAttemptAt(first, 20, first + MAX_DELIVERY_AGE_MS - MAX_RETRY_MS + 1)).toBeUndefined();
	});

	it("an always-failing receiver is tried about 20 times within the hour, then dropped", () => {
		const first = 0;
		let now = first;
		let attempts = 1;
		for (
			let next = toNextAttemptAt(first, attempts, now);
			next !== undefined;
			next = toNextAttemptAt(first, attempts, now)
		) {
			now = next;
			attempts++;
		}
		expect(now).toBeLessThanOrEqual(MAX_DELIVERY_AGE_MS);
		expect(attempts).toBeGreaterThan(10);
		expect(attempts).toBeLessThan(30);
	});
});

describe("toAlerts", () => {
	const config = aConfig({
		pools: [aPool("primary", [anOrigin("a"), anOrigin("b")], { minimum_origins: 2 }), aPool("other", [anOrigin("c")])],
		load_balancers: [
			aLoadBalancer("app.example.com", ["primary"]),
			aLoadBalancer("api.example.com", ["other"], { fallback_pool: "primary" }),
			aLoadBalancer("static.example.com", ["other"]),
		],
		notifications: [
			{
				id: "all",
				url: "https://hooks.example.com/all",
				secret_name: "ALL",
				events: ["origin_health", "pool_health", "ejection"],
			},
			{ id: "pools", url: "https://hooks.example.com/pools", secret_name: "POOLS", events: ["pool_health"] },
		],
	});
	const snapshot = aSnapshot(config, 7);
	let ids = 0;
	const newId = () => `d${++ids}`;
	const down: Transition = {
		at: Date.UTC(2026, 11, 7, 18),
		originKey: "primary/a",
		healthy: false,
		reason: "HTTP 503",
	};

	it("an origin going down: an origin_health body to the notifications that ask, and its pool's change", () => {
		ids = 0;
		const healthy = (key: string) => key !== "primary/a";
		const alerts = toAlerts([down], snapshot, healthy, newId);
		expect(alerts.map((alert) => [alert.notificationId, JSON.parse(alert.body).event])).toEqual([
			["all", "origin_health"],
			["all", "pool_health"],
			["pools", "pool_health"],
		]);
		expect(JSON.parse(alerts[0]?.body ?? "")).toEqual({
			id: "d1",
			event: "origin_health",
			load_balancers: ["app.example.com", "api.example.com"],
			pool: "primary",
			origin: "a",
			healthy: false,
			reason: "HTTP 503",
			at: "2026-12-07T18:00:00.000Z",
			config_version: 7,
		});
		expect(JSON.parse(alerts[1]?.body ?? "")).toMatchObject({ event: "pool_health", origin: null, healthy: false });
		expect(alerts[0]).toMatchObject({ id: "d1", url: "https://hooks.example.com/all", secretName: "ALL" });
	});

	it("an ejection is an `ejection` event; a pool that stays healthy sends no pool_health", () => {
		const relaxed = aSnapshot(
			{ ...config, pools: [aPool("primary", [anOrigin("a"), anOrigin("b")]), aPool("other", [anOrigin("c")])] },
			8,
		);
		const alerts = toAlerts([{ ...down, ejection: true }], relaxed, (key) => key !== "primary/a", newId);
		expect(alerts.map((alert) => JSON.parse(alert.body).event)).toEqual(["ejection"]);
	});

	it("an origin coming back up: healthy true, and the pool healthy again", () => {
		const up = { ...down, healthy: true, reason: "HTTP 200" };
		const alerts = toAlerts([up], snapshot, () => true, newId);
		expect(alerts.map((alert) => [JSON.parse(alert.body).event, JSON.parse(alert.body).healthy])).toEqual([
			["origin_health", true],
			["pool_health", true],
			["pool_health", true],
		]);
	});

	it("nothing without notifications", () => {
		expect(toAlerts([down], aSnapshot(aConfig(), 1), () => false, newId)).toEqual([]);
	});

	it("loadBalancersUsing finds a pool in any list", () => {
		expect(loadBalancersUsing(snapshot.config, "other")).toEqual(["api.example.com", "static.example.com"]);
	});
});
