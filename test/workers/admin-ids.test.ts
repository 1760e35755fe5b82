/**
 * Load balancer ids and the read-only timestamps (issue 17): an id of 32 hex characters made on
 * create, kept when imported, kept by name across PUT /config and the seed; every route that takes
 * a load balancer's name takes its id; created_on / modified_on set by the registry alone.
 */
import { evictDurableObject, reset, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema";
import type { ConfigStore } from "../../src/registry/config-store";
import { saveConfig } from "../../src/registry/storage";
import { envelopeOf, type Item, readStored, registryStub, tick, type WriteEnvelope } from "./admin-helpers";
import { admin, type Envelope, onePoolConfig, putConfig } from "./helpers";

const HEX32 = /^[0-9a-f]{32}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

beforeEach(async () => {
	await reset();
});

async function resultOf<T = Item>(response: Response, status = 200): Promise<T> {
	const body = await envelopeOf<Envelope<T>>(response);
	expect(response.status, JSON.stringify(body.errors)).toBe(status);
	return body.result;
}

async function storedBalancer(): Promise<Item> {
	const lb = (await readStored()).document.load_balancers[0];
	if (!lb) throw new Error("no load balancer stored");
	return lb;
}

describe("load balancer ids", () => {
	it("makes one on create, and every load balancer route takes it beside the name", async () => {
		await putConfig({ ...onePoolConfig(["a"]), load_balancers: [] });
		const created = await resultOf(
			await admin("POST", "/load_balancers", { name: "App.Test", default_pools: ["main"] }),
			201,
		);
		expect(created.id).toMatch(HEX32);
		const id = created.id as string;
		expect(await resultOf(await admin("GET", `/load_balancers/${id}`))).toEqual(created);
		expect(await resultOf(await admin("GET", "/load_balancers/app.test"))).toEqual(created);

		const patched = await resultOf(await admin("PATCH", `/load_balancers/${id}`, { description: "by id" }));
		expect(patched).toMatchObject({ id, name: "app.test", description: "by id" });
		const replaced = await resultOf(
			await admin("PUT", `/load_balancers/${id}`, { name: "app.test", default_pools: ["main"] }),
		);
		expect(replaced).toMatchObject({ id, name: "app.test" });
		expect(replaced.description).toBeUndefined();

		const deleted = await admin("DELETE", `/load_balancers/${id}`);
		expect(deleted.status).toBe(200);
		await deleted.body?.cancel();
		expect((await readStored()).document.load_balancers).toEqual([]);
		const gone = await admin("GET", `/load_balancers/${id}`);
		expect(gone.status).toBe(404);
		await gone.body?.cancel();
	});

	it("keeps the id by name across PUT /config, and keeps the ids an imported configuration carries", async () => {
		await putConfig(onePoolConfig(["a"]));
		const { id } = await storedBalancer();
		expect(id).toMatch(HEX32);
		// The same document again, changed and without ids: the load balancer keeps its id.
		await putConfig({ ...onePoolConfig(["a", "b"]) });
		expect((await storedBalancer()).id).toBe(id);

		const imported = "699d98642c564d2e855e9661899b7252";
		const config = onePoolConfig(["a"]);
		await putConfig({ ...config, load_balancers: [{ ...config.load_balancers[0], id: imported.toUpperCase() }] });
		expect((await storedBalancer()).id).toBe(imported);
	});

	it("refuses an id that is not 32 hex characters, and two load balancers with one id", async () => {
		const config = onePoolConfig(["a"]);
		const lb = config.load_balancers[0];
		const bad = await admin("PUT", "/config", { ...config, load_balancers: [{ ...lb, id: "lb-1" }] });
		expect(bad.status).toBe(400);
		expect(JSON.stringify(await bad.json())).toContain("load_balancers[0].id");
		const id = "699d98642c564d2e855e9661899b7252";
		const twice = await admin("PUT", "/config", {
			...config,
			load_balancers: [
				{ ...lb, id },
				{ ...lb, name: "other.test", id },
			],
		});
		expect(twice.status).toBe(400);
		expect(JSON.stringify(await twice.json())).toContain("duplicate load balancer id");
	});

	it("keeps the id by name when the seed changes", async () => {
		const applySeed = (hash: string, document: unknown) =>
			runInDurableObject(registryStub(), (instance) =>
				(instance as unknown as { config: ConfigStore }).config.applySeed(
					{ hash, source: "switchyard.config.json", json: JSON.stringify(document) },
					Date.now(),
				),
			);
		expect(await applySeed("seed-1", onePoolConfig(["a"]))).toMatchObject({ ok: true });
		const { id } = await storedBalancer();
		expect(id).toMatch(HEX32);
		expect(await applySeed("seed-2", onePoolConfig(["a", "b"]))).toMatchObject({ ok: true, changed: true });
		expect((await storedBalancer()).id).toBe(id);
	});
});

describe("created_on and modified_on", () => {
	it("are set by the registry: ignored when sent, kept while unchanged, modified_on moves on a change", async () => {
		const config = onePoolConfig(["a"]);
		const early = "2001-01-01T00:00:00.000Z";
		await putConfig({ ...config, pools: [{ ...config.pools[0], created_on: early, modified_on: early }] });
		const first = await readStored();
		const pool = first.document.pools[0] as Item;
		expect(pool.created_on).toMatch(ISO);
		expect(pool.created_on).not.toBe(early);
		expect(pool.modified_on).toBe(pool.created_on);
		for (const item of [...first.document.monitors, ...first.document.load_balancers]) {
			expect(item.created_on).toBe(pool.created_on);
		}

		// Sending the stored document back, timestamps and all, changes nothing.
		await tick();
		const again = await admin("PUT", "/config", first.document);
		expect((await envelopeOf<Envelope<{ changed: boolean }>>(again)).result.changed).toBe(false);

		// A client cannot set them; a real change moves modified_on only, and is not reported as a timestamp change.
		const patched = await admin("PATCH", "/pools/main", { description: "x", created_on: early, modified_on: early });
		const body = await envelopeOf<WriteEnvelope>(patched);
		expect(patched.status).toBe(200);
		expect(body.changes).toEqual([{ kind: "pool", id: "main", change: "changed", fields: ["description"] }]);
		expect(body.result.created_on).toBe(pool.created_on);
		expect(body.result.modified_on).toMatch(ISO);
		expect(Date.parse(body.result.modified_on as string)).toBeGreaterThan(Date.parse(pool.created_on as string));
		// Others did not change.
		const monitor = (await readStored()).document.monitors[0] as Item;
		expect(monitor.modified_on).toBe(pool.created_on);
	});
});

describe("a configuration stored before ids and timestamps", () => {
	it("is given them once on load, at the same version, and keeps them across restarts", async () => {
		await putConfig(onePoolConfig(["a"]));
		const before = await readStored();
		// Rewrite the stored rows as an older version wrote them: no load balancer id, no timestamps.
		const strip = ({ id: _id, created_on: _c, modified_on: _m, ...rest }: Item) => rest;
		await runInDurableObject(registryStub(), (_instance, state) => {
			const document = before.document;
			const old = {
				monitors: document.monitors.map(({ created_on: _c, modified_on: _m, ...rest }) => rest),
				pools: document.pools.map(({ created_on: _c, modified_on: _m, ...rest }) => rest),
				load_balancers: document.load_balancers.map(strip),
			} as unknown as Config;
			saveConfig(state.storage.sql, old, before.version);
		});
		await evictDurableObject(registryStub());
		const loaded = await readStored();
		expect(loaded.version).toBe(before.version);
		const lb = loaded.document.load_balancers[0] as Item;
		expect(lb.id).toMatch(HEX32);
		expect(lb.id).not.toBe(before.document.load_balancers[0]?.id);
		for (const item of [lb, ...loaded.document.monitors, ...loaded.document.pools]) {
			expect(item.created_on).toMatch(ISO);
			expect(item.modified_on).toBe(item.created_on);
		}
		expect(loaded.document.load_balancers.map(strip)).toEqual(before.document.load_balancers.map(strip));
		// Stored: the next start reads the same.
		await evictDurableObject(registryStub());
		expect((await readStored()).text).toBe(loaded.text);
	});

	it("keeps serving when an older version kept an id, a timestamp or a zone_id today's schema refuses", async () => {
		const config = onePoolConfig(["a"]);
		await putConfig({
			...config,
			load_balancers: [config.load_balancers[0], { ...config.load_balancers[0], name: "other.test" }],
		});
		const before = await readStored();
		const strip = ({ id: _id, created_on: _c, modified_on: _m, zone_id: _z, ...rest }: Item) => rest;
		const valid = "2020-02-02T02:02:02.000Z";
		// Unknown fields an older version accepted and kept: an id "web" and 3, a numeric created_on,
		// a created_on that is no date, an empty zone_id; a valid created_on on a monitor.
		await runInDurableObject(registryStub(), (_instance, state) => {
			const document = before.document;
			const [first, second] = document.load_balancers.map(strip);
			const old = {
				monitors: document.monitors.map(({ created_on: _c, modified_on: _m, ...rest }) => ({
					...rest,
					created_on: valid,
				})),
				pools: document.pools.map(({ created_on: _c, modified_on: _m, ...rest }) => ({
					...rest,
					created_on: 1_700_000_000,
					modified_on: "yesterday",
				})),
				load_balancers: [
					{ ...first, id: "web", zone_id: "" },
					{ ...second, id: 3, created_on: null },
				],
			} as unknown as Config;
			saveConfig(state.storage.sql, old, before.version);
		});
		await evictDurableObject(registryStub());
		const loaded = await readStored();
		expect(loaded.version).toBe(before.version);
		expect(loaded.document.load_balancers.map(strip)).toEqual(before.document.load_balancers.map(strip));
		const [first, second] = loaded.document.load_balancers as Item[];
		expect(first?.id).toMatch(HEX32);
		expect(second?.id).toMatch(HEX32);
		expect(first?.id).not.toBe(second?.id);
		expect(first?.zone_id).toBeUndefined();
		expect(loaded.document.monitors[0]?.created_on).toBe(valid);
		for (const item of [...loaded.document.load_balancers, ...loaded.document.pools]) {
			expect(item.created_on).toMatch(ISO);
			expect(item.modified_on).toMatch(ISO);
		}
		// Installed, not replaced by an empty configuration: the load balancer answers by its new id.
		const byId = await admin("GET", `/load_balancers/${first?.id}`);
		expect(byId.status).toBe(200);
		await byId.body?.cancel();
		await evictDurableObject(registryStub());
		expect((await readStored()).text).toBe(loaded.text);
	});
});
