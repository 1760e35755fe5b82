/**
 * Every refusal of the admin API: the status and envelope error the client gets, and that nothing
 * already stored changes (same ETag, byte-identical GET /config, no new audit entry). Also the
 * all-or-nothing PUT: one invalid pool in a document leaves config, status and routing alone.
 */
import { reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import {
	adminRaw,
	expectFailure,
	expectUnchanged,
	readStatus,
	readStored,
	type Stored,
	servedBy,
	versionOf,
} from "./admin-helpers";
import { admin, clearReceived, onePoolConfig, originUrl, putConfig, received, startClean } from "./helpers";

const MIB = 1024 * 1024;

beforeEach(startClean);

/** A configuration with something in every collection, at version 2. */
async function setUp(): Promise<Stored> {
	await putConfig(onePoolConfig(["a", "b"]));
	const spare = await admin("POST", "/pools", {
		id: "spare",
		name: "spare",
		origins: [{ name: "c", address: originUrl("c") }],
	});
	expect(spare.status).toBe(201);
	const stored = await readStored();
	expect(stored.version).toBe(2);
	return stored;
}

describe("request bodies", () => {
	it("400 for malformed JSON, on PUT /config and on CRUD writes", async () => {
		const before = await setUp();
		for (const [method, path] of [
			["PUT", "/config"],
			["POST", "/pools"],
			["PATCH", "/pools/main"],
			["PUT", "/monitors/health"],
			["POST", "/pools/main/origins"],
		] as const) {
			const response = await adminRaw(method, path, '{"pools": [');
			const body = await expectFailure(response, 400, 1000);
			expect(body.errors[0]?.message).toMatch(/not valid JSON/);
		}
		await expectUnchanged(before);
	});

	it("400 for JSON that is not an object (array, string, null, number, empty body)", async () => {
		const before = await setUp();
		for (const text of ["[]", '"config"', "null", "42"]) {
			const response = await adminRaw("PUT", "/config", text);
			const body = await expectFailure(response, 400, 1000);
			expect(body.errors[0]?.message).toMatch(/JSON object/);
		}
		await expectFailure(await adminRaw("PATCH", "/load_balancers/app.test", "[1]"), 400, 1000);
		await expectFailure(await adminRaw("PUT", "/config", ""), 400, 1000);
		await expectUnchanged(before);
	});

	it("415 for a body that is not application/json", async () => {
		const before = await setUp();
		const document = JSON.stringify(onePoolConfig(["c"]));
		await expectFailure(await adminRaw("PUT", "/config", document, "text/plain"), 415, 1006);
		await expectFailure(await adminRaw("POST", "/monitors", '{"id":"m"}', "text/plain;charset=utf-8"), 415, 1006);
		await expectFailure(
			await adminRaw(
				"POST",
				"/pools/main/origins",
				'{"name":"x","address":"x.example.com"}',
				"application/x-www-form-urlencoded",
			),
			415,
			1006,
		);
		await expectUnchanged(before);
	});

	it("413 for a body of 1 MiB + 1 byte; exactly 1 MiB is accepted", async () => {
		const before = await setUp();
		// A valid document that would change the configuration, padded with whitespace.
		const document = JSON.stringify(onePoolConfig(["c"]));
		const tooBig = document + " ".repeat(MIB + 1 - document.length);
		expect(new TextEncoder().encode(tooBig).byteLength).toBe(MIB + 1);
		const body = await expectFailure(await adminRaw("PUT", "/config", tooBig), 413, 1005);
		expect(body.errors[0]?.message).toMatch(/larger than/);
		const tooBigCreate = `{"id":"m","path":"/x"}${" ".repeat(MIB + 1 - 22)}`;
		expect(tooBigCreate.length).toBe(MIB + 1);
		await expectFailure(await adminRaw("POST", "/monitors", tooBigCreate), 413, 1005);
		await expectUnchanged(before);

		const justFits = document + " ".repeat(MIB - document.length);
		const accepted = await adminRaw("PUT", "/config", justFits);
		expect(accepted.status).toBe(200);
		expect(versionOf(accepted)).toBe(3);
		await accepted.body?.cancel();
	});
});

describe("field errors (1001, one error per field, configuration untouched)", () => {
	it("PUT /config: a fractional weight above 1 and an unknown monitor, each with its field", async () => {
		const before = await setUp();
		const bad = onePoolConfig(["a", "b"]);
		(bad.pools[0]?.origins[0] as Record<string, unknown>).weight = 1.5;
		(bad.pools[0] as Record<string, unknown>).monitor = "no-such-monitor";
		const response = await admin("PUT", "/config", bad);
		const body = await expectFailure(response, 400, 1001, "pools[0].origins[0].weight");
		// The schema refuses the weight before references are checked; fix it and the reference is reported.
		expect(body.errors.every((error) => typeof error.field === "string" && error.field.length > 0)).toBe(true);
		(bad.pools[0]?.origins[0] as Record<string, unknown>).weight = 1;
		const reference = await expectFailure(await admin("PUT", "/config", bad), 400, 1001, "pools[0].monitor");
		expect(reference.errors.find((error) => error.field === "pools[0].monitor")?.message).toMatch(/no-such-monitor/);
		await expectUnchanged(before);
	});

	it("reports several bad fields as several errors", async () => {
		const before = await setUp();
		const bad = {
			monitors: [{ id: "m", timeout: 99 }],
			pools: [{ id: "p", name: "p", origins: [{ name: "x", address: "http://x.example.com?q=1", weight: -1 }] }],
			load_balancers: [{ name: "app.test", default_pools: ["nope"] }],
		};
		const response = await admin("PUT", "/config", bad);
		const body = await expectFailure(response, 400, 1001);
		const fields = body.errors.map((error) => error.field);
		expect(fields).toEqual(expect.arrayContaining(["monitors[0].timeout", "pools[0].origins[0].weight"]));
		expect(new Set(fields).size).toBe(fields.length);
		await expectUnchanged(before);
	});

	it("CRUD writes: a bad weight, an unknown monitor, an unknown pool, a missing key", async () => {
		const before = await setUp();
		await expectFailure(
			await admin("POST", "/pools/main/origins", { name: "x", address: originUrl("d"), weight: 1.5 }),
			400,
			1001,
			"pools[0].origins[2].weight",
		);
		await expectFailure(await admin("PATCH", "/pools/spare", { monitor: "ghost" }), 400, 1001, "pools[1].monitor");
		await expectFailure(
			await admin("POST", "/load_balancers", { name: "new.test", default_pools: ["ghost"] }),
			400,
			1001,
			"load_balancers[1].default_pools[0]",
		);
		await expectFailure(await admin("POST", "/load_balancers", { default_pools: ["main"] }), 400, 1001, "name");
		await expectFailure(await admin("POST", "/pools/main/origins", { address: originUrl("d") }), 400, 1001, "name");
		await expectFailure(await admin("PATCH", "/monitors/health", { id: "renamed" }), 400, 1001, "id");
		await expectUnchanged(before);
	});
});

describe("404 for what does not exist", () => {
	it("GET, PUT, PATCH and DELETE of an unknown monitor, pool and load balancer", async () => {
		const before = await setUp();
		for (const path of ["/monitors/ghost", "/pools/ghost", "/load_balancers/ghost.test"]) {
			await expectFailure(await admin("GET", path), 404, 1002);
			await expectFailure(await admin("PATCH", path, { description: "x" }), 404, 1002);
			await expectFailure(await admin("PUT", path, { description: "x" }), 404, 1002);
			await expectFailure(await admin("DELETE", path), 404, 1002);
		}
		await expectUnchanged(before);
	});

	it("origins: unknown origin, and unknown pool, on every origin route", async () => {
		const before = await setUp();
		for (const path of ["/pools/main/origins/ghost", "/pools/ghost/origins/a"]) {
			await expectFailure(await admin("GET", path), 404, 1002);
			await expectFailure(await admin("PATCH", path, { weight: 0.5 }), 404, 1002);
			await expectFailure(await admin("PUT", path, { address: originUrl("d") }), 404, 1002);
			await expectFailure(await admin("DELETE", path), 404, 1002);
			await expectFailure(await admin("POST", `${path}/drain`), 404, 1002);
			await expectFailure(await admin("POST", `${path}/enable`), 404, 1002);
		}
		await expectFailure(await admin("GET", "/pools/ghost/origins"), 404, 1002);
		await expectFailure(await admin("POST", "/pools/ghost/origins", { name: "x", address: originUrl("d") }), 404, 1002);
		await expectUnchanged(before);
		expect((await readStatus()).pools.flatMap((pool) => pool.origins.map((origin) => origin.draining))).toEqual([
			false,
			false,
			false,
		]);
	});

	it("an id that is not valid percent-encoding is an unknown id, not a server error", async () => {
		const before = await setUp();
		const response = await admin("GET", "/monitors/%E0%A4%A");
		expect(response.status).not.toBe(500);
		await expectFailure(response, 404, 1002);
		await expectUnchanged(before);
	});
});

describe("409 conflicts", () => {
	it("creating what already exists: monitor id, pool id, load balancer hostname (any case), origin name", async () => {
		const before = await setUp();
		await expectFailure(await admin("POST", "/monitors", { id: "health" }), 409, 1003);
		await expectFailure(await admin("POST", "/pools", { id: "main", name: "again", origins: [] }), 409, 1003);
		await expectFailure(
			await admin("POST", "/load_balancers", { name: "app.test", default_pools: ["main"] }),
			409,
			1003,
		);
		await expectFailure(
			await admin("POST", "/load_balancers", { name: "APP.Test", default_pools: ["main"] }),
			409,
			1003,
		);
		await expectFailure(await admin("POST", "/pools/main/origins", { name: "a", address: originUrl("d") }), 409, 1003);
		await expectUnchanged(before);
	});

	it("deleting a monitor a pool uses, or a pool a load balancer uses (each kind of reference)", async () => {
		const before = await setUp();
		const monitor = await expectFailure(await admin("DELETE", "/monitors/health"), 409, 1003);
		expect(monitor.errors[0]?.message).toMatch(/main/);
		const pool = await expectFailure(await admin("DELETE", "/pools/main"), 409, 1003);
		expect(pool.errors[0]?.message).toMatch(/default_pools/);
		await expectUnchanged(before);

		const references: [string, Record<string, unknown>][] = [
			["fallback_pool", { fallback_pool: "spare" }],
			["region_pools", { region_pools: { WEU: ["spare"] } }],
			["country_pools", { country_pools: { DE: ["spare"] } }],
			["pop_pools", { pop_pools: { FRA: ["spare"] } }],
		];
		for (const [where, patch] of references) {
			await reset();
			await setUp();
			const patched = await admin("PATCH", "/load_balancers/app.test", patch);
			expect(patched.status).toBe(200);
			await patched.body?.cancel();
			const stored = await readStored();
			const refused = await expectFailure(await admin("DELETE", "/pools/spare"), 409, 1003);
			expect(refused.errors[0]?.message).toContain(where);
			await expectUnchanged(stored);
			expect((await admin("GET", "/pools/spare")).status).toBe(200);
		}
	});
});

describe("412 stale If-Match", () => {
	it("PUT /config and CRUD writes with an old version change nothing and send the current ETag", async () => {
		const before = await setUp();
		const stalePut = await admin("PUT", "/config", onePoolConfig(["d"]), { "if-match": '"1"' });
		expect(stalePut.headers.get("etag")).toBe('"2"');
		await expectFailure(stalePut, 412, 1004);

		for (const [method, path, body] of [
			["POST", "/monitors", { id: "m" }],
			["PATCH", "/pools/main", { description: "x" }],
			["PUT", "/load_balancers/app.test", { default_pools: ["spare"] }],
			["DELETE", "/pools/spare", undefined],
			["POST", "/pools/main/origins", { name: "d", address: originUrl("d") }],
			["PATCH", "/pools/main/origins/a", { weight: 0.5 }],
		] as const) {
			const response = await admin(method, path, body, { "if-match": '"1"' });
			expect(response.headers.get("etag")).toBe('"2"');
			await expectFailure(response, 412, 1004);
		}
		await expectUnchanged(before);

		// The current version is accepted; an unreadable If-Match is a 400.
		await expectFailure(await admin("PUT", "/config", onePoolConfig(["d"]), { "if-match": "banana" }), 400, 1000);
		await expectUnchanged(before);
		const current = await admin("PATCH", "/pools/main", { description: "x" }, { "if-match": '"2"' });
		expect(current.status).toBe(200);
		expect(versionOf(current)).toBe(3);
		await current.body?.cancel();
	});
});

describe("GET /events limit", () => {
	it("400 for a limit outside 1–1000 or not a whole number", async () => {
		await setUp();
		for (const limit of ["0", "1001", "1.5", "x", "-1"]) {
			await expectFailure(await admin("GET", `/events?limit=${limit}`), 400, 1000);
		}
		const one = await admin("GET", "/events?limit=1");
		expect(one.status).toBe(200);
		expect(((await one.json()) as { result: unknown[] }).result).toHaveLength(1);
	});
});

describe("all-or-nothing PUT /config", () => {
	it("a document with one valid and one invalid pool changes nothing: config, status and routing", async () => {
		await putConfig(onePoolConfig(["a"]));
		const before = await readStored();
		expect(await servedBy("app.test", 2)).toEqual(["a", "a"]);
		const statusBefore = await readStatus(); // after that traffic: the shards' counts included

		const config = onePoolConfig(["b", "c"]); // the valid pool would move traffic to b and c
		const document = {
			...config,
			pools: [
				...config.pools,
				{ id: "broken", name: "broken", origins: [{ name: "x", address: "ftp://x.example.com" }] },
			],
		};
		const response = await admin("PUT", "/config", document);
		const body = await expectFailure(response, 400, 1001, "pools[1].origins[0].address");
		expect(body.errors.map((error) => error.field)).toEqual(["pools[1].origins[0].address"]);

		await expectUnchanged(before);
		expect(await readStatus()).toEqual(statusBefore);
		await clearReceived("a", "b", "c");
		expect(await servedBy("app.test", 4)).toEqual(["a", "a", "a", "a"]);
		expect(await received("b")).toHaveLength(0);
		expect(await received("c")).toHaveLength(0);
		expect(await received("a")).toHaveLength(4);
	});
});
