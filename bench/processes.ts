/**
 * Every process and temp dir the benchmark creates is registered here, so that the end of the run,
 * an error or Ctrl-C stops and removes all of them. Each child runs in its own process group
 * (detached), and is stopped by signalling that group by PID: never by name.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface Child {
	readonly name: string;
	readonly process: ChildProcess;
	readonly exited: Promise<number | null>;
	/** Everything it printed so far (stdout and stderr), for error messages. */
	output(): string;
}

const children = new Set<Child>();
let interrupted = false;

/** True once Ctrl-C (or SIGTERM) arrived: failures of the children being stopped are expected then. */
export function wasInterrupted(): boolean {
	return interrupted;
}
const tempDirs = new Set<string>();

export function makeTempDir(prefix: string): string {
	const dir = mkdtempSync(join(tmpdir(), `switchyard-bench-${prefix}-`));
	tempDirs.add(dir);
	return dir;
}

/** Starts `command` in its own process group; stdout and stderr are collected, never inherited. */
export function startChild(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
	const proc = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
	let output = "";
	const collect = (chunk: Buffer) => {
		output = (output + chunk.toString()).slice(-64 * 1024);
	};
	proc.stdout?.on("data", collect);
	proc.stderr?.on("data", collect);
	const exited = new Promise<number | null>((resolve) => {
		proc.once("exit", (code) => resolve(code));
		proc.once("error", (error) => {
			output += String(error);
			resolve(null);
		});
	});
	const child: Child = { name, process: proc, exited, output: () => output };
	children.add(child);
	exited.then(() => children.delete(child));
	return child;
}

/** Runs a command to completion; rejects with its output when it fails. */
export async function runChild(name: string, command: string, args: string[], options: SpawnOptions = {}) {
	const child = startChild(name, command, args, options);
	const code = await child.exited;
	if (code !== 0) throw new Error(`${name} exited with ${code}:\n${child.output()}`);
	return child.output();
}

/** SIGTERM to the child's process group, SIGKILL after 3 s; resolves once it has exited. */
export async function stopChild(child: Child): Promise<void> {
	if (child.process.exitCode !== null || child.process.signalCode !== null) return;
	signalGroup(child, "SIGTERM");
	const forced = setTimeout(() => signalGroup(child, "SIGKILL"), 3_000);
	await child.exited;
	clearTimeout(forced);
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
	try {
		process.kill(-(child.process.pid as number), signal);
	} catch {
		// Already gone.
	}
}

/** Stops every child still running and removes every temp dir. Safe to call more than once. */
export async function cleanUp(): Promise<void> {
	await Promise.all([...children].map(stopChild));
	for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
	tempDirs.clear();
}

/** Ctrl-C and SIGTERM: clean up, then exit 130 / 143. */
export function cleanUpOnSignals(): void {
	for (const [signal, code] of [
		["SIGINT", 130],
		["SIGTERM", 143],
	] as const) {
		process.once(signal, () => {
			interrupted = true;
			process.stderr.write(`\n${signal}: stopping everything the benchmark started…\n`);
			cleanUp().finally(() => process.exit(code));
		});
	}
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects if `child` exits first. */
export async function waitForPort(port: number, child: Child, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (child.process.exitCode !== null) throw new Error(`${child.name} exited:\n${child.output()}`);
		if (await canConnect(port)) return;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new Error(`${child.name} did not listen on port ${port} within ${timeoutMs} ms:\n${child.output()}`);
}

function canConnect(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createConnection({ host: "127.0.0.1", port });
		socket.once("connect", () => {
			socket.destroy();
			resolve(true);
		});
		socket.once("error", () => resolve(false));
	});
}

/** A port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			const port = typeof address === "object" && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

/** The path of an executable on PATH (or in one of `extraDirs`), if there is one. */
export function findExecutable(name: string, extraDirs: string[] = []): string | undefined {
	const dirs = [...(process.env.PATH ?? "").split(delimiter), ...extraDirs].filter(Boolean);
	for (const dir of dirs) {
		const candidate = join(dir, name);
		try {
			accessSync(candidate, constants.X_OK);
			return candidate;
		} catch {
			// Not here.
		}
	}
	return undefined;
}
