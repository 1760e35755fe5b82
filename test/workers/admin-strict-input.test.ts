/**
 * Issue 14, item 4: admin input that used to be accepted and silently mangled, or that made the
 * admin API fail with a 500. Each refusal names what is wrong, and leaves what is stored alone
 * (same ETag, byte-identical GET /config, no new audit entry).
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
	API,
	adminRaw,
	envelopeOf,
	expectFailure,
	expectUnchanged,
	readEvents,
	readStored,
	type Stored,
	versionOf,
	type WriteEnvelope,
} from "./admin-helpers";
import { admin, type Envelope, onePoolConfig, originUrl, putConfig, send, startClean, TOKEN } from "./helpers";

/** Durable Object SQLite's limit on one stored row (a monitor, a pool, a load balancer). */
const ROW_LIMIT_BYTES = 2_000_000;
const MIB = 1024 * 1024;

beforeEach(startClean);

async function setUp(): Promise<Stored> {
	await putConfig(onePoolConfig(["a", "b"]));
	return readStored();
}

function utf8Bytes(text: string): number {
	return new TextEncoder().encode(text).byteLength;
}

describe("issue 14, item 4: unknown fields are reported wherever they are", () => {
	it("reports unknown fields inside nested objects, with their path, and keeps them", async () => {
		const config = onePoolConfig(["a"]);
		const pool = config.pools[0] as Record<string, unknown>;
		pool.origin_steering = { policy: "round_robin", sticky: true };
		(config.pools[0]?.origins[0] as Record<string, unknown>).header = { Host: ["a.example"], "X-Tenant": ["t1"] };
		const lb = config.load_balancers[0] as Record<string, unknown>;
		lb.session_affinity_attributes = { samesite: "Lax", cookie_path: "/app" };
		lb.adaptive_routing = { failover_across_pools: true, zone: "eu" };
		lb.random_steering = { default_weight: 1, seed: 7 };
		const { messages } = await putConfig(config);
		expect(messages).toEqual(
			expect.arrayContaining([
				"pools[0].origin_steering.sticky: unknown field; kept, but not acted on",
				"pools[0].origins[0].header.X-Tenant: unknown field; kept, but not acted on",
				"load_balancers[0].session_affinity_attributes.cookie_path: unknown field; kept, but not acted on",
				"load_balancers[0].adaptive_routing.zone: unknown field; kept, but not acted on",
				"load_balancers[0].random_steering.seed: unknown field; kept, but not acted on",
			]),
		);
		const stored = await readStored();
		expect(stored.document.pools[0]?.origin_steering).toEqual({ policy: "round_robin", sticky: true });
		expect(stored.document.load_balancers[0]?.session_affinity_attributes).toMatchObject({ cookie_path: "/app" });
	});

	it("reports fields named like Object.prototype members (constructor, toString, hasOwnProperty)", async () => {
		const before = await setUp();
		const response = await adminRaw(
			"PATCH",
			"/pools/main",
			'{"constructor": "x", "toString": 1, "hasOwnProperty": true, "origin_steering": {"policy": "round_robin", "valueOf": 2}}',
		);
		const body = await envelopeOf<WriteEnvelope>(response);
		expect(response.status, JSON.stringify(body)).toBe(200);
		expect(versionOf(response)).toBe(before.version + 1);
		expect(body.messages).toEqual(
			expect.arrayContaining([
				"pools[0].constructor: unknown field; kept, but not acted on",
				"pools[0].toString: unknown field; kept, but not acted on",
				"pools[0].hasOwnProperty: unknown field; kept, but not acted on",
				"pools[0].origin_steering.valueOf: unknown field; kept, but not acted on",
			]),
		);
	});
});

