/**
 * `npm run bench:profile`: where does one target spend its CPU under load? Starts the target under
 * workerd with the V8 inspector on a loopback port, warms it up with wrk, then records a sampling
 * CPU profile of the Worker's isolate (Durable Objects included: they share it) through the
 * inspector protocol while wrk runs. Writes the profile (open it in Chrome's DevTools or
 * speedscope) and prints the functions with the most samples, by self time and by total time.
 *
 *   node bench/profile.ts [--target switchyard-rr-isolate] [--connections 50] [--seconds 10]
 *                         [--interval-us 100] [--top 30] [--out bench-results/…cpuprofile]
 *
 * Targets: bare, floor, floor-rpc, and Switchyard's rows (switchyard-rr, -lc, -p2c, -rr-global,
 * -rr-isolate), configured as `npm run bench` configures them.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { bundleReference, bundleSwitchyard, compatibilityDate, compatibilityFlags, PROJECT_ROOT } from "./bundle.ts";
import { requireWrk, runLoad } from "./load.ts";
import { startOrigins } from "./origins.ts";
import { cleanUp, cleanUpOnSignals, freePort, wasInterrupted } from "./processes.ts";
import { type CpuProfile, summarise } from "./profile-summary.ts";
import { configureSwitchyard } from "./switchyard.ts";
import { POLICIES } from "./targets.ts";
import { durableObjectsOf, startWorkerd } from "./workerd.ts";

const { values } = parseArgs({
	options: {
		target: { type: "string", default: "switchyard-rr-isolate" },
		connections: { type: "string", default: "50" },
		seconds: { type: "string", default: "10" },
		"interval-us": { type: "string", default: "100" },
		top: { type: "string", default: "30" },
		out: { type: "string" },
		/** Balance over (the references: take in turn) the first N origins; default: all of them. */
		origins: { type: "string" },
	},
});
const log = (line: string) => process.stderr.write(`${line}\n`);

/** A minimal inspector-protocol client: one request at a time, answers matched by id. */
class Inspector {
	private nextId = 1;
	private readonly pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();
	private readonly socket: WebSocket;
	private constructor(socket: WebSocket) {
		this.socket = socket;
		socket.on("message", (data) => {
			const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: unknown };
			if (message.id !== undefined) this.pending.get(message.id)?.(message);
		});
	}

	static async connect(url: string): Promise<Inspector> {
		const socket = new WebSocket(url);
		await new Promise<void>((resolve, reject) => {
			socket.once("open", () => resolve());
			socket.once("error", reject);
		});
		return new Inspector(socket);
	}

	async send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
		const id = this.nextId++;
		const answer = new Promise<{ result?: unknown; error?: unknown }>((resolve) => this.pending.set(id, resolve));
		this.socket.send(JSON.stringify({ id, method, params }));
		const message = await answer;
		this.pending.delete(id);
		if (message.error) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
		return message.result as T;
	}

	close(): void {
		this.socket.close();
	}
}

/** The inspector's WebSocket address of the Worker service "main" (workerd lists it at /json/list). */
async function inspectorUrl(port: number): Promise<string> {
	const response = await fetch(`http://127.0.0.1:${port}/json/list`);
	const targets = (await response.json()) as { id?: string; webSocketDebuggerUrl?: string }[];
	const main = targets.find((target) => target.id === "main") ?? targets[0];
	if (!main?.webSocketDebuggerUrl) throw new Error(`the inspector lists no target: ${JSON.stringify(targets)}`);
	return main.webSocketDebuggerUrl.replace("localhost", "127.0.0.1");
}

async function startTarget(id: string, inspectorPort: number, origins: Awaited<ReturnType<typeof startOrigins>>) {
	const date = compatibilityDate();
	const flags = compatibilityFlags();
	const used = origins.slice(0, values.origins === undefined ? origins.length : Number(values.origins));
	const reference = { bare: "bare.ts", floor: "floor.ts", "floor-rpc": "floor.ts" }[id];
	if (reference) {
		const bundle = await bundleReference(reference);
		return startWorkerd({
			name: id,
			modulePath: bundle.modulePath,
			compatibilityDate: date,
			compatibilityFlags: flags,
			text: { ORIGIN: used.map((origin) => origin.url).join(",") },
			inspectorPort,
			...(id === "floor-rpc" ? { durableObjects: [{ className: "Noop", binding: "NOOP" }] } : {}),
		});
	}
	const row = POLICIES.find((policy) => policy.id === id);
	if (!row) throw new Error(`unknown target ${id}: bare, floor, floor-rpc, ${POLICIES.map((p) => p.id).join(", ")}`);
	const bundle = await bundleSwitchyard();
	const token = randomBytes(24).toString("hex");
	const server = await startWorkerd({
		name: id,
		modulePath: bundle.modulePath,
		compatibilityDate: date,
		compatibilityFlags: flags,
		text: { ADMIN_TOKEN: token, ADMIN_HOSTNAMES: "localhost,127.0.0.1" },
		durableObjects: durableObjectsOf(PROJECT_ROOT),
		inspectorPort,
	});
	await configureSwitchyard(server.url, token, row.policy, used, row.scope);
	return server;
}

async function main(): Promise<void> {
	const wrk = requireWrk(log);
	if (!wrk) return;
	cleanUpOnSignals();
	const target = values.target as string;
	const connections = Number(values.connections);
	const out = values.out ?? join(PROJECT_ROOT, "bench-results", `profile-${target}-${connections}c.cpuprofile`);
	const origins = await startOrigins();
	const inspectorPort = await freePort();
	const server = await startTarget(target, inspectorPort, origins);
	const load = { wrk, url: server.url, connections, pid: server.child.process.pid };
	log(`${target}: warming up…`);
	await runLoad({ ...load, durationS: 3, warmupS: 0 });
	const inspector = await Inspector.connect(await inspectorUrl(inspectorPort));
	await inspector.send("Profiler.enable");
	await inspector.send("Profiler.setSamplingInterval", { interval: Number(values["interval-us"]) });
	await inspector.send("Profiler.start");
	log(`${target}: profiling ${values.seconds} s at ${connections} connections…`);
	const result = await runLoad({ ...load, durationS: Number(values.seconds), warmupS: 0 });
	const { profile } = await inspector.send<{ profile: CpuProfile }>("Profiler.stop");
	inspector.close();
	mkdirSync(dirname(out), { recursive: true });
	writeFileSync(out, JSON.stringify(profile));
	const cpu = result.cpuUsPerRequest === undefined ? "" : `, ${result.cpuUsPerRequest.toFixed(0)} µs CPU/req`;
	process.stdout.write(
		`${target} at ${connections} connections: ${result.requestsPerS.toFixed(0)} req/s${cpu} (profiler on), p50 ${result.p50Ms.toFixed(3)} ms\n`,
	);
	process.stdout.write(`${summarise(profile, Number(values.top))}\nprofile written to ${out}\n`);
}

try {
	await main();
} catch (error) {
	if (!wasInterrupted()) log(`bench:profile: ${error instanceof Error ? error.stack : String(error)}`);
	process.exitCode = 1;
} finally {
	await cleanUp();
}
