import { beforeEach, describe, expect, it } from "vitest";
import {
	type ConfigDoc,
	envelopeOf,
	type Item,
	type PutConfigResult,
	readEvents,
	readStatus,
	readStored,
	servedBy,
	versionOf,
	type WriteEnvelope,
} from "./admin-helpers";
import { admin, clearReceived, type Envelope, onePoolConfig, originUrl, received, send, startClean } from "./helpers";

beforeEach(startClean);

/** A CRUD write: asserts status, envelope, ETag = `version`, and returns the envelope. */
async function expectWrite<T = Item>(
	response: Response,
	expected: { status?: number; version: number; changes: unknown[]; dryRun?: boolean },
): Promise<WriteEnvelope<T>> {
	const body = await envelopeOf<WriteEnvelope<T>>(response);
	expect(response.status, JSON.stringify(body)).toBe(expected.status ?? 200);
	expect(body.success).toBe(true);
	expect(body.errors).toEqual([]);
	expect(Array.isArray(body.messages)).toBe(true);
	expect(body.dry_run).toBe(expected.dryRun ?? false);
	expect(body.changes).toEqual(expected.changes);
	expect(versionOf(response)).toBe(expected.version);
	return body;
}

async function setUp(names = ["a", "b"]): Promise<number> {
	const response = await admin("PUT", "/config", onePoolConfig(names));
	expect(response.status).toBe(200);
	return versionOf(response);
}

