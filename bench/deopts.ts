/**
 * `npm run bench:deopts`: how steady V8's optimized code stays under load. Each target runs under
 * workerd with V8's `--trace-opt` and `--trace-deopt`, takes wrk's load (as `npm run bench` does:
 * a warm-up, then the measured stretch), and the traces of the measured stretch are counted per
 * function: compilations by tier, deoptimizations and their reasons (and V8's `--trace-gc`: garbage
 * collections by kind, with their pauses). Code thrown away and made
 * again while requests keep coming is CPU that a request pays for (a compilation, then a stretch
 * of slower code) and that no CPU profile names as such; the instruction count
 * (bench/instructions.ts) sees it, at Valgrind's slow clock. A steady Worker compiles nothing and
 * deoptimizes nothing once warm. Keeps each target's traces in bench-results/deopts-<target>.log.
 *
 *   node bench/deopts.ts [--targets floor,switchyard-rr-isolate] [--connections 50] [--warmup 2] [--seconds 10]
 *
 * Targets: floor, floor-lean, floor-rpc, and Switchyard's rows over round robin: switchyard-rr (colo),
 * switchyard-rr-global, switchyard-rr-isolate. Needs wrk.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runLoad } from "./load.ts";
import { cleanUp, cleanUpOnSignals, findExecutable, wasInterrupted } from "./processes.ts";
import { configureSwitchyard } from "./switchyard.ts";
import { prepareTargets, SWITCHYARD_SCOPES, targetOptions } from "./target-options.ts";
import { startWorkerd } from "./workerd.ts";

const { values } = parseArgs({
	options: {
		targets: { type: "string", default: "floor,switchyard-rr-isolate" },
		connections: { type: "string", default: "50" },
		warmup: { type: "string", default: "2" },
		seconds: { type: "string", default: "10" },
	},
});
const log = (line: string) => process.stderr.write(`${line}\n`);
const TOKEN = "bench-deopts";
const MEASURED_FROM = "--- bench:deopts: measured stretch starts ---";

/** What the traces say of one function. */
export interface FunctionTrace {
	/** Compilations started, by tier (MAGLEV, TURBOFAN_JS). */
	readonly compiled: Record<string, number>;
	/** Deoptimizations: bailouts of running code, and code marked for deoptimization, by reason. */
	readonly deopts: Record<string, number>;
}

