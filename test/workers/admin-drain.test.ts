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
		expect(status.version).toBe(1);

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
		// Neither drain nor enable is a configuration change.
		expect((await readStored()).version).toBe(1);
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
		expect((await readStored()).version).toBe(2);
	});
});
