/**
 * Service discovery end to end on the real `wrangler dev` (issue 22), with real origins and a DoH
 * responder on loopback, the authority's alarm running on its own (nothing here fires it):
 *   - an origin registered with a 3 s lease takes traffic after its first check, and stops within
 *     2 s of its lease running out without heartbeats, with an event;
 *   - the agent (`npm run agent`) keeps a live origin registered across several TTLs and
 *     deregisters it when stopped;
 *   - the registration token can do nothing else;
 *   - an SRV answer becomes a pool's origins, a changed answer changes them at the next refresh,
 *     a failing resolver keeps the last set.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { PROJECT_ROOT, startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall, adminResult } from "../support/admin-api.ts";
import { type DohResponder, type SrvAnswer, startDohResponder } from "../support/doh-responder.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";
const REGISTRATION_TOKEN = "e2e-registration-token";
const SRV_NAME = "_http._tcp.web.e2e.test";

let wrangler: WranglerDev;
let origins: Record<string, OriginServer>;
let doh: DohResponder;
let stateDir: string;
let agent: ChildProcess | undefined;

interface OriginStatus {
	name: string;
	healthy: boolean;
	pending: boolean;
	registered?: boolean;
	expires_at?: string | null;
}
interface Status {
	pools: { id: string; origins: OriginStatus[] }[];
}
type EventEntry = {
	type: string;
	actor?: string;
	action?: string;
	origin?: string;
	healthy?: boolean;
	reason?: string;
};

beforeAll(async () => {
	const names = ["base", "short", "agented", "s1", "s2", "s3"];
	origins = Object.fromEntries(
		await Promise.all(names.map(async (name) => [name, await startOrigin({ name })] as const)),
	);
	doh = await startDohResponder();
	await setRecords([srv("s1"), srv("s2")]);
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-discovery-e2e-"));
	wrangler = await startWranglerDev({
		port: await freePort(),
		vars: { ADMIN_TOKEN: TOKEN, REGISTRATION_TOKEN },
		persistTo: stateDir,
	});
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		monitors: [{ id: "m", path: "/health", expected_codes: "200", interval: 5, timeout: 2, retries: 0 }],
		pools: [
			{
				id: "web",
				name: "web",
				monitor: "m",
				origin_steering: { policy: "round_robin" },
				origins: [{ name: "base", address: origins.base?.url }],
				discovery: { self_registration: true, ttl_s: 30 },
			},
			{
				id: "srv",
				name: "srv",
				monitor: "m",
				origin_steering: { policy: "round_robin" },
				origins: [],
				discovery: { dns_srv: SRV_NAME, resolver: doh.url, refresh_s: 5 },
			},
		],
		load_balancers: [
			{ name: "localhost", default_pools: ["web"], proxy: { debug_headers: true }, counter_rtt_budget_ms: 0 },
			{ name: "127.0.0.1", default_pools: ["srv"], proxy: { debug_headers: true }, counter_rtt_budget_ms: 0 },
		],
	});
	expect(response.status).toBe(200);
	await response.text();
	// "base" checked healthy by the alarm: a new origin is pending beside it until its own first check.
	await vi.waitFor(
		async () => {
			const base = (await originsOf("web"))[0];
			if (base?.pending !== false || !base.healthy) throw new Error("base is not checked healthy yet");
		},
		{ interval: 200, timeout: 15_000 },
	);
});

afterAll(async () => {
	if (agent && agent.exitCode === null) agent.kill("SIGKILL");
	await wrangler?.stop();
	await Promise.all([...Object.values(origins ?? {}), ...(doh ? [doh] : [])].map((server) => server.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function srv(name: string, priority = 1, weight = 1): SrvAnswer {
	return { priority, weight, port: Number(new URL(origins[name]?.url as string).port), target: "127.0.0.1" };
}

async function setRecords(records: SrvAnswer[]): Promise<void> {
	const response = await fetch(`${doh.control}/records`, { method: "PUT", body: JSON.stringify(records) });
	expect(response.status).toBe(204);
}

async function lookups(): Promise<number> {
	return ((await (await fetch(`${doh.control}/lookups`)).json()) as { lookups: number }).lookups;
}

async function originsOf(pool: string): Promise<OriginStatus[]> {
	const status = await adminResult<Status>(wrangler.url, TOKEN, "/status");
	return status.pools.find((entry) => entry.id === pool)?.origins ?? [];
}

/** Which origins served `count` requests to `host` (localhost: pool web; 127.0.0.1: pool srv). */
async function servedBy(host: "localhost" | "127.0.0.1", count: number): Promise<string[]> {
	const port = new URL(wrangler.url).port;
	const names: string[] = [];
	for (let i = 0; i < count; i++) {
		const response = await fetch(`http://${host}:${port}/served/${i}`);
		expect(response.status).toBe(200);
		names.push(response.headers.get("x-switchyard-origin") ?? "?");
		await response.arrayBuffer();
	}
	return names;
}

