/**
 * Self-registration with leases (issue 22, item 1), in the Workers runtime against real origins on
 * loopback: a registered origin is pending until its first check passes, then takes traffic; it is
 * runtime state (GET /config does not show it, PUT /config keeps it); a lease not renewed ends from
 * the authority's own alarm, with an event; DELETE ends it at once; the registration token can do
 * nothing else.
 */
import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { RegistrationView } from "../../src/contract/discovery";
import type { StatusReport } from "../../src/contract/status";
import { type ConfigDoc, readEvents } from "./admin-helpers";
import {
	ADMIN,
	admin,
	adminResult,
	type Envelope,
	onePoolConfig,
	originUrl,
	putConfig,
	REGISTRATION_TOKEN,
	received,
	send,
	startClean,
} from "./helpers";

const registry = () => env.REGISTRY.getByName("global");

beforeEach(startClean);

let configs = 0;

/** Pool "main" over configured origin "a", open to registrations; each configuration new. */
function discoveryConfig(discovery: Record<string, unknown> = { self_registration: true }, scope = "colo") {
	const config = onePoolConfig(["a"], { monitor: { interval: 5 } });
	Object.assign(config.pools[0] as object, { description: `config ${++configs}`, discovery });
	Object.assign(config.load_balancers[0] as object, { counter_scope: scope });
	return config;
}

