import { describe, expect, it } from "vitest";
import type { AffinityPlan } from "../../../src/contract/route";
import {
	AFFINITY_COOKIE,
	AffinityHeaderCache,
	MAX_AFFINITY_HOSTS,
	readPin,
	toAffinityKeys,
	toCookieValue,
	toSetCookie,
} from "../../../src/proxy/affinity";

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
		// Any change to the sealed bytes, anywhere, and it no longer opens. (Not the last character: it
		// may carry only padding bits, which decoding drops.)
		for (const at of [0, 14, value.length - 2]) {
			const flipped = `${value.slice(0, at)}${value[at] === "A" ? "B" : "A"}${value.slice(at + 1)}`;
			expect(await readPin(`${AFFINITY_COOKIE}=${flipped}`, "app.example.com", keys, NOW)).toBeUndefined();
		}
	});

	// Issue 13, item 4: the cookie reveals no internal name (it was base64 JSON with host, pool and origin).
	it("is opaque: neither the hostname nor the pool or origin name can be read from it", async () => {
		const [key] = await toAffinityKeys(["secret-1"]);
		const value = await toCookieValue("app.example.com", pin, 3600, key as never, NOW);
		const bytes = Uint8Array.from(atob(value.replaceAll("-", "+").replaceAll("_", "/")), (char) => char.charCodeAt(0));
		const asText = new TextDecoder("latin1").decode(bytes);
		for (const name of ["app.example.com", "eu-1", '"p"', '"o"']) expect(asText).not.toContain(name);
		expect(value).not.toContain(base64Url("app.example.com").slice(0, 12));
		// Two cookies for the same pin differ (a fresh nonce each), so they cannot be told apart by value.
		expect(await toCookieValue("app.example.com", pin, 3600, key as never, NOW)).not.toBe(value);
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

describe("AffinityHeaderCache (issue 14, item 3)", () => {
	const headers = new Headers({ "x-user": "u1", accept: "text/html", cookie: "secret" });

	it("remembers at most MAX_AFFINITY_HOSTS hostnames, however many a wildcard answers", () => {
		const cache = new AffinityHeaderCache();
		for (let i = 0; i < 10 * MAX_AFFINITY_HOSTS; i++) cache.learn(`tenant-${i}.example.com`, [], 7, false);
		expect(cache.size).toBeLessThanOrEqual(MAX_AFFINITY_HOSTS);
		expect(cache.wantsLocation("tenant-0.example.com")).toBe(true); // forgotten: not seen yet
	});

	it("treats a forgotten hostname as one not seen yet (every small header, the location), and learns it again", () => {
		const cache = new AffinityHeaderCache();
		cache.learn("old.example.com", ["X-User"], 7, false);
		expect(cache.select("old.example.com", headers)).toEqual({ "x-user": "u1" });
		expect(cache.wantsLocation("old.example.com")).toBe(false);
		for (let i = 0; i < MAX_AFFINITY_HOSTS; i++) cache.learn(`tenant-${i}.example.com`, [], 7, false);
		expect(cache.select("old.example.com", headers)).toEqual({ "x-user": "u1", accept: "text/html" });
		expect(cache.wantsLocation("old.example.com")).toBe(true);
		cache.learn("old.example.com", ["x-user"], 7, false);
		expect(cache.select("old.example.com", headers)).toEqual({ "x-user": "u1" });
	});

	it("keeps a hostname in steady use while others come and go", () => {
		const cache = new AffinityHeaderCache();
		cache.learn("app.example.com", [], 7, true);
		for (let i = 0; i < 10 * MAX_AFFINITY_HOSTS; i++) {
			cache.learn(`tenant-${i}.example.com`, [], 7, false);
			if (i % 100 === 0) expect(cache.select("app.example.com", headers)).toBeUndefined();
		}
		expect(cache.select("app.example.com", headers)).toBeUndefined();
		expect(cache.wantsLocation("app.example.com")).toBe(true);
	});
});
