/**
 * The README's first command, tested: the demo launcher (what `npm run dev` runs) starts three
 * origins and wrangler dev, loads its configuration, rotates requests over the three origins, and
 * stops every process it started on SIGINT (Ctrl-C), exiting 0; restarted on its persisted state, its
 * banner shows what the state holds (a drained origin).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startOrigin } from "../../demo/origin.ts";
import { PROJECT_ROOT } from "../../demo/wrangler-dev.ts";
import { freePort } from "../support/ports.ts";

/** A GET with a Host header of our choosing (fetch does not let one set Host). */
function get(
	port: number,
	host: string,
	headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
	return new Promise((resolve, reject) => {
		const request = httpRequest({ host: "127.0.0.1", port, path: "/", headers: { ...headers, host } }, (response) => {
			response.resume();
			response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
		});
		request.on("error", reject);
		request.end();
	});
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

const devVars = join(PROJECT_ROOT, ".dev.vars");
const hadDevVars = existsSync(devVars);
const stateDir = mkdtempSync(join(tmpdir(), "switchyard-demo-e2e-"));
let launcher: ChildProcess | undefined;

afterAll(() => {
	if (launcher && launcher.exitCode === null) launcher.kill("SIGKILL");
	if (!hadDevVars) rmSync(devVars, { force: true });
	rmSync(stateDir, { recursive: true, force: true });
});

/** Starts the launcher on `port` with the test's state directory; resolves once its banner is out. */
async function launch(port: number): Promise<{ output: () => string; exited: Promise<number | null> }> {
	launcher = spawn(
		process.execPath,
		["demo/launch.ts", "--port", String(port), "--origin-port", "0", "--persist-to", stateDir],
		{
			cwd: PROJECT_ROOT,
			stdio: ["ignore", "pipe", "pipe"],
		},
	);
	let output = "";
	const exited = new Promise<number | null>((resolve) => launcher?.once("exit", (code) => resolve(code)));
	await new Promise<void>((resolve, reject) => {
		const onData = (chunk: Buffer) => {
			output += chunk.toString();
			if (output.includes("Ctrl-C stops everything")) resolve();
		};
		launcher?.stdout?.on("data", onData);
		launcher?.stderr?.on("data", onData);
		void exited.then((code) => reject(new Error(`the launcher exited (${code}) before it was ready:\n${output}`)));
	});
	return { output: () => output, exited };
}

describe("npm run dev (demo/launch.ts)", () => {
	it("serves the demo, rotating over three origins, and stops everything on Ctrl-C", async () => {
		const port = await freePort();
		const { output: read, exited } = await launch(port);
		const output = read();
		expect(existsSync(devVars)).toBe(true);
		expect(output).toMatch(/over three origins \(configuration version \d+\)\.\n/);
		expect(output).toMatch(/origin-2 http:\/\/127\.0\.0\.1:\d+ \(pid \d+\) {2}healthy/);

		const servedBy: (string | null)[] = [];
		for (let i = 0; i < 6; i++) {
			const response = await fetch(`http://localhost:${port}/`);
			expect(response.status).toBe(200);
			servedBy.push(response.headers.get("x-switchyard-origin"));
			await response.arrayBuffer();
		}
		expect(new Set(servedBy)).toEqual(new Set(["origin-1", "origin-2", "origin-3"]));

		// geo.localhost: proximity steering, the visitor's place from the dev-only headers.
		const servedAt = async (lat: number, lon: number) => {
			const { status, headers } = await get(port, "geo.localhost", {
				"x-switchyard-dev-lat": String(lat),
				"x-switchyard-dev-lon": String(lon),
			});
			expect(status).toBe(200);
			return headers["x-switchyard-pool"];
		};
		expect(await servedAt(50.1, 8.7)).toBe("demo-eu"); // Frankfurt
		expect(await servedAt(1.3, 103.8)).toBe("demo-ap"); // Singapore
		expect(await servedAt(40.7, -74.0)).toBe("demo-us"); // New York

		const originPids = [...output.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
		expect(originPids).toHaveLength(3);

		// The banner's agent line (issue 22): a fourth origin registers itself into the demo pool, with
		// the ADMIN_TOKEN of .dev.vars, takes traffic once checked, and deregisters when stopped.
		expect(output).toContain(`npm run agent -- --url http://localhost:${port} --pool demo --name origin-4`);
		const fourth = await startOrigin({ name: "origin-4" });
		const agent = spawn(
			process.execPath,
			["scripts/agent.ts", "--url", `http://localhost:${port}`, "--pool", "demo", "--name", "origin-4"].concat([
				"--address",
				fourth.url,
				"--ttl",
				"9",
			]),
			{ cwd: PROJECT_ROOT, stdio: "ignore" },
		);
		const agentExited = new Promise<number | null>((resolve) => agent.once("exit", (code) => resolve(code)));
		try {
			await expect
				.poll(
					async () => {
						const response = await fetch(`http://localhost:${port}/`);
						await response.arrayBuffer();
						return response.headers.get("x-switchyard-origin");
					},
					{ interval: 100, timeout: 20_000 },
				)
				.toBe("origin-4");
			agent.kill("SIGTERM");
			expect(await agentExited).toBe(0);
		} finally {
			if (agent.exitCode === null) agent.kill("SIGKILL");
			await fourth.close();
		}

		launcher?.kill("SIGINT");
		expect(await exited).toBe(0);
		for (const pid of originPids) expect(isAlive(pid)).toBe(false);
		await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
	});

	it("shows a drain kept from an earlier run in its banner (issue 14, item 7)", async () => {
		const port = await freePort();
		const first = await launch(port);
		const token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1] ?? "";
		const drain = await fetch(`http://127.0.0.1:${port}/_lb/api/pools/demo/origins/origin-2/drain`, {
			method: "POST",
			headers: { authorization: `Bearer ${token}` },
		});
		expect(drain.status).toBe(200);
		await drain.arrayBuffer();
		launcher?.kill("SIGINT");
		expect(await first.exited).toBe(0);

		const second = await launch(port);
		const output = second.output();
		expect(output).toMatch(
			/over three origins \(configuration version \d+\) — 1 of 3 not taking new traffic: origin-2\./,
		);
		expect(output).toMatch(/origin-2 http:\/\/127\.0\.0\.1:\d+ \(pid \d+\) {2}draining since \d{4}-/);
		expect(output).toMatch(/origin-1 http:\/\/127\.0\.0\.1:\d+ \(pid \d+\) {2}healthy/);
		launcher?.kill("SIGINT");
		expect(await second.exited).toBe(0);
	});
});
