/**
 * Issue 13, item 3: no key, key id or actor id is derived from an authentication token. Without
 * AFFINITY_SECRET the authority generates a random cookie key, stores it and replicates it to the
 * Worker isolates, never to an admin response, an event or a log line; POST /_lb/api/affinity/rotate
 * (admin token) makes a new one, and cookies sealed with the earlier key still open for
 * session_affinity_ttl.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AffinitySecret } from "../../src/contract/replica";
import worker from "../../src/index";
import { readPin, toAffinityKeys } from "../../src/proxy/affinity";
import { API, adminAs, READ_TOKEN, readEvents, registryStub } from "./admin-helpers";
import { admin, originUrl, putConfig, runCron, send, startClean, TOKEN } from "./helpers";

beforeEach(startClean);

const TTL_S = 3600;

function affinityConfig() {
	return {
		monitors: [{ id: "health", path: "/health", expected_codes: "2xx", retries: 0, timeout: 2 }],
		pools: [
			{
				id: "main",
				name: "main",
				monitor: "health",
				origin_steering: { policy: "round_robin" },
				origins: ["a", "b", "c"].map((name) => ({ name, address: originUrl(name) })),
			},
		],
		load_balancers: [
			{
				name: "app.test",
				default_pools: ["main"],
				session_affinity: "cookie",
				session_affinity_ttl: TTL_S,
				proxy: { debug_headers: true },
			},
		],
	};
}

/** The keys the authority stores (current first). */
function storedKeys(): Promise<AffinitySecret[]> {
	return runInDurableObject(registryStub(), (_instance, state) => {
		const row = state.storage.sql
			.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'affinity_keys'")
			.toArray()[0];
		return row ? (JSON.parse(row.value) as AffinitySecret[]) : [];
	});
}

function cookieOf(response: Response): string {
	return (response.headers.get("set-cookie") ?? "").split(";")[0] as string;
}

/** What the cookie pins, opened with exactly these secrets (undefined: it does not open). */
async function openWith(cookie: string, secrets: string[]) {
	return readPin(cookie, "app.test", await toAffinityKeys(secrets), Date.now());
}

/** A visitor's first request: its origin and the cookie it was given. */
async function newVisitor(): Promise<{ origin: string; cookie: string }> {
	const response = await send("https://app.test/");
	expect(response.status).toBe(200);
	return { origin: response.headers.get("x-switchyard-origin") as string, cookie: cookieOf(response) };
}

async function rotate(body?: unknown, token = TOKEN): Promise<Response> {
	return adminAs(token, "POST", "/affinity/rotate", body);
}

