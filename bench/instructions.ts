/**
 * `npm run bench:instructions`: instructions per request, counted by Valgrind (callgrind) rather
 * than timed. CPU time per request swings by ±10 µs between runs on this machine
 * (docs/benchmarks.md), as much as the changes it is asked to judge; an instruction count repeats
 * to about 1%. Each target runs under workerd inside callgrind with counting off; after a warm-up
 * (the JIT settles: 30,000 requests by default), counting goes on for `--requests` requests sent
 * one at a time from this process, and the count is read. The Durable Objects run in the same
 * process and are counted, as the timed benchmark counts their CPU. What it does not see is what
 * cache misses cost, and Valgrind's slower clock changes whatever is per second rather than per
 * request (a batch a second is shared by fewer requests): a figure to compare code paths by,
 * beside the timed benchmark, not instead of it. Keeps each target's callgrind file in
 * bench-results/ (`callgrind_annotate` reads it), and what workerd printed, the counted stretch marked, beside it.
 *
 *   node bench/instructions.ts [--targets floor,switchyard-rr-isolate] [--warmup 30000] [--requests 2000]
 *                              [--v8-flags --no-maglev,…]
 *
 * Targets: floor, floor-lean (bench/lean.ts), floor-rpc (floor and one no-op Durable Object call), and Switchyard's rows as `npm run bench` configures
 * them over round robin: switchyard-rr (colo), switchyard-rr-global, switchyard-rr-isolate.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "./bundle.ts";
import {
	cleanUp,
	cleanUpOnSignals,
	findExecutable,
	freePort,
	makeTempDir,
	startChild,
	wasInterrupted,
} from "./processes.ts";
import { configureSwitchyard } from "./switchyard.ts";
import { prepareTargets, SWITCHYARD_SCOPES, targetOptions } from "./target-options.ts";
import { toCapnpConfig, type WorkerdOptions } from "./workerd.ts";

const { values } = parseArgs({
	options: {
		targets: { type: "string", default: "floor,switchyard-rr-isolate" },
		warmup: { type: "string", default: "30000" },
		requests: { type: "string", default: "2000" },
		/** V8 flags for workerd, comma-separated (its config's v8Flags): how the JIT's tiers change the count. */
		"v8-flags": { type: "string" },
	},
});
const log = (line: string) => process.stderr.write(`${line}\n`);
const TOKEN = "bench-instructions";

/** Runs `command` to completion; rejects with its output when it fails. */
function run(command: string, args: string[]): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
		let output = "";
		child.stdout.on("data", (chunk) => {
			output += chunk;
		});
		child.stderr.on("data", (chunk) => {
			output += chunk;
		});
		child.on("error", reject);
		child.on("close", (code) =>
			code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")}: exit ${code}: ${output}`)),
		);
	});
}

/** `count` requests, one at a time; every answer must be a 200. */
async function send(url: string, count: number): Promise<void> {
	for (let i = 0; i < count; i++) {
		const response = await fetch(url);
		await response.arrayBuffer();
		if (response.status !== 200) throw new Error(`${url}: ${response.status} at request ${i + 1}`);
	}
}

/** Waits for the server under Valgrind (it starts some 20 times slower than without). */
async function waitUp(url: string): Promise<void> {
	const deadline = Date.now() + 120_000;
	for (;;) {
		try {
			await (await fetch(url)).arrayBuffer();
			return;
		} catch (error) {
			if (Date.now() > deadline) throw new Error(`${url} did not come up under Valgrind: ${String(error)}`);
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
	}
}

async function main(): Promise<void> {
	if (!findExecutable("valgrind") || !findExecutable("callgrind_control")) {
		log("valgrind is not installed. On Debian/Ubuntu: sudo apt-get install -y valgrind");
		process.exitCode = 2;
		return;
	}
	cleanUpOnSignals();
	const { targets, bundles, origins, results } = await prepareTargets(values.targets);
	const warmup = Number(values.warmup);
	const requests = Number(values.requests);
	log(`machine: ${new Date().toUTCString()}; warm-up ${warmup} requests, then ${requests} counted, one at a time`);
	for (const target of targets) {
		const reference = target.startsWith("floor");
		const bundle = reference ? bundles.floor : bundles.switchyard;
		const dir = makeTempDir(`instructions-${target}`);
		const moduleName = basename(bundle.modulePath);
		copyFileSync(bundle.modulePath, join(dir, moduleName));
		mkdirSync(join(dir, "do"));
		const port = await freePort();
		const options: WorkerdOptions = {
			name: target,
			...targetOptions(target, bundles, origins, TOKEN),
			v8Flags: values["v8-flags"]?.split(",").filter((flag) => flag !== ""),
		};
		writeFileSync(join(dir, "config.capnp"), toCapnpConfig(options, moduleName, port, join(dir, "do")));
		const child = startChild(
			`callgrind (${target})`,
			"valgrind",
			[
				"--tool=callgrind",
				"--instr-atstart=no",
				// V8 writes and rewrites machine code: Valgrind must notice code that changes.
				"--smc-check=all-non-file",
				`--callgrind-out-file=${join(dir, "callgrind.out")}`,
				join(PROJECT_ROOT, "node_modules", ".bin", "workerd"),
				"serve",
				join(dir, "config.capnp"),
				"config",
			],
			{ cwd: dir },
		);
		// Everything workerd prints, with the counted stretch marked (V8's traces, with --v8-flags).
		let printed = "";
		const keep = (chunk: Buffer) => {
			printed += chunk.toString();
		};
		child.process.stdout?.on("data", keep);
		child.process.stderr?.on("data", keep);
		const url = `http://127.0.0.1:${port}`;
		await waitUp(`${url}/`);
		const scope = SWITCHYARD_SCOPES[target];
		if (scope) await configureSwitchyard(url, TOKEN, "round_robin", origins, scope);
		log(`${target}: warming up (${warmup} requests)…`);
		await send(`${url}/`, warmup);
		const pid = String(child.process.pid);
		await run("callgrind_control", ["--instr=on", pid]);
		log(`${target}: counting ${requests} requests…`);
		printed += "\n--- bench:instructions: counting starts ---\n";
		await send(`${url}/`, requests);
		await run("callgrind_control", ["--dump", pid]);
		printed += "\n--- bench:instructions: counting ends ---\n";
		await run("callgrind_control", ["--instr=off", pid]);
		const dumps = readdirSync(dir).filter((file) => file.startsWith("callgrind.out"));
		let total = 0;
		let kept: string | undefined;
		for (const file of dumps) {
			const match = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(join(dir, file), "utf8"));
			if (match && Number(match[1]) > total) {
				total = Number(match[1]);
				kept = file;
			}
		}
		if (!kept) throw new Error(`${target}: callgrind wrote no counts`);
		copyFileSync(join(dir, kept), join(results, `callgrind-${target}.out`));
		writeFileSync(join(results, `workerd-${target}.log`), printed);
		process.stdout.write(
			`${target.padEnd(22)}  ${(total / requests / 1000).toFixed(1).padStart(8)} thousand instructions per request\n`,
		);
	}
}

try {
	await main();
} catch (error) {
	if (!wasInterrupted()) log(`bench:instructions: ${error instanceof Error ? error.message : String(error)}`);
	process.exitCode = 1;
} finally {
	await cleanUp();
}
