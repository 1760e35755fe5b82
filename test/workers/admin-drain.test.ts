import { abortAllDurableObjects } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import {
	envelopeOf,
	expectFailure,
	expectUnchanged,
	originStatus,
	readEvents,
	readStatus,
	readStored,
	servedBy,
	versionOf,
} from "./admin-helpers";
import { admin, clearReceived, type Envelope, onePoolConfig, putConfig, received, startClean } from "./helpers";

const ALL = ["a", "b", "c"];

beforeEach(startClean);

describe("drain", () => {
	it("keeps new requests away from a drained origin; /status shows it; /enable brings it back", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		const startedBefore = Date.now();
		const drained = await admin("POST", "/pools/main/origins/b/drain");
		expect(drained.status).toBe(200);
		const body = await envelopeOf<Envelope<{ draining: boolean; since: string }>>(drained);
		expect(body).toMatchObject({
			success: true,
			errors: [],
			result: { ok: true, pool: "main", origin: "b", draining: true },
		});
		const since = body.result.since;
		expect(Date.parse(since)).toBeGreaterThanOrEqual(startedBefore - 1000);

		const status = await readStatus();
		expect(originStatus(status, "main", "b")).toMatchObject({ draining: true, draining_since: since });
		expect(originStatus(status, "main", "a")).toMatchObject({ draining: false, draining_since: null });
		// A drain is a write: the configuration version moves (issue 14, item 5).
		expect(status.version).toBe(2);

		// Draining again is idempotent: same start time.
		const again = await admin("POST", "/pools/main/origins/b/drain");
		expect((await envelopeOf<Envelope<{ since: string }>>(again)).result.since).toBe(since);

		const names = await servedBy("app.test", 10);
		expect(names).not.toContain("b");
		expect(names.filter((name) => name === "a")).toHaveLength(5);
		expect(names.filter((name) => name === "c")).toHaveLength(5);
		expect(await received("b")).toHaveLength(0);
		expect((await received("a")).length + (await received("c")).length).toBe(10);

		const enabled = await admin("POST", "/pools/main/origins/b/enable");
		expect(enabled.status).toBe(200);
		expect(await enabled.json()).toMatchObject({
			success: true,
			result: { pool: "main", origin: "b", draining: false, since: null },
		});
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ draining: false, draining_since: null });

		await clearReceived(...ALL);
		const after = await servedBy("app.test", 9);
		expect(after.filter((name) => name === "b")).toHaveLength(3);
		expect((await received("b")).map((request) => request.url)).toHaveLength(3);
		// Drain and enable are writes: each moved the version once; draining again did not.
		expect((await readStored()).version).toBe(3);
	});

	it("keeps a drained origin out even when it is the only healthy one left", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		await admin("POST", "/pools/main/origins/a/drain");
		expect(await servedBy("app.test", 4)).toEqual(["b", "b", "b", "b"]);
		expect(await received("a")).toHaveLength(0);
	});

	it("404 for an unknown origin or pool, and nothing changes", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		const before = await readStored();
		const unknown = await expectFailure(await admin("POST", "/pools/main/origins/zzz/drain"), 404, 1002);
		expect(unknown.errors[0]?.message).toContain("zzz");
		await expectFailure(await admin("POST", "/pools/nope/origins/a/drain"), 404, 1002);
		await expectFailure(await admin("POST", "/pools/main/origins/zzz/enable"), 404, 1002);
		await expectUnchanged(before);
		expect((await readStatus()).pools[0]?.origins.map((origin) => origin.draining)).toEqual([false, false]);
	});

	it("forgets the drain of an origin that is removed from the configuration and added again", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		await admin("POST", "/pools/main/origins/b/drain");
		await putConfig(onePoolConfig(["a"]));
		await putConfig(onePoolConfig(["a", "b"]));
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ draining: false });
	});
});

