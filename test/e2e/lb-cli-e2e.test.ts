/**
 * End to end: the `npm run lb` CLI (scripts/lb.ts) as a child process against the real
 * `wrangler dev` and two real origins: apply (and dry run), get round-trips, drain keeps real
 * traffic off an origin and enable brings it back, the affinity key rotates, and refusals exit
 * non-zero with the reason.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { PROJECT_ROOT, startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-lb-cli-token";

let wrangler: WranglerDev;
let a: OriginServer;
let b: OriginServer;
let stateDir: string;
let workDir: string;

beforeAll(async () => {
	[a, b] = await Promise.all([startOrigin({ name: "a" }), startOrigin({ name: "b" })]);
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-lb-cli-state-"));
	workDir = mkdtempSync(join(tmpdir(), "switchyard-lb-cli-files-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all([a?.close(), b?.close()]);
	for (const dir of [stateDir, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
	code: number | null;
	stdout: string;
	stderr: string;
}

/** Runs `node scripts/lb.ts ...args` against the test's wrangler dev. */
function lb(...args: string[]): Promise<Run> {
	const child = spawn(process.execPath, ["scripts/lb.ts", ...args], {
		cwd: PROJECT_ROOT,
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, SWITCHYARD_URL: wrangler.url, SWITCHYARD_TOKEN: TOKEN },
	});
	let stdout = "";
	let stderr = "";
	child.stdout.on("data", (chunk: Buffer) => {
		stdout += chunk.toString();
	});
	child.stderr.on("data", (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	return new Promise((resolve, reject) => {
		child.once("error", reject);
		child.once("close", (code) => resolve({ code, stdout, stderr }));
	});
}

function writeConfig(name: string, config: unknown): string {
	const path = join(workDir, name);
	writeFileSync(path, JSON.stringify(config, null, 2));
	return path;
}

function config(overrides: { minimum_origins?: number; weight?: number } = {}) {
	return {
		pools: [
			{
				id: "main",
				name: "main",
				origin_steering: { policy: "round_robin" },
				...(overrides.minimum_origins === undefined ? {} : { minimum_origins: overrides.minimum_origins }),
				origins: [
					{ name: "a", address: a.url, ...(overrides.weight === undefined ? {} : { weight: overrides.weight }) },
					{ name: "b", address: b.url },
				],
			},
		],
		// Exact shares: who plans must not depend on how busy the machine is (the latency budget, off).
		load_balancers: [
			{ name: "localhost", default_pools: ["main"], proxy: { debug_headers: true }, counter_rtt_budget_ms: 0 },
		],
	};
}

async function version(): Promise<number> {
	const run = await lb("status", "--json");
	expect(run.code).toBe(0);
	return (JSON.parse(run.stdout) as { version: number }).version;
}

/** The status table's row for one origin, split into its columns. */
async function statusRow(origin: string): Promise<string[]> {
	const run = await lb("status");
	expect(run.code).toBe(0);
	const row = run.stdout
		.split("\n")
		.map((line) => line.split(/\s+/))
		.find((cells) => cells[0] === "main" && cells[1] === origin);
	expect(row, run.stdout).toBeDefined();
	return row as string[];
}

/** Sends `count` requests through the balancer; returns the origin that served each. */
async function sendMany(count: number): Promise<(string | null)[]> {
	const base = wrangler.url.replace("127.0.0.1", "localhost");
	const served: (string | null)[] = [];
	for (let i = 0; i < count; i++) {
		const response = await fetch(`${base}/cli?i=${i}`);
		expect(response.status).toBe(200);
		served.push(response.headers.get("x-switchyard-origin"));
		await response.arrayBuffer();
	}
	return served;
}

describe("npm run lb (scripts/lb.ts)", () => {
	it("applies a configuration file, naming the version and what was added", async () => {
		const run = await lb("apply", writeConfig("config.json", config()));
		expect(run.stderr).toBe("");
		expect(run.code).toBe(0);
		expect(run.stdout).toMatch(/^version \d+: changed$/m);
		expect(run.stdout).toContain("+ pool main\n");
		expect(run.stdout).toContain("+ load balancer localhost\n");
	});

	it("dry-runs a changed file: shows the change, stores nothing", async () => {
		const before = await version();
		const run = await lb("apply", writeConfig("changed.json", config({ minimum_origins: 2 })), "--dry-run");
		expect(run.code).toBe(0);
		expect(run.stdout).toContain(`dry run against version ${before}: would change`);
		expect(run.stdout).toContain("~ pool main (minimum_origins)\n");
		expect(await version()).toBe(before);
	});

	it("gets the configuration as JSON, with defaults filled in, that applies back unchanged", async () => {
		const run = await lb("get");
		expect(run.code).toBe(0);
		const document = JSON.parse(run.stdout) as ReturnType<typeof config> & {
			pools: { minimum_origins: number; origins: { name: string; address: string; weight: number }[] }[];
		};
		expect(document.pools.map((pool) => pool.id)).toEqual(["main"]);
		expect(document.pools[0]?.minimum_origins).toBe(1);
		expect(document.pools[0]?.origins.map((origin) => [origin.name, origin.address, origin.weight])).toEqual([
			["a", a.url, 1],
			["b", b.url, 1],
		]);
		expect(document.load_balancers[0]?.proxy.debug_headers).toBe(true);

		const again = await lb("apply", writeConfig("roundtrip.json", document));
		expect(again.code).toBe(0);
		expect(again.stdout).toMatch(/^version \d+: unchanged\n/);
		expect(again.stdout).not.toMatch(/^[-+~] /m);
	});

	it("issue 14, item 6: get -o writes a file that applies back unchanged", async () => {
		const path = join(workDir, "config.json");
		const run = await lb("get", "-o", path);
		expect(run.code, run.stderr).toBe(0);
		expect(run.stdout).toBe(`wrote ${path}\n`);
		const again = await lb("apply", path);
		expect(again.code, again.stderr).toBe(0);
		expect(again.stdout).toMatch(/^version \d+: unchanged\n/);
	});

	it("issue 14, item 6: applies GET /config's answer saved as it is (the README's curl -o config.json)", async () => {
		const before = await version();
		const response = await fetch(`${wrangler.url}/_lb/api/config`, { headers: { authorization: `Bearer ${TOKEN}` } });
		expect(response.status).toBe(200);
		const path = join(workDir, "saved-envelope.json");
		writeFileSync(path, await response.text());
		const run = await lb("apply", path);
		expect(run.code, run.stderr).toBe(0);
		expect(run.stdout).toMatch(/^version \d+: unchanged\n/);
		expect(run.stdout).toContain("note: the body is an admin API response: its result was taken as the configuration");
		expect(await version()).toBe(before);
	});

	it("drains an origin so no request reaches it, and enables it again", async () => {
		const drain = await lb("drain", "main", "b");
		expect(drain.code).toBe(0);
		expect(drain.stdout).toContain("origin main/b draining since");
		expect((await statusRow("b")).slice(2, 4)).toEqual(["healthy", "yes"]);
		expect((await statusRow("a")).slice(2, 4)).toEqual(["healthy", "no"]);

		const seenByB = b.received.length;
		const served = await sendMany(10);
		expect(served).toEqual(Array(10).fill("a"));
		expect(b.received.length).toBe(seenByB);

		const events = await lb("events", "--limit", "5");
		expect(events.code).toBe(0);
		expect(events.stdout).toContain('drained origin "b" in pool "main"');

		const enable = await lb("enable", "main", "b");
		expect(enable.code).toBe(0);
		expect(enable.stdout).toContain("origin main/b enabled");
		expect((await statusRow("b")).slice(2, 4)).toEqual(["healthy", "no"]);
		const after = await sendMany(10);
		expect(after.filter((origin) => origin === "b")).toHaveLength(5);
		expect(b.received.length).toBe(seenByB + 5);
	});

	it("rotates the session affinity key, keeping earlier cookies or dropping them", async () => {
		const kept = await lb("rotate-affinity-key");
		expect(kept.code, kept.stderr).toBe(0);
		expect(kept.stdout).toMatch(/cookies issued before still open until \d{4}-\d\d-\d\dT/);
		const dropped = await lb("rotate-affinity-key", "--drop-earlier");
		expect(dropped.code, dropped.stderr).toBe(0);
		expect(dropped.stdout).toContain("cookies issued before no longer open");
		const events = await lb("events", "--limit", "2");
		expect(events.stdout.match(/config {2}v\d+ admin: rotated the session affinity key/g)).toHaveLength(2);
	});

	it("refuses an invalid file with exit 1, naming the field", async () => {
		const before = await version();
		const run = await lb("apply", writeConfig("invalid.json", config({ weight: -1 })));
		expect(run.code).toBe(1);
		expect(run.stdout).toBe("");
		expect(run.stderr).toContain("pools[0].origins[0].weight");
		expect(await version()).toBe(before);
	});

	it("exits 1 on a wrong token, 1 on an unreachable URL, 2 on an unknown command", async () => {
		const wrongToken = await lb("status", "--token", "not-the-token");
		expect(wrongToken.code).toBe(1);
		expect(wrongToken.stderr).toContain("error 1007");

		const closed = `http://127.0.0.1:${await freePort()}`;
		const unreachable = await lb("get", "--url", closed);
		expect(unreachable.code).toBe(1);
		expect(unreachable.stderr.trim()).toBe(`cannot reach ${closed}: ECONNREFUSED`);

		const unknown = await lb("frobnicate");
		expect(unknown.code).toBe(2);
		expect(unknown.stdout).toBe("");
		expect(unknown.stderr).toContain('unknown command "frobnicate"');
		expect(unknown.stderr).toContain("usage: npm run lb");
	});
});