function registration(method: "PUT" | "DELETE", path: string, body?: unknown, token = REGISTRATION_TOKEN) {
	return send(`${ADMIN}/_lb/api/pools/${path}`, {
		method,
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
}

async function registered(path: string, body: unknown): Promise<Envelope<RegistrationView> & { status: number }> {
	const response = await registration("PUT", path, body);
	return { status: response.status, ...((await response.json()) as Envelope<RegistrationView>) };
}

async function originOf(name: string) {
	const status = await adminResult<StatusReport>("/status");
	return status.pools.find((pool) => pool.id === "main")?.origins.find((origin) => origin.name === name);
}

/** Which origin served each of `count` requests (round robin over the pool). */
async function servedBy(count: number): Promise<string[]> {
	const names: string[] = [];
	for (let i = 0; i < count; i++) {
		const response = await send(`https://app.test/served/${i}`);
		expect(response.status).toBe(200);
		names.push(response.headers.get("x-switchyard-origin") ?? "?");
	}
	return names;
}

const servedPaths = async (name: string) =>
	(await received(name)).filter((request) => request.url.startsWith("/served")).length;

describe("self-registration", () => {
	it("a registered origin is pending until its first check passes, then takes traffic; GET /config never shows it", async () => {
		await putConfig(discoveryConfig());
		await runDurableObjectAlarm(registry()); // "a" checked healthy
		const before = Date.now();
		const created = await registered("main/registrations/b", { address: originUrl("b") });
		expect(created.status).toBe(201);
		expect(created.result).toMatchObject({ pool: "main", name: "b", address: originUrl("b"), weight: 1, ttl_s: 30 });
		const expiresAt = Date.parse(created.result.expires_at);
		expect(expiresAt).toBeGreaterThanOrEqual(before + 30_000);
		expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30_000);

		expect(await originOf("b")).toMatchObject({
			registered: true,
			discovered: "registration",
			expires_at: created.result.expires_at,
			pending: true,
			healthy: false,
			address: originUrl("b"),
		});
		// Pending while the pool has a checked healthy origin: no traffic yet.
		expect(await servedBy(4)).toEqual(["a", "a", "a", "a"]);
		expect(await servedPaths("b")).toBe(0);

		await runDurableObjectAlarm(registry()); // its first check
		expect(await originOf("b")).toMatchObject({ pending: false, healthy: true, last_check: "200" });
		expect((await servedBy(4)).sort()).toEqual(["a", "a", "b", "b"]);
		expect(await servedPaths("b")).toBe(2);

		// Runtime state, like a drain: not in the document, and a PUT /config that keeps the pool keeps it.
		const config = (await adminResult<ConfigDoc>("/config")) as ConfigDoc;
		expect(config.pools[0]?.origins.map((origin) => origin.name)).toEqual(["a"]);
		await putConfig(discoveryConfig());
		expect(await originOf("b")).toMatchObject({ registered: true, healthy: true });
		const listed = await adminResult<RegistrationView[]>("/pools/main/registrations");
		expect(listed.map((item) => item.name)).toEqual(["b"]);

		// A heartbeat renews the lease: 200, a later expires_at.
		const renewed = await registered("main/registrations/b", { address: originUrl("b") });
		expect(renewed.status).toBe(200);
		expect(Date.parse(renewed.result.expires_at)).toBeGreaterThanOrEqual(expiresAt);
		expect(renewed.result.registered_at).toBe(created.result.registered_at);
		expect(await originOf("b")).toMatchObject({ healthy: true, pending: false });

		// The same name at a new address is a new origin to health: pending again until checked.
		const moved = await registered("main/registrations/b", { address: originUrl("c") });
		expect(moved.status).toBe(200);
		expect(await originOf("b")).toMatchObject({ address: originUrl("c"), pending: true, healthy: false });
		await abortAllDurableObjects(); // and after a restart too (its old health is not reloaded)
		expect(await originOf("b")).toMatchObject({ address: originUrl("c"), pending: true });
		await runDurableObjectAlarm(registry());
		expect(await originOf("b")).toMatchObject({ pending: false, healthy: true });

		// A PUT /config that removes the pool removes its registrations.
		const other = discoveryConfig();
		Object.assign(other.pools[0] as object, { id: "other", name: "other" });
		Object.assign(other.load_balancers[0] as object, { default_pools: ["other"] });
		await putConfig(other);
		await putConfig(discoveryConfig());
		expect(await originOf("b")).toBeUndefined();
		expect(await adminResult<RegistrationView[]>("/pools/main/registrations")).toEqual([]);
	});

	it("keeps registrations across a restart of the authority", async () => {
		await putConfig(discoveryConfig());
		const created = await registered("main/registrations/b", { address: originUrl("b"), weight: 2 });
		await abortAllDurableObjects();
		expect(await originOf("b")).toMatchObject({ registered: true, expires_at: created.result.expires_at });
	});

	it("DELETE deregisters at once: no new requests, an audit entry", async () => {
		await putConfig(discoveryConfig());
		await registered("main/registrations/b", { address: originUrl("b") });
		await runDurableObjectAlarm(registry());
		expect((await servedBy(2)).sort()).toEqual(["a", "b"]);
		const gone = await registration("DELETE", "main/registrations/b");
		expect(gone.status).toBe(200);
		expect(await gone.json()).toMatchObject({ success: true, result: { name: "b" } });
		expect(await servedBy(4)).toEqual(["a", "a", "a", "a"]);
		expect(await originOf("b")).toBeUndefined();
		const [latest] = await readEvents(1);
		expect(latest).toMatchObject({
			type: "config",
			actor: "registration",
			action: 'deregistered origin "b" in pool "main"',
		});
		expect((await registration("DELETE", "main/registrations/b")).status).toBe(404);
	});

	it.each([
		["colo", 2_000],
		["isolate", 6_000],
	])(
		"a lease not renewed ends (%s scope): traffic stops within %i ms of expires_at, and an event says so",
		async (scope, withinMs) => {
			await putConfig(discoveryConfig({ self_registration: true }, scope));
			await runDurableObjectAlarm(registry());
			await registered("main/registrations/b", { address: originUrl("b"), ttl_s: 3 });
			await runDurableObjectAlarm(registry());
			// Heartbeats until the planner (a counter object, or this isolate's replica, ≤ 5 s) sends it traffic.
			let created = await registered("main/registrations/b", { address: originUrl("b"), ttl_s: 3 });
			await expect
				.poll(
					async () => {
						created = await registered("main/registrations/b", { address: originUrl("b"), ttl_s: 3 });
						return (await servedBy(2)).includes("b");
					},
					{ interval: 200, timeout: 8_000 },
				)
				.toBe(true);
			const expiresAt = Date.parse(created.result.expires_at);
			// The authority's own alarm ends it: wait until two requests in a row go elsewhere.
			await expect
				.poll(async () => !(await servedBy(2)).includes("b"), { interval: 100, timeout: 3_000 + withinMs + 2_000 })
				.toBe(true);
			const stoppedAt = Date.now();
			expect(stoppedAt - expiresAt).toBeLessThanOrEqual(withinMs);
			const events = await readEvents(10);
			expect(events).toContainEqual(
				expect.objectContaining({
					type: "health",
					pool: "main",
					origin: "b",
					healthy: false,
					reason: "lease expired: no heartbeat within 3 s",
				}),
			);
			expect(await originOf("b")).toBeUndefined();
		},
		// Its polls' own bounds: up to 8 s to first traffic, then 3 s of lease and withinMs. The isolate
		// scope hears of the change from its second-apart outcome batches or its hub check (≤ 5 s).
		30_000,
	);
});

describe("registration input and permissions", () => {
	it("answers 403 for a pool without self_registration, 404 for no pool, 400 naming the field, 409 for a configured name", async () => {
		await putConfig(discoveryConfig({ dns_srv: "_http._tcp.web.example.com", refresh_s: 3600 }));
		const closed = await registration("PUT", "main/registrations/b", { address: originUrl("b") });
		expect(closed.status).toBe(403);
		expect(((await closed.json()) as Envelope).errors[0]?.message).toContain("self_registration");
		await putConfig(discoveryConfig());
		expect((await registration("PUT", "nope/registrations/b", { address: originUrl("b") })).status).toBe(404);
		const bad = await registration("PUT", "main/registrations/b", { address: originUrl("b"), ttl_s: 1 });
		expect(bad.status).toBe(400);
		expect(((await bad.json()) as Envelope).errors[0]).toMatchObject({ field: "ttl_s" });
		const noAddress = await registration("PUT", "main/registrations/b", { port: 80 });
		expect(((await noAddress.json()) as Envelope).errors[0]).toMatchObject({ field: "address" });
		const unknown = await registration("PUT", "main/registrations/b", { address: "h.example", color: "red" });
		expect(unknown.status).toBe(400);
		expect((await registration("PUT", "main/registrations/a", { address: originUrl("b") })).status).toBe(409);
		// The read token may list but not register.
		expect(
			(await registration("PUT", "main/registrations/b", { address: originUrl("b") }, "test-read-token")).status,
		).toBe(403);
		// The admin token may register too.
		expect(
			(await registration("PUT", "main/registrations/c", { address: originUrl("c") }, "test-admin-token")).status,
		).toBe(201);
	});

	it("the registration token can do nothing else: 403 on every other route, /_lb/metrics and the dashboard's API", async () => {
		await putConfig(discoveryConfig());
		const calls: [string, string, unknown?][] = [
			["GET", "/_lb/api/config"],
			["PUT", "/_lb/api/config", discoveryConfig()],
			["GET", "/_lb/api/status"],
			["GET", "/_lb/api/events"],
			["GET", "/_lb/api/dashboard"],
			["GET", "/_lb/api/pools"],
			["GET", "/_lb/api/pools/main/registrations"],
			["GET", "/_lb/api/pools/main/registrations/b"],
			["POST", "/_lb/api/pools/main/registrations/b", { address: originUrl("b") }],
			["PUT", "/_lb/api/pools/main/origins/b", { address: originUrl("b") }],
			["POST", "/_lb/api/pools/main/origins/a/drain"],
			["POST", "/_lb/api/affinity/rotate"],
			["GET", "/_lb/api/accounts/x/load_balancers/pools"],
			["GET", "/_lb/api/zones/z/load_balancers"],
			["GET", "/_lb/metrics"],
		];
		for (const [method, path, body] of calls) {
			const response = await send(`${ADMIN}${path}`, {
				method,
				headers: { authorization: `Bearer ${REGISTRATION_TOKEN}`, "content-type": "application/json" },
				body: body === undefined ? undefined : JSON.stringify(body),
			});
			expect(response.status, `${method} ${path}`).toBe(403);
			expect(((await response.json()) as Envelope).errors[0]?.code, `${method} ${path}`).toBe(1008);
		}
		// Nothing changed, and the routes it may call work.
		expect((await adminResult<ConfigDoc>("/config")).pools[0]?.origins).toHaveLength(1);
		expect((await registration("PUT", "main/registrations/b", { address: originUrl("b") })).status).toBe(201);
		expect((await registration("DELETE", "main/registrations/b")).status).toBe(200);
		const listed = await admin("GET", "/pools/main/registrations");
		expect(listed.status).toBe(200);
		expect(((await listed.json()) as Envelope<unknown[]>).result).toEqual([]);
	});
});
