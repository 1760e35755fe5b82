import { beforeEach, describe, expect, inject, it } from "vitest";
import {
	clearReceived,
	onePoolConfig,
	originUrl,
	putConfig,
	type Received,
	received,
	send,
	startClean,
} from "./helpers";

beforeEach(startClean);

function header(request: Received | undefined, name: string): string | undefined {
	const value = request?.headers[name];
	return Array.isArray(value) ? value.join(", ") : value;
}

/** The one request origin `name` received, after checking it received exactly one. */
async function onlyRequest(name: string): Promise<Received> {
	const got = await received(name);
	expect(got).toHaveLength(1);
	return got[0] as Received;
}

describe("headers the balancer sets", () => {
	it("cannot be removed by naming them in Connection", async () => {
		await putConfig(onePoolConfig(["a"]));
		const response = await send("https://app.test/named", {
			headers: {
				"cf-connecting-ip": "203.0.113.7",
				connection: "x-forwarded-for, x-forwarded-proto, x-forwarded-host, x-real-ip, cdn-loop",
			},
		});
		expect(response.status).toBe(200);
		const got = await onlyRequest("a");
		expect(header(got, "x-forwarded-for")).toBe("203.0.113.7");
		expect(header(got, "x-real-ip")).toBe("203.0.113.7");
		expect(header(got, "x-forwarded-proto")).toBe("https");
		expect(header(got, "x-forwarded-host")).toBe("app.test");
		expect(header(got, "cdn-loop")).toBe("switchyard");
		expect(header(got, "connection") ?? "").not.toMatch(/x-forwarded|cdn-loop/i);
	});

	// Issue 15 (header attacks): workerd passes header names with underscores through, and CGI-style
	// servers read X_Forwarded_For as X-Forwarded-For (HTTP_X_FORWARDED_FOR). They reached the origin.
	it("issue 15: drops forwarding headers spelled with underscores", async () => {
		await putConfig(onePoolConfig(["a"]));
		const response = await send("https://app.test/underscores", {
			headers: {
				"cf-connecting-ip": "203.0.113.7",
				x_forwarded_for: "198.51.100.66",
				x_real_ip: "198.51.100.66",
				x_forwarded_host: "evil.example",
				x_forwarded_proto: "gopher",
				true_client_ip: "198.51.100.66",
				cdn_loop: "forged",
				x_switchyard_origin: "b",
				x_tenant: "kept",
			},
		});
		expect(response.status).toBe(200);
		const got = await onlyRequest("a");
		const names = Object.keys(got.headers);
		expect(names.filter((name) => name.includes("_"))).toEqual(["x_tenant"]);
		expect(header(got, "x-forwarded-for")).toBe("203.0.113.7");
		expect(header(got, "x-forwarded-host")).toBe("app.test");
		expect(header(got, "cdn-loop")).toBe("switchyard");
	});

	it("removes every x-switchyard-* header the client sent", async () => {
		await putConfig(onePoolConfig(["a"]));
		const response = await send("https://app.test/spoof", {
			headers: {
				"x-switchyard-origin": "b",
				"x-switchyard-pool": "admin",
				"x-switchyard-anything": "1",
				"X-Switchyard-Mixed-Case": "1",
				"x-switchyardish": "kept: not our prefix",
			},
		});
		expect(response.status).toBe(200);
		const got = await onlyRequest("a");
		expect(Object.keys(got.headers).filter((name) => name.startsWith("x-switchyard-"))).toEqual([]);
		expect(header(got, "x-switchyardish")).toBe("kept: not our prefix");
	});

	it("replaces a spoofed X-Forwarded-For (and Forwarded, X-Real-IP) with the address Cloudflare saw", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { trusted_proxies: ["203.0.113.0/24"] } }));
		const response = await send("https://app.test/xff", {
			headers: {
				"cf-connecting-ip": "198.51.100.23",
				"x-forwarded-for": "10.9.9.9, 127.0.0.1",
				forwarded: "for=10.9.9.9",
				"x-real-ip": "10.9.9.9",
				"true-client-ip": "10.9.9.9",
			},
		});
		expect(response.status).toBe(200);
		const got = await onlyRequest("a");
		expect(header(got, "x-forwarded-for")).toBe("198.51.100.23");
		expect(header(got, "x-real-ip")).toBe("198.51.100.23");
		expect(header(got, "forwarded")).toBeUndefined();
		expect(header(got, "true-client-ip")).toBeUndefined();
	});

	it("keeps a trusted proxy's X-Forwarded-For chain and appends the proxy's address", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { trusted_proxies: ["203.0.113.0/24"] } }));
		const response = await send("https://app.test/xff-trusted", {
			headers: { "cf-connecting-ip": "203.0.113.9", "x-forwarded-for": "192.0.2.44, 198.51.100.1" },
		});
		expect(response.status).toBe(200);
		const got = await onlyRequest("a");
		expect(header(got, "x-forwarded-for")).toBe("192.0.2.44, 198.51.100.1, 203.0.113.9");
	});

	it("builds the upstream URL from the origin only: Host and X-Forwarded-Host are not followed", async () => {
		await putConfig(onePoolConfig(["a"]));
		const response = await send("https://app.test/where?q=1", {
			headers: { host: "evil.example", "x-forwarded-host": "evil.example" },
		});
		expect(response.status).toBe(200);
		const got = await onlyRequest("a");
		expect(got.url).toBe("/where?q=1");
		expect(header(got, "host")).toBe(new URL(originUrl("a")).host);
		expect(header(got, "x-forwarded-host")).toBe("app.test");
		expect(JSON.stringify(got.headers)).not.toContain("evil.example");
	});
});