describe("issue 14, item 4: input that cannot be stored as sent is refused (400), nothing changes", () => {
	it("refuses __proto__ as a field name, at any depth, naming it", async () => {
		const before = await setUp();
		const patch = await expectFailure(
			await adminRaw("PATCH", "/pools/main", '{"__proto__": {"enabled": false}}'),
			400,
			1000,
			"__proto__",
		);
		expect(patch.errors[0]?.message).toContain("__proto__");
		await expectFailure(
			await adminRaw("PATCH", "/pools/main/origins/a", '{"weight": 0.5, "header": {"__proto__": ["x"]}}'),
			400,
			1000,
			"header.__proto__",
		);
		const document = JSON.stringify(onePoolConfig(["c"])).replace('"name":"c"', '"name":"c","__proto__":{}');
		await expectFailure(await adminRaw("PUT", "/config", document), 400, 1000, "pools[0].origins[0].__proto__");
		await expectUnchanged(before);
	});

	it("refuses a body that is not valid UTF-8 instead of storing U+FFFD", async () => {
		const before = await setUp();
		const head = new TextEncoder().encode('{"description": "caf');
		const tail = new TextEncoder().encode('"}');
		const bytes = new Uint8Array([...head, 0xe9, ...tail]); // Latin-1 é: not UTF-8
		const response = await send(`${API}/pools/main`, {
			method: "PATCH",
			headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
			body: bytes,
		});
		const body = await expectFailure(response, 400, 1000);
		expect(body.errors[0]?.message).toMatch(/UTF-8/);
		await expectUnchanged(before);
	});

	it("refuses JSON nested deeper than 64 levels (not a 500), however deep", async () => {
		const before = await setUp();
		// The body object is level 1; `deep` adds `n` arrays below it.
		const nested = (n: number) => `{"description": "x", "deep": ${"[".repeat(n)}${"]".repeat(n)}}`;
		for (const n of [64, 1000, 100_000]) {
			const response = await adminRaw("PATCH", "/monitors/health", nested(n));
			const body = await expectFailure(response, 400, 1000);
			expect(body.errors[0]?.message).toMatch(/deeper than 64 levels/);
		}
		const put = `{"pools": [{"id": "p", "name": "p", "origins": [], "deep": ${"[".repeat(5000)}${"]".repeat(5000)}}]}`;
		await expectFailure(await adminRaw("PUT", "/config", put), 400, 1000);
		await expectUnchanged(before);
		// 63 arrays inside the body (64 levels) is within the limit for the body; placed in the
		// document, the monitor (at level 3) would take it past 64: refused as a field of the configuration.
		await expectFailure(await adminRaw("PATCH", "/monitors/health", nested(63)), 400, 1001);
		await expectUnchanged(before);
		const fits = await adminRaw("PATCH", "/monitors/health", nested(61));
		expect(fits.status, await fits.clone().text()).toBe(200);
		await fits.body?.cancel();
	});

	it('refuses the ids "." and ".." (a URL path cannot name them), naming the field', async () => {
		const before = await setUp();
		for (const id of [".", ".."]) {
			await expectFailure(await admin("POST", "/monitors", { id }), 400, 1001, "monitors[1].id");
			await expectFailure(await admin("POST", "/pools", { id, name: "p", origins: [] }), 400, 1001, "pools[1].id");
			await expectFailure(
				await admin("POST", "/pools/main/origins", { name: id, address: originUrl("c") }),
				400,
				1001,
				"pools[0].origins[2].name",
			);
			const config = onePoolConfig(["a"]);
			(config.pools[0] as Record<string, unknown>).id = id;
			(config.load_balancers[0] as Record<string, unknown>).default_pools = [id];
			const put = await expectFailure(await admin("PUT", "/config", config), 400, 1001, "pools[0].id");
			expect(put.errors.find((error) => error.field === "pools[0].id")?.message).toMatch(/URL/);
		}
		await expectUnchanged(before);
	});
});

describe("issue 14, item 4: an object too large for one stored row is a 413 naming the limit", () => {
	/** An origin whose JSON, stored, takes about `bytes` bytes (an unknown field, kept, pads it). */
	function paddedOrigin(name: string, bytes: number) {
		return { name, address: originUrl("c"), notes: "x".repeat(bytes) };
	}

	it("refuses a pool grown past 2,000,000 bytes by CRUD writes; just under is stored", async () => {
		await setUp();
		for (const name of ["big-1", "big-2"]) {
			const added = await admin("POST", "/pools/main/origins", paddedOrigin(name, 900_000));
			expect(added.status).toBe(201);
			await added.body?.cancel();
		}
		const before = await readStored();
		const poolBytes = utf8Bytes(JSON.stringify(before.document.pools[0]));
		expect(poolBytes).toBeGreaterThan(1_800_000);

		// One byte of JSON too many for the row: refused, on a dry run too.
		const over = paddedOrigin("big-3", ROW_LIMIT_BYTES - poolBytes);
		for (const path of ["/pools/main/origins", "/pools/main/origins?dry_run=1"]) {
			const refused = await expectFailure(await admin("POST", path, over), 413, 1005, "pools[0]");
			expect(refused.errors[0]?.message).toContain('pool "main"');
			expect(refused.errors[0]?.message).toContain("2000000 bytes");
		}
		await expectUnchanged(before);

		// Comfortably under (the row also holds the pool's id and name): stored.
		const under = paddedOrigin("big-3", ROW_LIMIT_BYTES - poolBytes - 400);
		const stored = await admin("POST", "/pools/main/origins", under);
		expect(stored.status).toBe(201);
		expect(versionOf(stored)).toBe(before.version + 1);
		await stored.body?.cancel();
	});

	it("refuses a load balancer patched past the limit field by field", async () => {
		const before = await setUp();
		const first = await admin("PATCH", "/load_balancers/app.test", { notes_1: "y".repeat(1_000_000) });
		expect(first.status).toBe(200);
		await first.body?.cancel();
		const after = await readStored();
		expect(after.version).toBe(before.version + 1);
		const second = await expectFailure(
			await admin("PATCH", "/load_balancers/app.test", { notes_2: "z".repeat(1_000_000) }),
			413,
			1005,
			"load_balancers[0]",
		);
		expect(second.errors[0]?.message).toContain('load balancer "app.test"');
		await expectUnchanged(after);
	});

	it("a configuration larger than 1 MiB can be read but not sent back whole: 413 naming the body limit", async () => {
		await setUp();
		for (const name of ["big-1", "big-2"]) {
			const added = await admin("POST", "/pools/main/origins", paddedOrigin(name, 700_000));
			expect(added.status).toBe(201);
			await added.body?.cancel();
		}
		const before = await readStored();
		expect(utf8Bytes(before.text)).toBeGreaterThan(MIB);
		const refused = await expectFailure(await adminRaw("PUT", "/config", before.text), 413, 1005);
		expect(refused.errors[0]?.message).toContain(`${MIB} bytes`);
		await expectUnchanged(before);
	});
});

