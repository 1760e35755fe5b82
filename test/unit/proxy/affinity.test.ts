import { describe, expect, it } from "vitest";
import type { AffinityPlan } from "../../../src/contract/route";
import { AFFINITY_COOKIE, readPin, toAffinityKeys, toCookieValue, toSetCookie } from "../../../src/proxy/affinity";

const NOW = Date.UTC(2026, 10, 25, 12);
const pin = { pool: "eu", origin: "eu-1" };

function base64Url(text: string): string {
	return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

describe("affinity cookies", () => {
	it("round-trips a pin for its host, and verifies with the previous key after a rotation", async () => {
		const [current] = await toAffinityKeys(["secret-1"]);
		const value = await toCookieValue("app.example.com", pin, 3600, current as never, NOW);
		const cookie = `other=1; ${AFFINITY_COOKIE}=${value}`;
		expect(await readPin(cookie, "app.example.com", [current as never], NOW)).toEqual(pin);
		const rotated = await toAffinityKeys(["secret-2", "secret-1"]);
		expect(await readPin(cookie, "app.example.com", rotated, NOW)).toEqual(pin);
		expect(await readPin(cookie, "app.example.com", await toAffinityKeys(["secret-2"]), NOW)).toBeUndefined();
	});

	it("ignores another host's, an expired, or a re-signed cookie", async () => {
		const keys = await toAffinityKeys(["secret-1"]);
		const value = await toCookieValue("app.example.com", pin, 60, keys[0] as never, NOW);
		const cookie = `${AFFINITY_COOKIE}=${value}`;
		expect(await readPin(cookie, "other.example.com", keys, NOW)).toBeUndefined();
		expect(await readPin(cookie, "app.example.com", keys, NOW + 61_000)).toBeUndefined();
		const [body, signature] = value.split(".") as [string, string];
		const tampered = `${AFFINITY_COOKIE}=${body}x.${signature}`;
		expect(await readPin(tampered, "app.example.com", keys, NOW)).toBeUndefined();
	});

	it.each([
		["null payload", `${base64Url("null")}.AAAA`],
		["array payload", `${base64Url("[1,2]")}.AAAA`],
		["number expiry as text", `${base64Url('{"h":"a","p":"p","o":"o","e":"9","k":"x"}')}.AAAA`],
		["not JSON", `${base64Url("{nope")}.AAAA`],
		["bad base64", "%%%.%%%"],
		["three parts", "a.b.c"],
	])("never throws on a crafted cookie: %s", async (_name, value) => {
		const keys = await toAffinityKeys(["secret-1"]);
		await expect(readPin(`${AFFINITY_COOKIE}=${value}`, "a", keys, NOW)).resolves.toBeUndefined();
	});

	it("sets the attributes the load balancer asks for", () => {
		const affinity: AffinityPlan = {
			mode: "cookie",
			ttlS: 600,
			samesite: "Strict",
			secure: "Auto",
			zeroDowntimeFailover: "none",
			pinned: false,
			pinPresent: false,
			headers: [],
		};
		expect(toSetCookie("v", affinity, true)).toBe(
			`${AFFINITY_COOKIE}=v; Path=/; Max-Age=600; HttpOnly; SameSite=Strict; Secure`,
		);
		expect(toSetCookie("v", affinity, false)).toBe(
			`${AFFINITY_COOKIE}=v; Path=/; Max-Age=600; HttpOnly; SameSite=Strict`,
		);
	});
});
