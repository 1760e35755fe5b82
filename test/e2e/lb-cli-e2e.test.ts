/**
 * End to end: the `npm run lb` CLI (scripts/lb.ts) as a child process against the real
 * `wrangler dev` and two real origins: apply (and dry run), get round-trips, drain keeps real
 * traffic off an origin and enable brings it back, the affinity key rotates, and refusals exit
 * non-zero with the reason.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
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
	return lbWith({ SWITCHYARD_URL: wrangler.url, SWITCHYARD_TOKEN: TOKEN }, ...args);
}

/** Runs `node scripts/lb.ts ...args` with these variables set (undefined: removed) over the test's environment. */
function lbWith(vars: Record<string, string | undefined>, ...args: string[]): Promise<Run> {
	return nodeWith(vars, "scripts/lb.ts", ...args);
}

/** Runs `node ...args` in the project folder with these variables set (undefined: removed) over the test's environment. */
function nodeWith(vars: Record<string, string | undefined>, ...args: string[]): Promise<Run> {
	const env: Record<string, string | undefined> = { ...process.env, ...vars };
	for (const [name, value] of Object.entries(vars)) if (value === undefined) delete env[name];
	const child = spawn(process.execPath, args, {
		cwd: PROJECT_ROOT,
		stdio: ["ignore", "pipe", "pipe"],
		env,
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
		// No slow start: an origin added by `lb origins add` takes its full share at once.
		load_balancers: [
			{
				name: "localhost",
				default_pools: ["main"],
				proxy: { debug_headers: true },
				counter_rtt_budget_ms: 0,
				slow_start_s: 0,
			},
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
		// Both origins are loopback IPs: one note for the run, naming both (issue 17, item 4).
		const notes = run.stdout.split("\n").filter((line) => line.includes("IP address"));
		expect(notes).toHaveLength(1);
		expect(notes[0]).toContain("pools[0].origins[0].address");
		expect(notes[0]).toContain("pools[0].origins[1].address");
		expect(notes[0]).toContain("a deployed Worker cannot fetch raw IPs");
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

describe("npm run lb: pools, origins and load balancers (issue 17, item 4)", () => {
	it("lists pools, a pool's origins and the load balancers, as tables and as --json", async () => {
		const listed = await lb("pools");
		expect(listed.code, listed.stderr).toBe(0);
		expect(listed.stdout.split("\n")[0]?.split(/\s+/)).toEqual(["POOL", "NAME", "ENABLED", "MONITOR", "ORIGINS"]);
		expect(listed.stdout).toMatch(/^main\s+main\s+yes\s+-\s+2\/2$/m);
		const pools = await lb("pools", "--json");
		expect((JSON.parse(pools.stdout) as { id: string }[]).map((pool) => pool.id)).toEqual(["main"]);
		// A read changes nothing: --dry-run is taken and the answer is the same.
		expect((await lb("pools", "--dry-run")).stdout).toBe(listed.stdout);

		const origins = await lb("origins", "main");
		expect(origins.code, origins.stderr).toBe(0);
		expect(origins.stdout).toMatch(new RegExp(`^a\\s+${a.url}\\s+1\\s+yes$`, "m"));
		expect(origins.stdout).toMatch(new RegExp(`^b\\s+${b.url}\\s+1\\s+yes$`, "m"));
		const originsJson = await lb("origins", "main", "--json");
		expect((JSON.parse(originsJson.stdout) as { name: string }[]).map((origin) => origin.name)).toEqual(["a", "b"]);

		const lbs = await lb("lbs");
		expect(lbs.code, lbs.stderr).toBe(0);
		expect(lbs.stdout).toMatch(/^localhost\s+[0-9a-f]{32}\s+yes\s+main\s+main\s+-$/m);
		const lbsJson = JSON.parse((await lb("lbs", "--json")).stdout) as { name: string; id: string }[];
		expect(lbsJson.map((item) => item.name)).toEqual(["localhost"]);
		expect(lbsJson[0]?.id).toMatch(/^[0-9a-f]{32}$/);

		const unknown = await lb("origins", "nope");
		expect(unknown.code).toBe(1);
		expect(unknown.stderr).toContain("error 1002");
	});

	it("adds and removes an origin, dry runs storing nothing; real traffic follows", async () => {
		const c = await startOrigin({ name: "c" });
		try {
			const before = await version();
			const dry = await lb("origins", "add", "main", "c", c.url, "--weight", "1", "--dry-run");
			expect(dry.code, dry.stderr).toBe(0);
			expect(dry.stdout).toMatch(/^dry run: would add origin main\/c \(nothing stored\)$/m);
			expect(dry.stdout).toMatch(/^\+ origin main\/c$/m);
			const dryJson = JSON.parse((await lb("origins", "add", "main", "c", c.url, "--dry-run", "--json")).stdout) as {
				dry_run: boolean;
				result: { name: string; address: string };
			};
			expect(dryJson).toMatchObject({ dry_run: true, result: { name: "c", address: c.url } });
			expect(await version()).toBe(before);

			const added = await lb("origins", "add", "main", "c", c.url, "--weight", "1");
			expect(added.code, added.stderr).toBe(0);
			expect(added.stdout).toMatch(/^added origin main\/c$/m);
			expect(added.stdout).toMatch(/^\+ origin main\/c$/m);
			// Three loopback origins now, one note.
			expect(added.stdout.split("\n").filter((line) => line.includes("IP address"))).toHaveLength(1);
			expect(await version()).toBe(before + 1);
			const served = await sendMany(30);
			expect(served.filter((origin) => origin === "c")).toHaveLength(10);
			expect(c.received.filter((request) => request.url.startsWith("/cli?"))).toHaveLength(10);

			const dryRemove = await lb("origins", "remove", "main", "c", "--dry-run");
			expect(dryRemove.code, dryRemove.stderr).toBe(0);
			expect(dryRemove.stdout).toMatch(/^dry run: would remove origin main\/c \(nothing stored\)$/m);
			expect(dryRemove.stdout).toMatch(/^- origin main\/c$/m);
			expect(await version()).toBe(before + 1);
			const removed = JSON.parse((await lb("origins", "remove", "main", "c", "--json")).stdout) as {
				dry_run: boolean;
				changes: unknown[];
			};
			expect(removed.dry_run).toBe(false);
			expect(removed.changes).toContainEqual({ kind: "origin", id: "main/c", change: "removed" });
			const seenByC = c.received.length;
			expect(await sendMany(10)).not.toContain("c");
			expect(c.received.length).toBe(seenByC);
		} finally {
			await c.close();
		}
	});

	it("refuses missing arguments and a bad weight with exit 2 and the command's usage", async () => {
		const missing = await lb("origins", "add", "main", "c");
		expect(missing.code).toBe(2);
		expect(missing.stderr).toContain("origins add needs a pool id, an origin name and an address");
		expect(missing.stderr).toContain("usage: npm run lb -- origins add <pool> <name> <address>");
		const weight = await lb("origins", "add", "main", "c", "http://c.example", "--weight", "heavy");
		expect(weight.code).toBe(2);
		expect(weight.stderr).toContain('--weight must be a number, got "heavy"');
		const noPool = await lb("origins");
		expect(noPool.code).toBe(2);
		expect(noPool.stderr).toContain("usage: npm run lb -- origins <pool>");
	});

	it("--help for every command exits 0 with that command's usage; an unknown one exits 2", async () => {
		const commands = ["apply", "get", "status", "pools", "origins", "origins add", "origins remove", "lbs"];
		commands.push("drain", "enable", "events", "rotate-affinity-key", "registrations");
		for (const command of commands) {
			const run = await lb(...command.split(" "), "--help");
			expect(run.code, command).toBe(0);
			expect(run.stderr).toBe("");
			expect(run.stdout.startsWith(`usage: npm run lb -- ${command} `), run.stdout).toBe(true);
		}
		const help = await lb("help", "origins", "remove");
		expect(help.code).toBe(0);
		expect(help.stdout.startsWith("usage: npm run lb -- origins remove <pool> <name>")).toBe(true);
		const all = await lb("--help");
		expect(all.code).toBe(0);
		for (const command of commands) expect(all.stdout).toContain(`  ${command}`);
		const unknown = await lb("frobnicate", "--help");
		expect(unknown.code).toBe(2);
		expect(unknown.stderr).toContain('unknown command "frobnicate"');
	});

	it("takes an empty SWITCHYARD_URL (or SWITCHYARD_TOKEN) as unset", async () => {
		// The CLI copied to a folder of its own, so no .dev.vars but the one written here is read, with
		// fetch replaced by one that reports the URL and token it was given and reaches nothing.
		const root = mkdtempSync(join(tmpdir(), "switchyard-lb-cli-root-"));
		try {
			for (const file of ["scripts/lb.ts", "scripts/lb-client.ts", "scripts/lb-objects.ts", "demo/dev-vars.ts"]) {
				mkdirSync(dirname(join(root, file)), { recursive: true });
				copyFileSync(join(PROJECT_ROOT, file), join(root, file));
			}
			writeFileSync(join(root, "package.json"), '{ "type": "module" }\n');
			const stub = join(root, "fetch-stub.mjs");
			writeFileSync(
				stub,
				`globalThis.fetch = async (url, init) => {
					process.stderr.write("fetch " + url + " " + new Headers(init?.headers).get("authorization") + "\\n");
					throw new TypeError("fetch failed", { cause: { code: "STUBBED" } });
				};\n`,
			);
			const run = (vars: Record<string, string | undefined>, ...args: string[]) =>
				nodeWith(vars, "--import", pathToFileURL(stub).href, join(root, "scripts/lb.ts"), ...args);

			for (const url of [undefined, ""]) {
				const result = await run({ SWITCHYARD_URL: url, SWITCHYARD_TOKEN: url }, "status", "--token", TOKEN);
				expect(result.code, `SWITCHYARD_URL ${JSON.stringify(url)}`).toBe(1);
				expect(result.stderr).toBe(
					`fetch http://localhost:8787/_lb/api/status Bearer ${TOKEN}\ncannot reach http://localhost:8787: STUBBED\n`,
				);
			}
			// An empty token with no --token is no token (exit 2), not an empty Bearer…
			const noToken = await run({ SWITCHYARD_URL: "", SWITCHYARD_TOKEN: "" }, "pools");
			expect(noToken.code).toBe(2);
			expect(noToken.stderr).toContain("no admin token");
			// …and .dev.vars' token is taken instead, as when the variable is unset.
			writeFileSync(join(root, ".dev.vars"), "ADMIN_TOKEN=from-dev-vars\n");
			const fromFile = await run({ SWITCHYARD_URL: "", SWITCHYARD_TOKEN: "" }, "pools");
			expect(fromFile.code).toBe(1);
			expect(fromFile.stderr).toContain("fetch http://localhost:8787/_lb/api/pools Bearer from-dev-vars\n");
		} finally {
			rmSync(root, { recursive: true, force: true });
		}
	});
});