describe("issue 14, item 4: an audit entry never outgrows its row", () => {
	it("lists the first changes of a write that makes very many, and says how many there were", async () => {
		const pool = (prefix: string) => ({
			id: "main",
			name: "main",
			origins: Array.from({ length: 800 }, (_, i) => ({ name: `${prefix}-${i}`, address: `${prefix}-${i}.example` })),
		});
		await putConfig({ pools: [pool("old")] });
		await putConfig({ pools: [pool("new")] }); // 800 origins removed, 800 added
		const [entry] = await readEvents(1);
		if (entry?.type !== "config") throw new Error(`expected a config event, got ${JSON.stringify(entry)}`);
		expect(entry.action).toBe(
			`replaced the configuration (1601 changes; the first ${entry.changes.length} are listed)`,
		);
		expect(entry.changes.length).toBeGreaterThan(100);
		expect(entry.changes.length).toBeLessThan(1601);
		expect(utf8Bytes(JSON.stringify(entry.changes))).toBeLessThanOrEqual(64 * 1024);
		expect(entry.changes[0]).toEqual({ kind: "pool", id: "main", change: "changed", fields: ["origins"] });
	});
});

describe("issue 14, item 6: GET /config's answer, saved to a file, PUTs back", () => {
	it("takes the result of an envelope sent back as it was read: no change, same version", async () => {
		const config = onePoolConfig(["a", "b"]);
		(config.load_balancers[0] as Record<string, unknown>).x_team = "payments";
		await putConfig(config);
		const before = await readStored();
		// `curl -s -H "$H" $API/config -D - -o config.json`, then `curl ... -X PUT $API/config --data @config.json`.
		const response = await adminRaw("PUT", "/config", before.text);
		const body = await envelopeOf<Envelope<{ version: number; changed: boolean }>>(response);
		expect(response.status, JSON.stringify(body)).toBe(200);
		expect(body.result).toMatchObject({ version: before.version, changed: false });
		expect(body.messages).toContain("load_balancers[0].x_team: unknown field; kept, but not acted on");
		await expectUnchanged(before);

		// With If-Match, as the README shows it.
		const guarded = await send(`${API}/config`, {
			method: "PUT",
			headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "if-match": before.etag },
			body: before.text,
		});
		expect(guarded.status).toBe(200);
	});

	it("applies the result of an edited envelope", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		const before = await readStored();
		const edited = JSON.parse(before.text) as Envelope<{ pools: { origins: unknown[] }[] }>;
		edited.result.pools[0]?.origins.pop();
		const response = await adminRaw("PUT", "/config", JSON.stringify(edited));
		expect(response.status).toBe(200);
		expect(versionOf(response)).toBe(before.version + 1);
		await response.body?.cancel();
		expect((await readStored()).document.pools[0]?.origins.map((origin) => origin.name)).toEqual(["a"]);
	});

	it("does not take for an envelope what is not clearly one", async () => {
		const before = await setUp();
		const inner = onePoolConfig(["c"]);
		for (const body of [
			{ success: false, errors: [], messages: [], result: inner },
			{ success: true, errors: [], messages: [], result: [inner] },
			{ success: true, result: inner, pools: inner.pools },
		]) {
			await expectFailure(await admin("PUT", "/config", body), 400, 1001);
		}
		await expectUnchanged(before);
	});
});