/** `npm run lb -- <args>` against this wrangler dev, as an operator runs it; its stdout. */
function lbCli(...args: string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(
			process.execPath,
			["scripts/lb.ts", ...args, "--url", wrangler.url, "--token", TOKEN],
			{ cwd: PROJECT_ROOT },
			(error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
		);
	});
}

function register(name: string, body: unknown, token = REGISTRATION_TOKEN) {
	return fetch(`${wrangler.url}/_lb/api/pools/web/registrations/${name}`, {
		method: "PUT",
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		body: JSON.stringify(body),
	});
}

describe("self-registration under wrangler dev", () => {
	it("an origin with a 3 s lease takes traffic after its first check, and stops within 2 s of the lease running out", async () => {
		const response = await register("short", { address: origins.short?.url, ttl_s: 3 });
		expect(response.status).toBe(201);
		await response.arrayBuffer();
		expect((await originsOf("web")).find((origin) => origin.name === "short")).toMatchObject({
			registered: true,
			pending: true,
		});
		// Its first check (the alarm, within a second or so) lets it in; heartbeats keep it until then.
		let expiresAt = 0;
		await expect
			.poll(
				async () => {
					const renewed = await register("short", { address: origins.short?.url, ttl_s: 3 });
					expiresAt = Date.parse(((await renewed.json()) as { result: { expires_at: string } }).result.expires_at);
					const short = (await originsOf("web")).find((origin) => origin.name === "short");
					return short?.pending === false && (await servedBy("localhost", 2)).includes("short");
				},
				{ interval: 200, timeout: 10_000 },
			)
			.toBe(true);
		// The authority's alarm ends the lease, and the push takes it out of rotation.
		// No more heartbeats: once its lease has run out, it stops taking requests within 2 s.
		await expect
			.poll(
				async () => {
					const served = await servedBy("localhost", 2);
					return Date.now() >= expiresAt && !served.includes("short");
				},
				{ interval: 100, timeout: 8_000 },
			)
			.toBe(true);
		expect(Date.now() - expiresAt).toBeLessThanOrEqual(2_000);
		const events = await adminResult<EventEntry[]>(wrangler.url, TOKEN, "/events?limit=20");
		expect(events).toContainEqual(
			expect.objectContaining({
				type: "health",
				origin: "short",
				healthy: false,
				reason: "lease expired: no heartbeat within 3 s",
			}),
		);
		expect((await originsOf("web")).map((origin) => origin.name)).toEqual(["base"]);
	});

	it("the agent keeps a live origin registered across several TTLs and deregisters it when stopped", async () => {
		agent = spawn(
			process.execPath,
			[
				"scripts/agent.ts",
				"--url",
				wrangler.url,
				"--pool",
				"web",
				"--name",
				"agented",
				"--address",
				origins.agented?.url as string,
				"--ttl",
				"3",
				"--token",
				REGISTRATION_TOKEN,
			],
			{ cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] },
		);
		let output = "";
		agent.stdout?.on("data", (chunk: Buffer) => {
			output += chunk.toString();
		});
		agent.stderr?.on("data", (chunk: Buffer) => {
			output += chunk.toString();
		});
		const exited = new Promise<number | null>((resolve) => agent?.once("exit", (code) => resolve(code)));
		await expect.poll(() => output, { interval: 100, timeout: 10_000 }).toContain("registered web/agented");
		const registeredAt = Date.now();
		await expect
			.poll(async () => (await servedBy("localhost", 2)).includes("agented"), { interval: 200, timeout: 10_000 })
			.toBe(true);
		// Several TTLs (3 s each) on: still registered, still serving, its lease moving on.
		const firstLease = (await originsOf("web")).find((origin) => origin.name === "agented")?.expires_at;
		await new Promise((resolve) => setTimeout(resolve, Math.max(0, registeredAt + 10_000 - Date.now())));
		const later = (await originsOf("web")).find((origin) => origin.name === "agented");
		expect(later).toMatchObject({ registered: true, healthy: true });
		expect(Date.parse(later?.expires_at as string)).toBeGreaterThan(Date.parse(firstLease as string) + 6_000);
		expect((await servedBy("localhost", 2)).sort()).toEqual(["agented", "base"]);
		// The CLI lists it (`npm run lb -- registrations web`).
		const listed = await lbCli("registrations", "web");
		expect(listed).toMatch(/^ORIGIN +ADDRESS +WEIGHT +TTL +REGISTERED +EXPIRES$/m);
		expect(listed).toContain(`agented  ${origins.agented?.url}`);

		agent.kill("SIGTERM");
		expect(await exited).toBe(0);
		expect(output).toContain("deregistered web/agented");
		expect((await originsOf("web")).map((origin) => origin.name)).toEqual(["base"]);
		expect(await servedBy("localhost", 2)).toEqual(["base", "base"]);
		const events = await adminResult<EventEntry[]>(wrangler.url, TOKEN, "/events?limit=20");
		expect(events).toContainEqual(
			expect.objectContaining({
				type: "config",
				actor: "registration",
				action: 'deregistered origin "agented" in pool "web"',
			}),
		);
	});

	it("the registration token can do nothing else", async () => {
		for (const path of [
			"/_lb/api/status",
			"/_lb/api/config",
			"/_lb/api/dashboard",
			"/_lb/metrics",
			"/_lb/api/pools/web/registrations",
		]) {
			const response = await fetch(`${wrangler.url}${path}`, {
				headers: { authorization: `Bearer ${REGISTRATION_TOKEN}` },
			});
			expect(response.status, path).toBe(403);
			await response.arrayBuffer();
		}
		const drain = await fetch(`${wrangler.url}/_lb/api/pools/web/origins/base/drain`, {
			method: "POST",
			headers: { authorization: `Bearer ${REGISTRATION_TOKEN}` },
		});
		expect(drain.status).toBe(403);
		await drain.arrayBuffer();
	});
});

