/**
 * Who may use the admin API: no token and a wrong token get 401 (with WWW-Authenticate), the
 * read-only token reads but may not change anything (403, and nothing changes), the admin token may
 * do everything, and /_lb/api on a host outside ADMIN_HOSTNAMES is not the admin API at all.
 */
import { reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import {
	adminAs,
	envelopeOf,
	expectFailure,
	expectUnchanged,
	READ_TOKEN,
	readEvents,
	readStatus,
	readStored,
	tokenDigestPrefix,
	versionOf,
} from "./admin-helpers";
import { clearReceived, type Envelope, onePoolConfig, originUrl, putConfig, received, send, TOKEN } from "./helpers";

beforeEach(async () => {
	await reset();
	await clearReceived("a", "b");
	await putConfig(onePoolConfig(["a", "b"]));
});

const READ_PATHS = ["/config", "/status", "/events", "/pools", "/monitors", "/load_balancers", "/pools/main/origins"];

describe("without a valid token", () => {
	it("401 with WWW-Authenticate for no Authorization header and for a wrong token, on reads and writes", async () => {
		const before = await readStored();
		for (const token of [undefined, "wrong-token", `${TOKEN}x`, ""]) {
			for (const [method, path, body] of [
				["GET", "/config", undefined],
				["GET", "/status", undefined],
				["PUT", "/config", onePoolConfig(["b"])],
				["POST", "/pools", { id: "p", name: "p", origins: [] }],
				["POST", "/pools/main/origins/a/drain", undefined],
				["DELETE", "/load_balancers/app.test", undefined],
			] as const) {
				const response = await adminAs(token, method, path, body);
				expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
				const envelope = await expectFailure(response, 401, 1007);
				expect(JSON.stringify(envelope)).not.toContain('"pools"');
			}
		}
		// A Basic credential carrying the right token is not a bearer token.
		const basic = await send("http://admin.test/_lb/api/config", {
			headers: { authorization: `Basic ${btoa(`admin:${TOKEN}`)}` },
		});
		await expectFailure(basic, 401, 1007);
		await expectUnchanged(before);
		expect((await readStatus()).pools[0]?.origins.every((origin) => !origin.draining)).toBe(true);
	});
});

describe("the read-only token", () => {
	it("can read config, status, events and every collection", async () => {
		for (const path of READ_PATHS) {
			const response = await adminAs(READ_TOKEN, "GET", path);
			expect(response.status, path).toBe(200);
			const body = await envelopeOf<Envelope<unknown>>(response);
			expect(body.success).toBe(true);
			if (path === "/config") expect(body.result).toMatchObject({ pools: [{ id: "main" }] });
		}
		const config = await adminAs(READ_TOKEN, "GET", "/config");
		expect(versionOf(config)).toBe(1);
		await config.body?.cancel();
	});

	it("gets 403 on PUT /config, POST /pools, drain and every other write, and nothing changes", async () => {
		const before = await readStored();
		for (const [method, path, body] of [
			["PUT", "/config", onePoolConfig(["b"])],
			["POST", "/pools", { id: "p", name: "p", origins: [] }],
			["POST", "/pools/main/origins/a/drain", undefined],
			["POST", "/pools/main/origins/a/enable", undefined],
			["PATCH", "/pools/main", { description: "x" }],
			["PUT", "/monitors/health", { path: "/x" }],
			["DELETE", "/load_balancers/app.test", undefined],
			["POST", "/pools/main/origins", { name: "c", address: originUrl("a") }],
			["DELETE", "/pools/main/origins/b", undefined],
		] as const) {
			const response = await adminAs(READ_TOKEN, method, path, body);
			await expectFailure(response, 403, 1008);
		}
		// A refused write is refused before its body is looked at.
		const garbage = await send("http://admin.test/_lb/api/config", {
			method: "PUT",
			headers: { authorization: `Bearer ${READ_TOKEN}`, "content-type": "text/plain" },
			body: "nope",
		});
		await expectFailure(garbage, 403, 1008);

		await expectUnchanged(before);
		const status = await readStatus();
		expect(status.pools[0]?.origins.map((origin) => [origin.name, origin.draining])).toEqual([
			["a", false],
			["b", false],
		]);
		// The drain did not happen: a still gets traffic.
		for (let i = 0; i < 2; i++) await (await send("https://app.test/")).body?.cancel();
		expect(await received("a")).toHaveLength(1);
	});
});

describe("the read-only token on Cloudflare's paths (issue 17)", () => {
	const A = "/accounts/023e105f4ecef8ad9ca31a8372d0c353/load_balancers";
	const Z = "/zones/023e105f4ecef8ad9ca31a8372d0c354/load_balancers";

	it("reads every new GET route (200) and is refused every new write (403), and nothing changes", async () => {
		const lb = (await readStored()).document.load_balancers[0];
		const id = String(lb?.id);
		const preview = await adminAs(TOKEN, "POST", `${A}/monitors/health/preview`, {});
		const previewId = (await envelopeOf<Envelope<{ preview_id: string }>>(preview)).result.preview_id;
		expect(preview.status).toBe(200);
		const reads = [
			`${A}/monitors`,
			`${A}/monitors/health`,
			`${A}/monitors/health/references`,
			`${A}/pools`,
			`${A}/pools?monitor=health`,
			`${A}/pools/main`,
			`${A}/pools/main/health`,
			`${A}/pools/main/references`,
			`${A}/preview/${previewId}`,
			A,
			`${A}/${id}`,
			Z,
			`${Z}/${id}`,
		];
		for (const path of reads) {
			const response = await adminAs(READ_TOKEN, "GET", path);
			expect(response.status, path).toBe(200);
			expect((await envelopeOf<Envelope<unknown>>(response)).success).toBe(true);
		}

		const before = await readStored();
		const newLb = { name: "x.test", default_pools: ["main"] };
		const writes: [string, string, unknown][] = [
			["POST", `${A}/monitors`, { path: "/x" }],
			["PUT", `${A}/monitors/health`, { path: "/x" }],
			["PATCH", `${A}/monitors/health`, { path: "/x" }],
			["DELETE", `${A}/monitors/health`, undefined],
			["POST", `${A}/monitors/health/preview`, {}],
			["POST", `${A}/pools`, { name: "p", origins: [] }],
			["PATCH", `${A}/pools`, { notification_email: "" }],
			["PUT", `${A}/pools/main`, { name: "main", origins: [] }],
			["PATCH", `${A}/pools/main`, { description: "x" }],
			["DELETE", `${A}/pools/main`, undefined],
			["POST", `${A}/pools/main/preview`, {}],
			["POST", A, newLb],
			["PUT", `${A}/${id}`, { ...newLb, name: "app.test" }],
			["PATCH", `${A}/${id}`, { description: "x" }],
			["DELETE", `${A}/${id}`, undefined],
			["POST", Z, newLb],
			["PUT", `${Z}/${id}`, { ...newLb, name: "app.test" }],
			["PATCH", `${Z}/${id}`, { description: "x" }],
			["DELETE", `${Z}/${id}`, undefined],
		];
		for (const [method, path, body] of writes) {
			const response = await adminAs(READ_TOKEN, method, path, body);
			expect(response.status, `${method} ${path}`).toBe(403);
			await expectFailure(response, 403, 1008);
		}
		await expectUnchanged(before);
	});
});

describe("the admin token", () => {
	it("can read and write everything, and is named by a hash in the audit log", async () => {
		for (const path of READ_PATHS) {
			const response = await adminAs(TOKEN, "GET", path);
			expect(response.status, path).toBe(200);
			await response.body?.cancel();
		}
		const writes: [string, string, unknown, number][] = [
			["POST", "/pools", { id: "p", name: "p", origins: [] }, 201],
			["PATCH", "/pools/main", { description: "x" }, 200],
			["POST", "/pools/main/origins/a/drain", undefined, 200],
			["POST", "/pools/main/origins/a/enable", undefined, 200],
			["DELETE", "/pools/p", undefined, 200],
			["PUT", "/config", onePoolConfig(["b"]), 200],
		];
		for (const [method, path, body, status] of writes) {
			const response = await adminAs(TOKEN, method, path, body);
			expect(response.status, `${method} ${path}`).toBe(status);
			await response.body?.cancel();
		}
		const stored = await readStored();
		// Six writes, each a new version (drain and enable too: issue 14, item 5).
		expect(stored.version).toBe(7);
		expect(stored.document.pools.map((pool) => pool.origins.map((origin) => origin.name))).toEqual([["b"]]);
		// Named by role, never by anything derived from the token (a hash would let read callers test guesses).
		const actor = "admin";
		const events = await readEvents();
		expect(events.filter((event) => event.type === "config").map((event) => event.actor)).toEqual([
			actor,
			actor,
			actor,
			actor,
			actor,
			actor,
			actor, // the setup PUT
		]);
		expect(JSON.stringify(events)).not.toContain(TOKEN);
		expect(JSON.stringify(events)).not.toContain(await tokenDigestPrefix(TOKEN));
	});
});

describe("admin hostnames", () => {
	it("/_lb/api on a host not in ADMIN_HOSTNAMES is a 404 and not the admin API, even with the admin token", async () => {
		const before = await readStored();
		for (const [method, body] of [
			["GET", undefined],
			["PUT", JSON.stringify(onePoolConfig(["b"]))],
		] as const) {
			const response = await send("https://app.test/_lb/api/config", {
				method,
				headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
				body,
			});
			expect(response.status).toBe(404);
			expect(response.headers.get("etag")).toBeNull();
			const text = await response.text();
			expect(text).not.toContain('"success"');
			expect(text).not.toContain(originUrl("a"));
		}
		// Nor is it proxied to the load balancer that answers app.test.
		expect(await received("a")).toHaveLength(0);
		expect(await received("b")).toHaveLength(0);
		await expectUnchanged(before);

		// The same request on an admin hostname is the admin API.
		const onAdminHost = await send("http://localhost/_lb/api/config", {
			headers: { authorization: `Bearer ${TOKEN}` },
		});
		expect(onAdminHost.status).toBe(200);
		expect(versionOf(onAdminHost)).toBe(1);
		await onAdminHost.body?.cancel();
	});
});
