/**
 * Starts the real `wrangler dev` for the demo and the end-to-end tests, on the project's own
 * Node 22 (the one running this file), and stops it and every process it started.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface WranglerDev {
	/** "http://127.0.0.1:<port>" */
	readonly url: string;
	readonly pid: number;
	/** Everything wrangler printed so far (stdout and stderr). */
	output(): string;
	/** Stops wrangler and the workerd it started (the whole process group); resolves once it exited. */
	stop(): Promise<void>;
}

export interface WranglerDevOptions {
	readonly port: number;
	/** Extra `--var NAME:VALUE` bindings, e.g. ADMIN_TOKEN for tests. */
	readonly vars?: Readonly<Record<string, string>>;
	/** Where local Durable Object state lives; defaults to wrangler's .wrangler/state. */
	readonly persistTo?: string;
	/** Milliseconds to wait for "Ready on"; default 60 s. */
	readonly readyTimeoutMs?: number;
	/** Called with every line wrangler prints (stdout and stderr), as it comes. */
	readonly onLine?: (line: string) => void;
}

function wranglerBin(): string {
	const require = createRequire(import.meta.url);
	return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
	const args = [
		wranglerBin(),
		"dev",
		"--ip",
		"127.0.0.1",
		"--port",
		String(options.port),
		"--test-scheduled",
		"--show-interactive-dev-session=false",
	];
	for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
	if (options.persistTo) args.push("--persist-to", options.persistTo);

	const child = spawn(process.execPath, args, {
		cwd: PROJECT_ROOT,
		// Its own process group, so stop() reaches workerd too, and Ctrl-C reaches it only through us.
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", NO_COLOR: "1" },
	});
	let output = "";
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	const ready = new Promise<void>((resolve, reject) => {
		let partial = "";
		const onData = (chunk: Buffer) => {
			const text = chunk.toString();
			output += text;
			const lines = (partial + text).split("\n");
			partial = lines.pop() ?? "";
			for (const line of lines) options.onLine?.(line);
			if (/Ready on https?:\/\//.test(output)) resolve();
		};
		child.stdout?.on("data", onData);
		child.stderr?.on("data", onData);
		child.once("exit", (code) =>
			reject(new Error(`wrangler dev exited (code ${code}) before it was ready:\n${output}`)),
		);
		const timeoutMs = options.readyTimeoutMs ?? 60_000;
		setTimeout(
			() => reject(new Error(`wrangler dev was not ready within ${timeoutMs} ms:\n${output}`)),
			timeoutMs,
		).unref();
	});

	const stop = async () => {
		if (child.exitCode !== null || child.signalCode !== null) return;
		killGroup(child, "SIGTERM");
		const forced = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
		await exited;
		clearTimeout(forced);
	};
	try {
		await ready;
	} catch (error) {
		await stop();
		throw error;
	}
	return { url: `http://127.0.0.1:${options.port}`, pid: child.pid as number, output: () => output, stop };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
	try {
		process.kill(-(child.pid as number), signal);
	} catch {
		// Already gone.
	}
}