describe("a pool filled from DNS SRV under wrangler dev", () => {
	const nameOf = (name: string) => `127.0.0.1:${srv(name).port}`;

	it("takes the SRV answer as its origins, follows a changed answer at the next refresh, keeps the last set when the resolver fails", async () => {
		await expect
			.poll(async () => (await originsOf("srv")).map((origin) => origin.name), { interval: 200, timeout: 15_000 })
			.toEqual([nameOf("s1"), nameOf("s2")]);
		await expect
			.poll(async () => new Set(await servedBy("127.0.0.1", 4)), { interval: 200, timeout: 15_000 })
			.toEqual(new Set([nameOf("s1"), nameOf("s2")]));

		await setRecords([srv("s3")]);
		await expect
			.poll(async () => (await originsOf("srv")).map((origin) => origin.name), { interval: 200, timeout: 10_000 })
			.toEqual([nameOf("s3")]);
		await expect
			.poll(async () => new Set(await servedBy("127.0.0.1", 2)), { interval: 200, timeout: 10_000 })
			.toEqual(new Set([nameOf("s3")]));

		const failing = await fetch(`${doh.control}/fail?status=503`, { method: "POST" });
		expect(failing.status).toBe(204);
		const before = await lookups();
		await expect.poll(lookups, { interval: 200, timeout: 10_000 }).toBeGreaterThan(before);
		expect((await originsOf("srv")).map((origin) => origin.name)).toEqual([nameOf("s3")]);
		expect(new Set(await servedBy("127.0.0.1", 2))).toEqual(new Set([nameOf("s3")]));
		const events = await adminResult<EventEntry[]>(wrangler.url, TOKEN, "/events?limit=20");
		expect(events).toContainEqual(
			expect.objectContaining({
				type: "config",
				actor: "dns",
				action: `DNS SRV lookup of ${SRV_NAME} for pool "srv" failed: the resolver answered HTTP 503; keeping the last 1 origin(s)`,
			}),
		);
	});
});
