/**
 * GET /events: configuration changes (PUT, CRUD), drains and health transitions, newest first, with
 * who did it and what changed. And persistence: after the registry object is evicted (memory gone,
 * storage kept), configuration, version, drains and the audit log are all still there.
 */
import { createExecutionContext, evictDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import {
	API,
	adminAs,
	type EventEntry,
	originStatus,
	READ_TOKEN,
	readEvents,
	readStatus,
	readStored,
	registryStub,
	servedBy,
	tick,
	tokenDigestPrefix,
} from "./admin-helpers";
import {
	admin,
	onePoolConfig,
	originUrl,
	putConfig,
	received,
	runCron,
	setOriginHealthy,
	startClean,
	TOKEN,
} from "./helpers";

beforeEach(startClean);

describe("GET /events", () => {
	it("lists a PUT, a CRUD change, a drain and a health transition, newest first", async () => {
		const actor = "admin";
		await putConfig(onePoolConfig(["a", "b"]));
		await tick();
		const added = await admin("POST", "/pools/main/origins", { name: "c", address: originUrl("c") });
		expect(added.status).toBe(201);
		await added.body?.cancel();
		await tick();
		const drained = await admin("POST", "/pools/main/origins/a/drain");
		expect(drained.status).toBe(200);
		await drained.body?.cancel();
		await tick();
		await setOriginHealthy("b", false);
		await runCron(Date.now());

		const events = await readEvents(10);
		expect(events).toHaveLength(4);
		expect(events.map((event) => event.type)).toEqual(["health", "config", "config", "config"]);
		const [health, drain, crud, put] = events as [EventEntry, EventEntry, EventEntry, EventEntry];
		expect(health).toEqual({
			type: "health",
			at: expect.any(String),
			pool: "main",
			origin: "b",
			healthy: false,
			reason: "status 503, expected 2xx",
		});
		expect(drain).toMatchObject({
			type: "config",
			actor,
			action: expect.stringMatching(/drain/),
			version: 3,
			changes: [],
		});
		expect(drain.type === "config" && drain.action).toContain('"a"');
		expect(crud).toMatchObject({
			type: "config",
			actor,
			version: 2,
			changes: [
				{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
				{ kind: "origin", id: "main/c", change: "added" },
			],
		});
		expect(put).toEqual({
			type: "config",
			at: expect.any(String),
			actor,
			action: "replaced the configuration",
			version: 1,
			changes: [
				{ kind: "monitor", id: "health", change: "added" },
				{ kind: "pool", id: "main", change: "added" },
				{ kind: "load_balancer", id: "app.test", change: "added" },
			],
		});
		const times = events.map((event) => Date.parse(event.at));
		for (const time of times) expect(Number.isNaN(time)).toBe(false);
		expect([...times].sort((x, y) => y - x)).toEqual(times);

		// limit cuts from the newest.
		const two = await readEvents(2);
		expect(two).toEqual(events.slice(0, 2));

		// The recovery is a second health event, now the newest.
		await setOriginHealthy("b", true);
		await tick();
		await runCron(Date.now() + 60_000);
		const [recovered] = await readEvents(1);
		expect(recovered).toMatchObject({ type: "health", pool: "main", origin: "b", healthy: true });
	});

	it("names callers by role, or by the name the operator gave a token, never by anything derived from it", async () => {
		await putConfig(onePoolConfig(["a"]));
		const refused = await adminAs(READ_TOKEN, "POST", "/pools/main/origins/a/drain");
		expect(refused.status).toBe(403);
		await refused.body?.cancel();
		// The same Worker with names for its tokens (wrangler vars ADMIN_TOKEN_NAME, ADMIN_READ_TOKEN_NAME).
		const named = { ...env, ADMIN_TOKEN_NAME: "ci-deploy", ADMIN_READ_TOKEN_NAME: "grafana" };
		const ctx = createExecutionContext();
		const drained = await worker.fetch(
			new Request(`${API}/pools/main/origins/a/drain`, {
				method: "POST",
				headers: { authorization: `Bearer ${TOKEN}` },
			}) as Request<unknown, IncomingRequestCfProperties>,
			named,
			ctx,
		);
		expect(drained.status).toBe(200);
		await drained.body?.cancel();
		await waitOnExecutionContext(ctx);
		const events = await readEvents();
		expect(events.map((event) => (event.type === "config" ? event.actor : event.type))).toEqual([
			"admin:ci-deploy",
			"admin",
		]);
		const digests = await Promise.all([TOKEN, READ_TOKEN].map(tokenDigestPrefix));
		for (const digest of digests) expect(JSON.stringify(events)).not.toContain(digest);
	});

	it("does not log a no-op PUT, a dry run or a refused write", async () => {
		await putConfig(onePoolConfig(["a"]));
		await putConfig(onePoolConfig(["a"]));
		const dry = await admin("PUT", "/config?dry_run=1", onePoolConfig(["a", "b"]));
		await dry.body?.cancel();
		const refused = await admin("DELETE", "/monitors/health");
		expect(refused.status).toBe(409);
		await refused.body?.cancel();
		expect(await readEvents()).toHaveLength(1);
	});
});

describe("persistence across an evicted registry object", () => {
	it("keeps configuration, version, drains and the audit log", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		await admin("PATCH", "/pools/main", { description: "kept" }).then((r) => r.body?.cancel());
		await admin("POST", "/pools/main/origins/b/drain").then((r) => r.body?.cancel());
		const before = await readStored();
		const statusBefore = await readStatus();
		const eventsBefore = await readEvents();
		// The drain is a write too: version 3 (issue 14, item 5).
		expect(before.version).toBe(3);
		expect(eventsBefore).toHaveLength(3);
		const drainSince = originStatus(statusBefore, "main", "b")?.draining_since;
		expect(drainSince).toBeTruthy();

		await evictDurableObject(registryStub());

		const after = await readStored();
		expect(after.etag).toBe('"3"');
		expect(after.text).toBe(before.text);
		expect(after.document.pools[0]).toMatchObject({ description: "kept" });
		expect(await readEvents()).toEqual(eventsBefore);
		const statusAfter = await readStatus();
		expect(statusAfter).toEqual(statusBefore);
		expect(originStatus(statusAfter, "main", "b")).toMatchObject({ draining: true, draining_since: drainSince });

		// The drain still routes around b, and the next change is version 4.
		const names = await servedBy("app.test", 6);
		expect(names).not.toContain("b");
		expect(await received("b")).toHaveLength(0);
		const next = await admin("PATCH", "/pools/main", { description: "again" });
		expect(next.headers.get("etag")).toBe('"4"');
		await next.body?.cancel();

		// Evicted again after enable: the end of the drain is kept too.
		await admin("POST", "/pools/main/origins/b/enable").then((r) => r.body?.cancel());
		await evictDurableObject(registryStub());
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ draining: false, draining_since: null });
		expect((await readEvents()).map((event) => (event.type === "config" ? event.version : -1))).toEqual([
			5, 4, 3, 2, 1,
		]);
	});

	it("keeps health transitions across an eviction", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		await setOriginHealthy("b", false);
		await runCron(Date.now());
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ healthy: false });
		await evictDurableObject(registryStub());
		expect(originStatus(await readStatus(), "main", "b")).toMatchObject({ healthy: false });
		expect((await readEvents()).filter((event) => event.type === "health")).toHaveLength(1);
	});
});