const BAILOUT = /^\[bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing .*?<JSFunction ([^ >]*) ?\(sfi/;
const MARKED = /^\[marking dependent code .*?<SharedFunctionInfo ?([^>]*)>\) .*for deoptimization, reason: (.*)\]$/;
const COMPILING = /^\[compiling method .*?<JSFunction ([^ >]*) ?\(sfi.*\(target ([A-Z_]+)\)/;

/** Garbage collections of one kind (Scavenge, Mark-Compact…): how many, and their pauses in ms. */
export interface Collections {
	readonly count: number;
	readonly pauseMs: number;
}

const GC =
	/ms: ([A-Za-z-]+(?: [A-Za-z-]+)?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/;

/** Counts V8's --trace-gc lines by kind. Pure. */
export function countCollections(text: string): Map<string, Collections> {
	const byKind = new Map<string, Collections>();
	for (const line of text.split("\n")) {
		const match = GC.exec(line);
		if (!match) continue;
		const kind = match[1] as string;
		const before = byKind.get(kind) ?? { count: 0, pauseMs: 0 };
		byKind.set(kind, { count: before.count + 1, pauseMs: before.pauseMs + Number(match[2]) });
	}
	return byKind;
}

/** Counts V8's --trace-opt and --trace-deopt lines per function. Pure. */
export function countTraces(text: string): Map<string, FunctionTrace> {
	const byFunction = new Map<string, FunctionTrace>();
	const of = (name: string): FunctionTrace => {
		const key = name === "" ? "(anonymous)" : name;
		let trace = byFunction.get(key);
		if (!trace) {
			trace = { compiled: {}, deopts: {} };
			byFunction.set(key, trace);
		}
		return trace;
	};
	const bump = (record: Record<string, number>, key: string) => {
		record[key] = (record[key] ?? 0) + 1;
	};
	for (const raw of text.split("\n")) {
		const line = raw.trim();
		const bailout = BAILOUT.exec(line);
		if (bailout) {
			bump(of(bailout[3] ?? "").deopts, `${bailout[1]}: ${bailout[2]}`);
			continue;
		}
		const marked = MARKED.exec(line);
		if (marked) {
			bump(of((marked[1] ?? "").trim()).deopts, `marked: ${marked[2]}`);
			continue;
		}
		const compiling = COMPILING.exec(line);
		if (compiling) bump(of(compiling[1] ?? "").compiled, compiling[2] ?? "?");
	}
	return byFunction;
}

const sum = (record: Record<string, number>) => Object.values(record).reduce((total, count) => total + count, 0);

async function main(): Promise<void> {
	const wrk = findExecutable("wrk");
	if (!wrk) {
		log("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk");
		process.exitCode = 2;
		return;
	}
	cleanUpOnSignals();
	const { targets, bundles, origins, results } = await prepareTargets(values.targets);
	const connections = Number(values.connections);
	const warmupS = Number(values.warmup);
	const durationS = Number(values.seconds);
	log(`machine: ${new Date().toUTCString()}; ${warmupS} s warm-up, then ${durationS} s at ${connections} connections`);
	for (const target of targets) {
		let printed = "";
		const workerd = await startWorkerd({
			name: `deopts-${target}`,
			...targetOptions(target, bundles, origins, TOKEN),
			v8Flags: ["--trace-opt", "--trace-deopt", "--trace-gc"],
			onOutput: (text) => {
				printed += text;
			},
		});
		try {
			const scope = SWITCHYARD_SCOPES[target];
			if (scope) await configureSwitchyard(workerd.url, TOKEN, "round_robin", origins, scope);
			const load = { wrk, url: workerd.url, connections, warmupS: 0 };
			await runLoad({ ...load, durationS: warmupS });
			printed += `\n${MEASURED_FROM}\n`;
			const measured = await runLoad({ ...load, durationS });
			const stretch = printed.slice(printed.lastIndexOf(MEASURED_FROM));
			writeFileSync(join(results, `deopts-${target}.log`), printed);
			const traces = [...countTraces(stretch)].sort(
				([, a], [, b]) => sum(b.deopts) + sum(b.compiled) - sum(a.deopts) - sum(a.compiled),
			);
			const deopts = traces.reduce((total, [, trace]) => total + sum(trace.deopts), 0);
			const compiled = traces.reduce((total, [, trace]) => total + sum(trace.compiled), 0);
			process.stdout.write(
				`\n${target}: ${measured.requests} requests in ${durationS} s; ${compiled} compilations, ${deopts} deoptimizations\n`,
			);
			const collections = [...countCollections(stretch)].map(
				([kind, { count, pauseMs }]) => `${count} ${kind} (${pauseMs.toFixed(1)} ms)`,
			);
			process.stdout.write(`  garbage collections: ${collections.join(", ") || "none"}\n`);
			for (const [name, trace] of traces.slice(0, 25)) {
				const tiers = Object.entries(trace.compiled).map(([tier, count]) => `${count}×${tier}`);
				const reasons = Object.entries(trace.deopts).map(([reason, count]) => `${count}× ${reason}`);
				process.stdout.write(
					`  ${name.padEnd(28)} compiled ${(tiers.join(", ") || "-").padEnd(26)} deopts ${reasons.join("; ") || "-"}\n`,
				);
			}
		} finally {
			await workerd.stop();
		}
	}
}

try {
	await main();
} catch (error) {
	if (!wasInterrupted()) log(`bench:deopts: ${error instanceof Error ? error.message : String(error)}`);
	process.exitCode = 1;
} finally {
	await cleanUp();
}