describe("the session affinity key", () => {
	it("is random, stored by the authority, and seals cookies; nothing derived from ADMIN_TOKEN opens them", async () => {
		await putConfig(affinityConfig());
		const { origin, cookie } = await newVisitor();
		const keys = await storedKeys();
		expect(keys).toHaveLength(1);
		const secret = keys[0]?.secret as string;
		expect(secret).toMatch(/^[\w-]{43}$/); // 32 random bytes, base64url
		expect(await openWith(cookie, [secret])).toEqual({ pool: "main", origin });
		// What the balancer used before: a key derived from the admin token.
		expect(await openWith(cookie, [`affinity-derived:${TOKEN}`])).toBeUndefined();
	});

	it("rotates on POST /affinity/rotate: earlier cookies still pin for session_affinity_ttl, new ones use the new key", async () => {
		await putConfig(affinityConfig());
		const before = await newVisitor();
		const [old] = await storedKeys();

		const refused = await rotate(undefined, READ_TOKEN);
		expect(refused.status).toBe(403);
		await refused.body?.cancel();
		expect(await storedKeys()).toEqual([old]);

		const started = Date.now();
		const response = await rotate();
		const body = (await response.json()) as {
			result: { rotated_at: string; earlier_keys_valid_until: string; earlier_keys: number };
		};
		expect(response.status).toBe(200);
		expect(body.result.earlier_keys).toBe(1);
		const until = Date.parse(body.result.earlier_keys_valid_until);
		expect(until).toBeGreaterThanOrEqual(started + TTL_S * 1000);
		expect(until).toBeLessThanOrEqual(Date.now() + TTL_S * 1000);
		const [current, earlier] = await storedKeys();
		expect(current?.secret).not.toBe(old?.secret);
		expect(earlier).toEqual({ secret: old?.secret, until });

		// The first request after the rotation brings the isolate news of it (its replica refreshes).
		await newVisitor();
		for (let i = 0; i < 6; i++) {
			const pinned = await send("https://app.test/", { headers: { cookie: before.cookie } });
			expect(pinned.headers.get("x-switchyard-origin")).toBe(before.origin);
			expect(pinned.headers.has("set-cookie")).toBe(false);
		}
		const after = await newVisitor();
		expect(await openWith(after.cookie, [current?.secret as string])).toEqual({ pool: "main", origin: after.origin });
		expect(await openWith(after.cookie, [old?.secret as string])).toBeUndefined();
		// The audit log says who rotated, never the key.
		const [event] = await readEvents(1);
		expect(event).toMatchObject({ type: "config", actor: "admin" });
		expect(event?.type === "config" && event.action).toMatch(/^rotated the session affinity key/);
	});

	it("with drop_earlier_keys, cookies issued before no longer open: their visitors are placed afresh", async () => {
		await putConfig(affinityConfig());
		const before = await newVisitor();
		const response = await rotate({ drop_earlier_keys: true });
		expect(response.status).toBe(200);
		expect(((await response.json()) as { result: { earlier_keys: number } }).result.earlier_keys).toBe(0);
		expect(await storedKeys()).toHaveLength(1);
		await newVisitor();
		const origins = new Set<string | null>();
		for (let i = 0; i < 6; i++) {
			const placed = await send("https://app.test/", { headers: { cookie: before.cookie } });
			origins.add(placed.headers.get("x-switchyard-origin"));
			expect(placed.headers.get("set-cookie")).toMatch(/^__switchyard_affinity=/);
		}
		expect(origins.size).toBeGreaterThan(1); // round robin: the old cookie pins nothing
	});

	it("refuses a body it does not understand, and a rotation while AFFINITY_SECRET seals the cookies", async () => {
		await putConfig(affinityConfig());
		const keys = await storedKeys();
		for (const body of [{ drop_earlier_keys: "yes" }, { keep: true }]) {
			const response = await rotate(body);
			expect(response.status, JSON.stringify(body)).toBe(400);
			await response.body?.cancel();
		}
		const ctx = createExecutionContext();
		const withSecret = await worker.fetch(
			new Request(`${API}/affinity/rotate`, {
				method: "POST",
				headers: { authorization: `Bearer ${TOKEN}` },
			}) as Request<unknown, IncomingRequestCfProperties>,
			{ ...env, AFFINITY_SECRET: "an-operator-secret" },
			ctx,
		);
		await waitOnExecutionContext(ctx);
		expect(withSecret.status).toBe(409);
		expect(await withSecret.text()).toContain("AFFINITY_SECRET_PREVIOUS");
		expect(await storedKeys()).toEqual(keys);
	});
});

describe("the key stays secret", () => {
	const lines: string[] = [];
	beforeEach(() => {
		lines.length = 0;
		for (const level of ["log", "info", "warn", "error", "debug"] as const) {
			vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
				lines.push(
					args.map((arg) => (arg instanceof Error ? `${arg.stack}` : (JSON.stringify(arg) ?? String(arg)))).join(" "),
				);
			});
		}
	});
	afterEach(() => {
		vi.restoreAllMocks();
	});

	it("appears in no admin response, no event and no log line", async () => {
		await putConfig(affinityConfig());
		const texts: string[] = [];
		const visitor = await newVisitor();
		const rotated = await rotate();
		texts.push(await rotated.text());
		await send("https://app.test/", { headers: { cookie: visitor.cookie } });
		await runCron(Date.now()); // logs a line of its own
		const drain = await admin("POST", "/pools/main/origins/a/drain");
		texts.push(await drain.text());
		for (const path of [
			"/config",
			"/status",
			"/events?limit=1000",
			"/pools",
			"/pools/main",
			"/pools/main/origins",
			"/pools/main/origins/a",
			"/monitors",
			"/monitors/health",
			"/load_balancers",
			"/load_balancers/app.test",
		]) {
			for (const token of [TOKEN, READ_TOKEN]) {
				const response = await adminAs(token, "GET", path);
				expect(response.status, path).toBe(200);
				texts.push(await response.text());
			}
		}
		const secrets = (await storedKeys()).map((key) => key.secret);
		expect(secrets).toHaveLength(2);
		expect(lines.length).toBeGreaterThan(0); // the spy hears the Worker and the objects
		const everything = [...texts, ...lines].join("\n");
		for (const secret of secrets) expect(everything).not.toContain(secret);
	});
});
