/**
 * The bundled declarative configuration (the seed), applied by the registry object itself: a new
 * content hash applies it, the same hash never again (so API changes made since stay), a newer hash
 * replaces them, and an invalid file changes nothing but is recorded as rejected.
 */
import { reset, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { WriteResult } from "../../src/contract/status";
import type { ConfigStore } from "../../src/registry/config-store";
import { expectUnchanged, readEvents, readStored, registryStub } from "./admin-helpers";
import { admin, onePoolConfig } from "./helpers";

const SOURCE = "switchyard.config.json";

beforeEach(async () => {
	await reset();
});

function applySeed(hash: string, document: unknown): Promise<WriteResult | undefined> {
	const json = typeof document === "string" ? document : JSON.stringify(document);
	return runInDurableObject(registryStub(), (instance) =>
		(instance as unknown as { config: ConfigStore }).config.applySeed({ hash, source: SOURCE, json }, Date.now()),
	);
}

describe("seeding", () => {
	it("applies a new hash (version +1, actor seed), ignores the same hash, keeps API changes until the hash changes", async () => {
		const first = await applySeed("hash-1", onePoolConfig(["a"]));
		expect(first).toMatchObject({ ok: true, version: 1, changed: true });
		const stored1 = await readStored();
		expect(stored1.etag).toBe('"1"');
		expect(stored1.document.pools[0]?.origins.map((origin) => origin.name)).toEqual(["a"]);
		const [applied] = await readEvents();
		expect(applied).toMatchObject({ type: "config", actor: "seed", action: `applied ${SOURCE}`, version: 1 });

		// The same hash again: nothing happens, even with a different text.
		expect(await applySeed("hash-1", onePoolConfig(["a", "b"]))).toBeUndefined();
		await expectUnchanged(stored1);

		// A change through the API stays when the same hash is applied again (as on every restart).
		const patched = await admin("PATCH", "/pools/main", { description: "hand-edited" });
		expect(patched.status).toBe(200);
		await patched.body?.cancel();
		const stored2 = await readStored();
		expect(stored2.version).toBe(2);
		expect(await applySeed("hash-1", onePoolConfig(["a"]))).toBeUndefined();
		await expectUnchanged(stored2);
		expect(stored2.document.pools[0]).toMatchObject({ description: "hand-edited" });

		// A new hash replaces the configuration, API changes included.
		const replaced = await applySeed("hash-2", onePoolConfig(["a", "b"]));
		expect(replaced).toMatchObject({ ok: true, version: 3, changed: true });
		const stored3 = await readStored();
		expect(stored3.version).toBe(3);
		expect(stored3.document.pools[0]?.description).toBeUndefined();
		expect(stored3.document.pools[0]?.origins.map((origin) => origin.name)).toEqual(["a", "b"]);

		const events = await readEvents();
		expect(events.map((event) => (event.type === "config" ? [event.actor, event.version] : []))).toEqual([
			["seed", 3],
			["admin", 2],
			["seed", 1],
		]);
	});

	it("an invalid seed changes nothing and records a rejected audit entry, once per hash", async () => {
		await applySeed("good", onePoolConfig(["a"]));
		const before = await readStored();

		const bad = onePoolConfig(["a", "b"]);
		(bad.pools[0]?.origins[1] as Record<string, unknown>).weight = 1.5;
		const result = await applySeed("bad-fields", bad);
		expect(result).toMatchObject({ ok: false, status: 400 });
		const after = await readStored();
		expect(after.etag).toBe(before.etag);
		expect(after.text).toBe(before.text);
		const [rejected] = await readEvents(1);
		expect(rejected).toMatchObject({ type: "config", actor: "seed", version: 1, changes: [] });
		expect(rejected?.type === "config" && rejected.action).toMatch(/^rejected switchyard\.config\.json: .*weight/);

		// Not valid JSON at all.
		const garbage = await applySeed("not-json", "{ pools: oops");
		expect(garbage).toMatchObject({ ok: false, status: 400 });
		expect((await readStored()).text).toBe(before.text);
		const events = await readEvents();
		expect(events.filter((event) => event.type === "config" && event.action.startsWith("rejected"))).toHaveLength(2);

		// The same bad hash again is not reported again.
		expect(await applySeed("not-json", "{ pools: oops")).toBeUndefined();
		expect(await readEvents()).toHaveLength(events.length);
		expect((await readStored()).etag).toBe('"1"');
	});

	it("a seed identical to the stored configuration does not bump the version", async () => {
		await applySeed("one", onePoolConfig(["a"]));
		const before = await readStored();
		expect(await applySeed("two", onePoolConfig(["a"]))).toMatchObject({ ok: true, changed: false, version: 1 });
		await expectUnchanged(before);
	});
});