describe("GET and PUT /config", () => {
	it("stores a document, versions it in the ETag, and does not bump the version for a no-op PUT", async () => {
		const empty = await admin("GET", "/config");
		expect(empty.status).toBe(200);
		expect(versionOf(empty)).toBe(0);
		expect(await empty.json()).toEqual({
			success: true,
			errors: [],
			messages: [],
			result: { monitors: [], pools: [], load_balancers: [], notifications: [] },
		});

		const first = await admin("PUT", "/config", onePoolConfig(["a", "b"]));
		expect(first.status).toBe(200);
		expect(versionOf(first)).toBe(1);
		const firstBody = await envelopeOf<Envelope<PutConfigResult>>(first);
		expect(firstBody).toMatchObject({ success: true, errors: [] });
		expect(firstBody.result).toEqual({
			version: 1,
			changed: true,
			dry_run: false,
			changes: [
				{ kind: "monitor", id: "health", change: "added" },
				{ kind: "pool", id: "main", change: "added" },
				{ kind: "load_balancer", id: "app.test", change: "added" },
			],
		});

		const stored = await readStored();
		expect(stored.etag).toBe('"1"');
		expect(stored.document.pools[0]?.origins.map((origin) => origin.name)).toEqual(["a", "b"]);
		// Defaults are filled in.
		expect(stored.document.pools[0]?.origins[0]).toMatchObject({ enabled: true, weight: 1 });
		expect(stored.document.monitors[0]).toMatchObject({ id: "health", method: "GET", interval: 60 });

		// The same document again, and the document GET /config returned: no change, no new version.
		for (const same of [onePoolConfig(["a", "b"]), stored.document]) {
			const again = await admin("PUT", "/config", same);
			expect(again.status).toBe(200);
			expect(versionOf(again)).toBe(1);
			expect((await envelopeOf<Envelope<PutConfigResult>>(again)).result).toEqual({
				version: 1,
				changed: false,
				dry_run: false,
				changes: [],
			});
		}
		const afterNoOps = await readStored();
		expect(afterNoOps.etag).toBe('"1"');
		expect(afterNoOps.text).toBe(stored.text);
		expect(afterNoOps.auditEntries).toBe(1);

		const second = await admin("PUT", "/config", onePoolConfig(["a", "b", "c"]), { "if-match": '"1"' });
		expect(second.status).toBe(200);
		expect(versionOf(second)).toBe(2);
		expect((await envelopeOf<Envelope<PutConfigResult>>(second)).result).toMatchObject({
			version: 2,
			changed: true,
			changes: [
				{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
				{ kind: "origin", id: "main/c", change: "added" },
			],
		});
		const now = await readStored();
		expect(now.version).toBe(2);
		expect(now.document.pools[0]?.origins.map((origin) => origin.name)).toEqual(["a", "b", "c"]);
		expect((await servedBy("app.test", 3)).sort()).toEqual(["a", "b", "c"]);
	});

	it("treats a PUT of the same document with its keys in another order as a no-op", async () => {
		const config = onePoolConfig(["a"]);
		const lb = config.load_balancers[0] as Item;
		lb.region_pools = { WEU: ["main"], ENAM: ["main"] };
		lb.x_owner = { team: "edge", oncall: "ops" };
		expect(versionOf(await admin("PUT", "/config", config))).toBe(1);

		// The same JSON document: only the order of keys inside two objects differs.
		lb.region_pools = { ENAM: ["main"], WEU: ["main"] };
		lb.x_owner = { oncall: "ops", team: "edge" };
		const again = await admin("PUT", "/config", config);
		expect(again.status).toBe(200);
		const result = (await envelopeOf<Envelope<PutConfigResult>>(again)).result;
		expect(result.changes).toEqual([]);
		expect(result.changed).toBe(false);
		expect(versionOf(again)).toBe(1);
		expect((await readStored()).version).toBe(1);
	});

	it("answers a dry run with the changes it would make and stores nothing", async () => {
		await setUp(["a"]);
		const before = await readStored();
		const dry = await admin("PUT", "/config?dry_run=1", onePoolConfig(["a", "b"]));
		expect(dry.status).toBe(200);
		expect(versionOf(dry)).toBe(1);
		expect((await envelopeOf<Envelope<PutConfigResult>>(dry)).result).toEqual({
			version: 1,
			changed: true,
			dry_run: true,
			changes: [
				{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
				{ kind: "origin", id: "main/b", change: "added" },
			],
		});
		const after = await readStored();
		expect(after.text).toBe(before.text);
		expect(after.auditEntries).toBe(before.auditEntries);
		expect(await servedBy("app.test", 3)).toEqual(["a", "a", "a"]);
	});
});

describe("GET /status and GET /events", () => {
	it("reports the version, load balancers and pools, and lists config changes", async () => {
		await setUp(["a", "b"]);
		const statusResponse = await admin("GET", "/status");
		expect(statusResponse.status).toBe(200);
		const status = await envelopeOf<Envelope<unknown>>(statusResponse);
		expect(status).toMatchObject({
			success: true,
			errors: [],
			messages: [],
			result: {
				version: 1,
				load_balancers: [{ name: "app.test", enabled: true, default_pools: ["main"], fallback_pool: "main" }],
				pools: [
					{
						id: "main",
						name: "main",
						enabled: true,
						healthy: true,
						monitor: "health",
						origins: [
							{ name: "a", address: originUrl("a"), enabled: true, healthy: true, draining: false },
							{ name: "b", address: originUrl("b"), enabled: true, healthy: true, draining: false },
						],
					},
				],
			},
		});

		const eventsResponse = await admin("GET", "/events?limit=10");
		expect(eventsResponse.status).toBe(200);
		const events = await envelopeOf<Envelope<Item[]>>(eventsResponse);
		expect(events).toMatchObject({ success: true, errors: [], messages: [] });
		expect(events.result).toHaveLength(1);
		expect(events.result[0]).toMatchObject({ type: "config", version: 1, action: "replaced the configuration" });
	});
});

describe("monitors", () => {
	it("lists, creates (given and generated id), reads, replaces, patches and deletes", async () => {
		let version = await setUp();

		const list = await admin("GET", "/monitors");
		expect(list.status).toBe(200);
		expect(((await envelopeOf<Envelope<Item[]>>(list)).result ?? []).map((m) => m.id)).toEqual(["health"]);

		const created = await expectWrite(
			await admin("POST", "/monitors", { id: "deep", path: "/deep", expected_codes: "2xx" }),
			{ status: 201, version: ++version, changes: [{ kind: "monitor", id: "deep", change: "added" }] },
		);
		expect(created.result).toMatchObject({ id: "deep", path: "/deep", expected_codes: "2xx", type: "http" });
		expect((await readStored()).document.monitors.map((m) => m.id)).toEqual(["health", "deep"]);

		const generated = await admin("POST", "/monitors", { path: "/gen" });
		const generatedBody = await envelopeOf<WriteEnvelope>(generated);
		expect(generated.status).toBe(201);
		expect(versionOf(generated)).toBe(++version);
		const newId = String(generatedBody.result.id);
		expect(newId).toMatch(/^[0-9a-f]{32}$/);
		expect(generatedBody.changes).toEqual([{ kind: "monitor", id: newId, change: "added" }]);
		const read = await admin("GET", `/monitors/${newId}`);
		expect(read.status).toBe(200);
		expect((await envelopeOf<Envelope<Item>>(read)).result).toMatchObject({ id: newId, path: "/gen" });

		const one = await admin("GET", "/monitors/deep");
		expect(one.status).toBe(200);
		expect(await one.json()).toMatchObject({ success: true, errors: [], result: { id: "deep", path: "/deep" } });

		// PUT replaces: fields left out go back to their defaults.
		const replaced = await expectWrite(await admin("PUT", "/monitors/deep", { path: "/deeper" }), {
			version: ++version,
			changes: [{ kind: "monitor", id: "deep", change: "changed", fields: ["expected_codes", "path"] }],
		});
		expect(replaced.result).toMatchObject({ id: "deep", path: "/deeper", expected_codes: "200" });

		// PATCH merges.
		const patched = await expectWrite(await admin("PATCH", "/monitors/deep", { interval: 120 }), {
			version: ++version,
			changes: [{ kind: "monitor", id: "deep", change: "changed", fields: ["interval"] }],
		});
		expect(patched.result).toMatchObject({ id: "deep", path: "/deeper", interval: 120 });
		expect((await readStored()).document.monitors.find((m) => m.id === "deep")).toMatchObject({
			path: "/deeper",
			interval: 120,
		});

		// A PATCH that changes nothing keeps the version.
		await expectWrite(await admin("PATCH", "/monitors/deep", { interval: 120 }), { version, changes: [] });

		const deleted = await expectWrite(await admin("DELETE", "/monitors/deep"), {
			version: ++version,
			changes: [{ kind: "monitor", id: "deep", change: "removed" }],
		});
		expect(deleted.result).toBeNull();
		expect((await admin("GET", "/monitors/deep")).status).toBe(404);
		const stored = await readStored();
		expect(stored.version).toBe(version);
		expect(stored.document.monitors.map((m) => m.id)).toEqual(["health", newId]);
	});

	it("answers a CRUD dry run with the object it would store, and stores nothing", async () => {
		await setUp();
		const before = await readStored();
		const dry = await expectWrite(await admin("POST", "/monitors?dry_run=1", { id: "maybe", path: "/maybe" }), {
			status: 200,
			version: 1,
			dryRun: true,
			changes: [{ kind: "monitor", id: "maybe", change: "added" }],
		});
		expect(dry.result).toMatchObject({ id: "maybe", path: "/maybe", interval: 60 });
		const after = await readStored();
		expect(after.text).toBe(before.text);
		expect(after.auditEntries).toBe(before.auditEntries);
		expect((await admin("GET", "/monitors/maybe")).status).toBe(404);
	});

	it("answers a create with the object as stored, even when validation normalises its id", async () => {
		await setUp();
		const created = await expectWrite(await admin("POST", "/monitors", { id: "spaced ", path: "/s" }), {
			status: 201,
			version: 2,
			changes: [{ kind: "monitor", id: "spaced", change: "added" }],
		});
		expect((await readStored()).document.monitors.map((m) => m.id)).toEqual(["health", "spaced"]);
		expect(created.result).toMatchObject({ id: "spaced", path: "/s" });
	});
});

describe("pools", () => {
	it("lists, creates (given and generated id), reads, replaces, patches and deletes", async () => {
		let version = await setUp(["a"]);

		const list = await admin("GET", "/pools");
		expect(list.status).toBe(200);
		expect((await envelopeOf<Envelope<Item[]>>(list)).result.map((p) => p.id)).toEqual(["main"]);

		const created = await expectWrite(
			await admin("POST", "/pools", {
				id: "spare",
				name: "spare",
				origins: [{ name: "d", address: originUrl("d") }],
			}),
			{ status: 201, version: ++version, changes: [{ kind: "pool", id: "spare", change: "added" }] },
		);
		expect(created.result).toMatchObject({
			id: "spare",
			name: "spare",
			enabled: true,
			origin_steering: { policy: "random" },
			origins: [{ name: "d", address: originUrl("d"), enabled: true, weight: 1 }],
		});

		const generated = await admin("POST", "/pools", { name: "anon", origins: [] });
		expect(generated.status).toBe(201);
		expect(versionOf(generated)).toBe(++version);
		const anonId = String((await envelopeOf<WriteEnvelope>(generated)).result.id);
		expect(anonId).toMatch(/^[0-9a-f]{32}$/);
		expect((await readStored()).document.pools.map((p) => p.id)).toEqual(["main", "spare", anonId]);

		const one = await admin("GET", "/pools/spare");
		expect(one.status).toBe(200);
		expect((await envelopeOf<Envelope<Item>>(one)).result).toMatchObject({ id: "spare", name: "spare" });

		const replaced = await expectWrite(
			await admin("PUT", "/pools/spare", {
				name: "spare-2",
				monitor: "health",
				origins: [{ name: "e", address: originUrl("e") }],
			}),
			{
				version: ++version,
				changes: [
					{ kind: "pool", id: "spare", change: "changed", fields: ["monitor", "name", "origins"] },
					{ kind: "origin", id: "spare/e", change: "added" },
					{ kind: "origin", id: "spare/d", change: "removed" },
				],
			},
		);
		expect(replaced.result).toMatchObject({ id: "spare", name: "spare-2", monitor: "health" });

		const patched = await expectWrite(await admin("PATCH", "/pools/spare", { description: "standby" }), {
			version: ++version,
			changes: [{ kind: "pool", id: "spare", change: "changed", fields: ["description"] }],
		});
		expect(patched.result).toMatchObject({ id: "spare", name: "spare-2", description: "standby" });
		const stored = (await readStored()).document.pools.find((p) => p.id === "spare");
		expect(stored).toMatchObject({ name: "spare-2", description: "standby", monitor: "health" });
		expect(stored?.origins.map((o) => o.name)).toEqual(["e"]);

		const deleted = await expectWrite(await admin("DELETE", `/pools/${anonId}`), {
			version: ++version,
			changes: [{ kind: "pool", id: anonId, change: "removed" }],
		});
		expect(deleted.result).toBeNull();
		expect((await readStored()).document.pools.map((p) => p.id)).toEqual(["main", "spare"]);
		expect((await readStatus()).pools.map((p) => p.id)).toEqual(["main", "spare"]);
	});
});

describe("load balancers", () => {
	it("lists, creates, reads (case-insensitively, and * as %2A), replaces, patches and deletes", async () => {
		let version = await setUp(["a"]);
		await expectWrite(
			await admin("POST", "/pools", { id: "other", name: "other", origins: [{ name: "b", address: originUrl("b") }] }),
			{ status: 201, version: ++version, changes: [{ kind: "pool", id: "other", change: "added" }] },
		);

		const list = await admin("GET", "/load_balancers");
		expect(list.status).toBe(200);
		expect((await envelopeOf<Envelope<Item[]>>(list)).result.map((lb) => lb.name)).toEqual(["app.test"]);

		// The catch-all load balancer "*": unknown hosts are now served.
		expect((await admin("GET", "/load_balancers/%2A")).status).toBe(404);
		const created = await expectWrite(
			await admin("POST", "/load_balancers", {
				name: "*",
				default_pools: ["other"],
				proxy: { debug_headers: true },
			}),
			{ status: 201, version: ++version, changes: [{ kind: "load_balancer", id: "*", change: "added" }] },
		);
		expect(created.result).toMatchObject({ name: "*", default_pools: ["other"], enabled: true });
		expect(await servedBy("anything.test", 2)).toEqual(["b", "b"]);

		const star = await admin("GET", "/load_balancers/%2A");
		expect(star.status).toBe(200);
		expect((await envelopeOf<Envelope<Item>>(star)).result).toMatchObject({ name: "*" });

		const upper = await admin("GET", "/load_balancers/APP.TEST");
		expect(upper.status).toBe(200);
		expect((await envelopeOf<Envelope<Item>>(upper)).result).toMatchObject({ name: "app.test" });

		// PUT replaces: app.test now sends to "other".
		const replaced = await expectWrite(
			await admin("PUT", "/load_balancers/app.test", {
				default_pools: ["other"],
				proxy: { debug_headers: true },
				counter_rtt_budget_ms: 0,
			}),
			{
				version: ++version,
				changes: [{ kind: "load_balancer", id: "app.test", change: "changed", fields: ["default_pools"] }],
			},
		);
		expect(replaced.result).toMatchObject({ name: "app.test", default_pools: ["other"] });
		expect(await servedBy("app.test", 2)).toEqual(["b", "b"]);

		// PATCH merges: the proxy block stays, fallback_pool is added.
		const patched = await expectWrite(await admin("PATCH", "/load_balancers/app.test", { fallback_pool: "main" }), {
			version: ++version,
			changes: [{ kind: "load_balancer", id: "app.test", change: "changed", fields: ["fallback_pool"] }],
		});
		expect(patched.result).toMatchObject({
			name: "app.test",
			default_pools: ["other"],
			fallback_pool: "main",
			proxy: { debug_headers: true },
		});
		expect((await readStored()).document.load_balancers.find((lb) => lb.name === "app.test")).toMatchObject({
			default_pools: ["other"],
			fallback_pool: "main",
		});

		const deleted = await expectWrite(await admin("DELETE", "/load_balancers/%2A"), {
			version: ++version,
			changes: [{ kind: "load_balancer", id: "*", change: "removed" }],
		});
		expect(deleted.result).toBeNull();
		const unknownHost = await fetchStatus("https://anything.test/");
		expect(unknownHost).toBe(404);
		const stored = await readStored();
		expect(stored.version).toBe(version);
		expect(stored.document.load_balancers.map((lb) => lb.name)).toEqual(["app.test"]);
	});
});

async function fetchStatus(url: string): Promise<number> {
	const response = await send(url);
	await response.body?.cancel();
	return response.status;
}

describe("origins of a pool", () => {
	it("lists, adds, reads, patches, replaces and removes origins, and traffic follows", async () => {
		let version = await setUp(["a"]);

		const list = await admin("GET", "/pools/main/origins");
		expect(list.status).toBe(200);
		expect((await envelopeOf<Envelope<Item[]>>(list)).result).toEqual([
			{ name: "a", address: originUrl("a"), enabled: true, weight: 1 },
		]);

		const added = await expectWrite(
			await admin("POST", "/pools/main/origins", { name: "d", address: originUrl("d") }),
			{
				status: 201,
				version: ++version,
				changes: [
					{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
					{ kind: "origin", id: "main/d", change: "added" },
				],
			},
		);
		expect(added.result).toEqual({ name: "d", address: originUrl("d"), enabled: true, weight: 1 });
		expect((await servedBy("app.test", 4)).sort()).toEqual(["a", "a", "d", "d"]);

		const one = await admin("GET", "/pools/main/origins/d");
		expect(one.status).toBe(200);
		expect((await envelopeOf<Envelope<Item>>(one)).result).toEqual({
			name: "d",
			address: originUrl("d"),
			enabled: true,
			weight: 1,
		});

		const patched = await expectWrite(await admin("PATCH", "/pools/main/origins/d", { weight: 0.5 }), {
			version: ++version,
			changes: [
				{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
				{ kind: "origin", id: "main/d", change: "changed", fields: ["weight"] },
			],
		});
		expect(patched.result).toEqual({ name: "d", address: originUrl("d"), enabled: true, weight: 0.5 });

		// PUT replaces: weight goes back to its default, the address changes.
		const replaced = await expectWrite(await admin("PUT", "/pools/main/origins/d", { address: originUrl("e") }), {
			version: ++version,
			changes: [
				{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
				{ kind: "origin", id: "main/d", change: "changed", fields: ["address", "weight"] },
			],
		});
		expect(replaced.result).toEqual({ name: "d", address: originUrl("e"), enabled: true, weight: 1 });
		await clearReceived("d", "e");
		await servedBy("app.test", 4);
		expect(await received("e")).toHaveLength(2);
		expect(await received("d")).toHaveLength(0);

		const removed = await expectWrite(await admin("DELETE", "/pools/main/origins/d"), {
			version: ++version,
			changes: [
				{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
				{ kind: "origin", id: "main/d", change: "removed" },
			],
		});
		expect(removed.result).toBeNull();
		expect((await admin("GET", "/pools/main/origins/d")).status).toBe(404);
		const stored = await readStored();
		expect(stored.version).toBe(version);
		expect(stored.document.pools[0]?.origins.map((o) => o.name)).toEqual(["a"]);
		expect(await servedBy("app.test", 3)).toEqual(["a", "a", "a"]);
	});

	it("drains and enables an origin through the API (details in admin-drain.test.ts)", async () => {
		await setUp(["a", "b"]);
		const drained = await admin("POST", "/pools/main/origins/b/drain");
		expect(drained.status).toBe(200);
		const drainBody = await envelopeOf<Envelope<Item>>(drained);
		expect(drainBody).toMatchObject({
			success: true,
			errors: [],
			result: { ok: true, pool: "main", origin: "b", draining: true },
		});
		expect(drainBody.messages.length).toBeGreaterThan(0);
		// A drain is a write: the version moves (issue 14, item 5); the document stays.
		const stored = await readStored();
		expect(stored.version).toBe(2);
		expect(stored.document.pools[0]?.origins.find((o) => o.name === "b")?.enabled).toBe(true);

		const enabled = await admin("POST", "/pools/main/origins/b/enable");
		expect(enabled.status).toBe(200);
		expect(await enabled.json()).toMatchObject({
			success: true,
			result: { pool: "main", origin: "b", draining: false, since: null },
		});
		expect((await readStatus()).pools[0]?.origins.map((o) => o.draining)).toEqual([false, false]);
	});
});

describe("GET /config reflects every CRUD write", () => {
	it("equals the document after a sequence of writes, one version per change", async () => {
		await setUp(["a"]);
		await admin("POST", "/monitors", { id: "m2" });
		await admin("PATCH", "/pools/main", { monitor: "m2" });
		await admin("POST", "/pools/main/origins", { name: "b", address: originUrl("b") });
		await admin("PATCH", "/load_balancers/app.test", { description: "shop" });
		const stored = await readStored();
		expect(stored.version).toBe(5);
		const doc: ConfigDoc = stored.document;
		expect(doc.monitors.map((m) => m.id)).toEqual(["health", "m2"]);
		expect(doc.pools[0]).toMatchObject({ id: "main", monitor: "m2" });
		expect(doc.pools[0]?.origins.map((o) => o.name)).toEqual(["a", "b"]);
		expect(doc.load_balancers[0]).toMatchObject({ name: "app.test", description: "shop" });
		const versions = (await readEvents())
			.filter((e) => e.type === "config")
			.map((e) => (e as { version: number }).version);
		expect(versions).toEqual([5, 4, 3, 2, 1]);
	});
});