describe("enable", () => {
	it("turns on an origin disabled in the configuration: enabled: true in GET /config, and it gets traffic", async () => {
		const config = onePoolConfig(["a", "b"]);
		(config.pools[0]?.origins[1] as Record<string, unknown>).enabled = false;
		await putConfig(config);
		expect(await servedBy("app.test", 2)).toEqual(["a", "a"]);

		const enabled = await admin("POST", "/pools/main/origins/b/enable");
		expect(enabled.status).toBe(200);
		expect(await enabled.json()).toMatchObject({ success: true, result: { origin: "b", draining: false } });

		const stored = await readStored();
		expect(stored.version).toBe(2);
		expect(stored.document.pools[0]?.origins.find((origin) => origin.name === "b")?.enabled).toBe(true);
		const config2 = await admin("GET", "/config");
		expect(versionOf(config2)).toBe(2);
		await config2.body?.cancel();
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ enabled: true, draining: false });

		const [latest] = await readEvents(1);
		expect(latest).toMatchObject({
			type: "config",
			version: 2,
			changes: [
				{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
				{ kind: "origin", id: "main/b", change: "changed", fields: ["enabled"] },
			],
		});

		await clearReceived("a", "b");
		expect((await servedBy("app.test", 4)).sort()).toEqual(["a", "a", "b", "b"]);
		expect(await received("b")).toHaveLength(2);
	});

	it("ends a drain and enables a disabled origin in one call", async () => {
		const config = onePoolConfig(["a", "b"]);
		(config.pools[0]?.origins[1] as Record<string, unknown>).enabled = false;
		await putConfig(config);
		await admin("POST", "/pools/main/origins/b/drain");
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ draining: true, enabled: false });
		await admin("POST", "/pools/main/origins/b/enable");
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ draining: false, enabled: true });
		// The drain was version 2; enabling (and ending the drain with it) is one write: version 3.
		expect((await readStored()).version).toBe(3);
	});
});

describe("issue 14, item 5: drain and enable are writes, and move the configuration version", () => {
	it("moves the ETag on a drain and on an enable, and a write with the old version gets 412", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		const before = await readStored();
		expect(before.version).toBe(1);

		const drained = await admin("POST", "/pools/main/origins/b/drain");
		expect(drained.status).toBe(200);
		expect(versionOf(drained)).toBe(2);
		await drained.body?.cancel();
		const afterDrain = await readStored();
		expect(afterDrain.etag).toBe('"2"');
		// The document itself is the same: the version says that something an admin wrote changed.
		expect(afterDrain.document).toEqual(before.document);
		const [drainEvent] = await readEvents(1);
		expect(drainEvent).toMatchObject({ type: "config", version: 2, action: expect.stringMatching(/drained/) });

		// Someone who read version 1 before the drain is told that they missed a change.
		const stale = await admin("PATCH", "/pools/main", { description: "x" }, { "if-match": before.etag });
		expect(stale.headers.get("etag")).toBe('"2"');
		await expectFailure(stale, 412, 1004);
		await expectFailure(await admin("PUT", "/config", before.document, { "if-match": '"1"' }), 412, 1004);
		await expectUnchanged(afterDrain);

		// Draining again changes nothing: no new version.
		const again = await admin("POST", "/pools/main/origins/b/drain");
		expect(versionOf(again)).toBe(2);
		await again.body?.cancel();
		await expectUnchanged(afterDrain);

		const enabled = await admin("POST", "/pools/main/origins/b/enable");
		expect(enabled.status).toBe(200);
		expect(versionOf(enabled)).toBe(3);
		await enabled.body?.cancel();
		expect((await readStored()).etag).toBe('"3"');
		await expectFailure(
			await admin("PATCH", "/pools/main", { description: "x" }, { "if-match": afterDrain.etag }),
			412,
			1004,
		);

		// Enabling an origin that is neither drained nor disabled changes nothing.
		const noop = await admin("POST", "/pools/main/origins/a/enable");
		expect(versionOf(noop)).toBe(3);
		await noop.body?.cancel();
		const current = await admin("PATCH", "/pools/main", { description: "x" }, { "if-match": '"3"' });
		expect(current.status).toBe(200);
		expect(versionOf(current)).toBe(4);
		await current.body?.cancel();
	});

	it("keeps the version a drain reached across a restart of the registry", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		const drained = await admin("POST", "/pools/main/origins/b/drain");
		expect(versionOf(drained)).toBe(2);
		await drained.body?.cancel();
		await abortAllDurableObjects(); // memory gone, storage kept
		expect((await readStored()).version).toBe(2);
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ draining: true });
	});
});