describe("redirects from the origin", () => {
	it.each([301, 302, 307, 308])("passes a %i to the client with its Location, without following it", async (status) => {
		await putConfig(onePoolConfig(["a"]));
		const target = `${originUrl("b")}/redirect-target`;
		const response = await send(`https://app.test/redirect?status=${status}&to=${encodeURIComponent(target)}`);
		expect(response.status).toBe(status);
		expect(response.headers.get("location")).toBe(target);
		expect(response.headers.get("x-origin-name")).toBe("a");
		expect(await received("a")).toHaveLength(1);
		expect(await received("b")).toEqual([]); // the balancer did not follow it
	});
});

describe("debug headers", () => {
	it("names the origin and pool only when proxy.debug_headers is on", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { debug_headers: false } }));
		const quiet = await send("https://app.test/debug");
		expect(quiet.status).toBe(200);
		expect([...quiet.headers.keys()].filter((name) => name.startsWith("x-switchyard-"))).toEqual([]);

		await putConfig(onePoolConfig(["a"], { proxy: { debug_headers: true } }));
		const loud = await send("https://app.test/debug");
		expect(loud.headers.get("x-switchyard-origin")).toBe("a");
		expect(loud.headers.get("x-switchyard-pool")).toBe("main");
	});

	it("are off by default", async () => {
		await putConfig({
			pools: [{ id: "p", name: "p", origins: [{ name: "a", address: originUrl("a") }] }],
			load_balancers: [{ name: "app.test", default_pools: ["p"] }],
		});
		const response = await send("https://app.test/debug");
		expect(response.status).toBe(200);
		expect(response.headers.get("x-switchyard-origin")).toBeNull();
		expect(response.headers.get("x-switchyard-pool")).toBeNull();
	});
});

describe("responses the balancer makes itself", () => {
	it("carry Cache-Control: no-store and are problem JSON (404, 502, 503, 504, 508)", async () => {
		await putConfig({
			pools: [
				{ id: "dead", name: "dead", origins: [{ name: "dead", address: inject("deadOrigin") }] },
				{ id: "slow", name: "slow", origins: [{ name: "a", address: originUrl("a") }] },
				{ id: "off", name: "off", origins: [{ name: "b", address: originUrl("b"), enabled: false }] },
			],
			load_balancers: [
				{ name: "dead.test", default_pools: ["dead"] },
				{ name: "slow.test", default_pools: ["slow"], proxy: { timeout_ms: 200 } },
				{ name: "off.test", default_pools: ["off"] },
			],
		});
		const cases: [string, RequestInit, number][] = [
			["https://nobody.test/", {}, 404],
			["https://dead.test/", {}, 502],
			["https://off.test/", {}, 503],
			["https://slow.test/work?ms=2000", {}, 504],
			["https://slow.test/", { headers: { "cdn-loop": "switchyard, switchyard" } }, 508],
		];
		for (const [url, init, status] of cases) {
			const response = await send(url, init);
			expect(response.status, url).toBe(status);
			expect(response.headers.get("cache-control"), url).toBe("no-store");
			expect(response.headers.get("content-type"), url).toBe("application/problem+json");
			expect(await response.json(), url).toMatchObject({ status });
		}
	});
});

describe("loop protection (CDN-Loop, RFC 8586)", () => {
	it("answers 508 to a request that already passed through twice; no origin receives it", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		for (const cdnLoop of ["switchyard, switchyard", "cloudflare, Switchyard; v=1, other, switchyard"]) {
			const response = await send("https://app.test/loop", { headers: { "cdn-loop": cdnLoop } });
			expect(response.status, cdnLoop).toBe(508);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
			expect(await response.json()).toMatchObject({ status: 508 });
		}
		expect(await received("a")).toEqual([]);
		expect(await received("b")).toEqual([]);
	});

	it("forwards a request that passed through once, appending its own entry", async () => {
		await putConfig(onePoolConfig(["a"]));
		const response = await send("https://app.test/once", { headers: { "cdn-loop": "cloudflare, switchyard" } });
		expect(response.status).toBe(200);
		expect(header(await onlyRequest("a"), "cdn-loop")).toBe("cloudflare, switchyard, switchyard");
	});

	it("ends a loop: an origin that sends requests back to the balancer gets at most two through", async () => {
		// Each hop replays the CDN-Loop header the origin received, as an origin pointing back at the
		// balancer would: the third arrival is refused.
		await putConfig(onePoolConfig(["a"]));
		let cdnLoop: string | undefined;
		const statuses: number[] = [];
		for (let hop = 0; hop < 4; hop++) {
			await clearReceived("a");
			const response = await send("https://app.test/hop", cdnLoop ? { headers: { "cdn-loop": cdnLoop } } : {});
			statuses.push(response.status);
			if (response.status !== 200) break;
			cdnLoop = header(await onlyRequest("a"), "cdn-loop");
		}
		expect(statuses).toEqual([200, 200, 508]);
		expect(cdnLoop).toBe("switchyard, switchyard");
	});
});
