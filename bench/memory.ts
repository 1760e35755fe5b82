/**
 * The memory benchmark (issue 16, item 3): how much heap one Worker isolate's own structures take
 * (the replica and its routing state, the isolate scope's counters, the affinity header cache, route
 * lanes, outcome batches, round-trip averages) for 20 load balancers × 10 pools × 50 origins
 * (10,000 origins), against a budget of 16 MiB. In Node, with --expose-gc: V8's heap, as in workerd,
 * measured as process.memoryUsage().heapUsed after full collections, before and after. The subject
 * (bench/memory-case.ts) is bundled like the reference Workers and imported here.
 *
 * Also checks that such a configuration can be the bundled seed: scripts/build-seed.mjs run on it as
 * switchyard.config.json (in a temp dir, never the repository's root), the document validated and
 * every stored row checked against the limit the authority applies (findOversizedRow), and the sizes
 * that matter on the way: the document, its gzip (the Worker bundle carries it), the generated module,
 * the replica's wire text. Part of `npm run bench` (alone: BENCH_ONLY=memory npm run bench); by itself:
 *
 *   node bench/memory.ts [--json] [--profile] [--requests 200]     (npm run bench:memory)
 *
 * It restarts itself with --expose-gc when started without. --profile adds two heap snapshots, before
 * the isolate and after its traffic (isolate scope), and prints what grew, by constructor.
 */
import { spawn } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { writeHeapSnapshot } from "node:v8";
import { gzipSync } from "node:zlib";
import { bundleReference, PROJECT_ROOT } from "./bundle.ts";
import { cleanUp, cleanUpOnSignals, makeTempDir, runChild, wasInterrupted } from "./processes.ts";
import { table } from "./report.ts";

/** BENCH_ONLY's name for this case. */
export const MEMORY_CASE = "memory";
/** The goal (issue 16, item 3). */
export const MEMORY_BUDGET_MIB = 16;
const MIB = 1024 * 1024;
/** The scopes measured: the default (a counter object per data center plans) and the isolate planning by itself. */
const SCOPES = ["colo", "isolate"] as const;
/** Requests sent to each load balancer, and how many of them at once. */
const DEFAULT_REQUESTS_PER_LB = 200;
const CONCURRENCY = 20;

interface MemoryModule {
	SHAPE: { loadBalancers: number; poolsPerLoadBalancer: number; originsPerPool: number };
	MAX_STORED_ROW_BYTES: number;
	memoryConfig(scope: string): unknown;
	checkSeed(json: string): {
		ok: boolean;
		errors: string[];
		messages: number;
		oversized?: string;
		origins: number;
		largestRowBytes: number;
	};
	authorityReplicaJson(json: string, now: number): string;
	parts: {
		replica(wire: string): unknown;
		config(replica: unknown): unknown;
		snapshot(config: unknown): unknown;
		routingState(replica: unknown): unknown;
		counterCore(replica: unknown): unknown;
	};
	counterFakes(wire: string, scope: string): unknown;
	isolateCase(fakes: unknown): {
		load(): Promise<void>;
		traffic(perLb: number, concurrency: number): Promise<{ ok: number; failed: number }>;
		settle(): Promise<void>;
		describe(): Record<string, number>;
	};
}

export interface SeedCheck {
	readonly ok: boolean;
	readonly origins: number;
	readonly documentBytes: number;
	readonly documentGzipBytes: number;
	/** scripts/build-seed.mjs's output for it (src/seed/seed.generated.ts), bytes. */
	readonly moduleBytes: number;
	readonly largestRowBytes: number;
	readonly maxRowBytes: number;
	/** Accepted, with this many messages (fields kept but not acted on, IP addresses, …). */
	readonly messages: number;
	readonly problems: string[];
}

export interface ScopeMemory {
	readonly scope: string;
	/** Replica as the hub sends it (JSON text), and its configuration text alone. */
	readonly replicaWireBytes: number;
	readonly configJsonBytes: number;
	/** Heap (bytes) over the baseline: wired with nothing loaded, replica installed, after traffic (batches still pending), settled. */
	readonly wiredBytes: number;
	readonly replicaBytes: number;
	readonly trafficBytes: number;
	readonly settledBytes: number;
	/** The most of the above: compared with the budget. */
	readonly peakBytes: number;
	readonly requests: number;
	readonly failed: number;
	readonly loadMs: number;
	readonly trafficMs: number;
	readonly calls: Record<string, number>;
}

/** The parts, weighed one at a time (bytes of heap each adds, the replica already held). */
export interface PartsMemory {
	/** The replica as delivered: the parsed wire text (its configuration still a string). */
	readonly replica: number;
	/** That configuration parsed and validated (zod's output, defaults filled in). */
	readonly config: number;
	/** The same configuration compiled for routing (toSnapshot). */
	readonly snapshot: number;
	/** A RoutingState that adopted the replica: its own configuration and snapshot, health, slow starts (ReplicaCache's). */
	readonly routingState: number;
	/** A CounterCore that adopted it: what the isolate scope adds per load balancer before any counting. */
	readonly counterCore: number;
	/** Milliseconds the RoutingState and the CounterCore took to adopt the replica (validation, compilation). */
	readonly routingStateMs: number;
	readonly counterCoreMs: number;
}

export interface MemoryReport {
	readonly shape: MemoryModule["SHAPE"];
	readonly node: string;
	readonly budgetMiB: number;
	readonly seed: SeedCheck;
	readonly scopes: ScopeMemory[];
	readonly parts: PartsMemory;
	readonly profile?: { constructor: string; count: number; bytes: number }[];
}

function gc(): void {
	const collect = (globalThis as { gc?: () => void }).gc;
	if (!collect) throw new Error("bench/memory: run with node --expose-gc");
	for (let i = 0; i < 4; i++) collect();
}

function heapUsed(): number {
	gc();
	return process.memoryUsage().heapUsed;
}

async function loadCase(): Promise<MemoryModule> {
	const bundle = await bundleReference("memory-case.ts");
	return (await import(pathToFileURL(bundle.modulePath).href)) as MemoryModule;
}

/** The seed path: build-seed.mjs on the document as switchyard.config.json in a temp dir, then the authority's checks. */
async function checkSeed(subject: MemoryModule): Promise<SeedCheck> {
	const dir = makeTempDir("memory-seed");
	// As an operator writes it: indented (compact JSON would be about a third smaller).
	const text = `${JSON.stringify(subject.memoryConfig("colo"), null, 2)}\n`;
	const input = join(dir, "switchyard.config.json");
	const output = join(dir, "seed.generated.ts");
	writeFileSync(input, text);
	await runChild("build-seed", process.execPath, [
		join(PROJECT_ROOT, "scripts", "build-seed.mjs"),
		"--input",
		input,
		"--output",
		output,
	]);
	const checked = subject.checkSeed(text);
	return {
		ok: checked.ok,
		origins: checked.origins,
		documentBytes: Buffer.byteLength(text),
		documentGzipBytes: gzipSync(text).length,
		moduleBytes: statSync(output).size,
		largestRowBytes: checked.largestRowBytes,
		maxRowBytes: subject.MAX_STORED_ROW_BYTES,
		messages: checked.messages,
		problems: [...checked.errors, ...(checked.oversized ? [checked.oversized] : [])],
	};
}

async function measureScope(
	subject: MemoryModule,
	scope: string,
	requestsPerLb: number,
	log: (line: string) => void,
	profile: boolean,
): Promise<{ memory: ScopeMemory; profile?: MemoryReport["profile"] }> {
	const json = JSON.stringify(subject.memoryConfig(scope));
	const wire = subject.authorityReplicaJson(json, Date.now());
	const configJsonBytes = Buffer.byteLength((JSON.parse(wire) as { configJson: string }).configJson);
	// The counter objects' side exists before anything is measured: it is not the isolate's memory.
	const fakes = subject.counterFakes(wire, scope);
	const before = profile ? snapshot("before") : undefined;
	const base = heapUsed();
	const isolate = subject.isolateCase(fakes);
	const wired = heapUsed() - base;
	let started = performance.now();
	await isolate.load();
	const loadMs = performance.now() - started;
	const replica = heapUsed() - base;
	started = performance.now();
	const sent = await isolate.traffic(requestsPerLb, CONCURRENCY);
	const trafficMs = performance.now() - started;
	const traffic = heapUsed() - base;
	await isolate.settle();
	const settled = heapUsed() - base;
	const after = profile ? snapshot("after") : undefined;
	const memory: ScopeMemory = {
		scope,
		replicaWireBytes: Buffer.byteLength(wire),
		configJsonBytes,
		wiredBytes: wired,
		replicaBytes: replica,
		trafficBytes: traffic,
		settledBytes: settled,
		peakBytes: Math.max(wired, replica, traffic, settled),
		requests: sent.ok + sent.failed,
		failed: sent.failed,
		loadMs,
		trafficMs,
		calls: isolate.describe(),
	};
	log(
		`memory, ${scope} scope: replica ${mib(replica)} MiB, after traffic ${mib(traffic)} MiB, settled ${mib(settled)} MiB (${memory.requests} requests, ${sent.failed} failed, ${trafficMs.toFixed(0)} ms)`,
	);
	return before && after ? { memory, profile: diffSnapshots(before, after) } : { memory };
}

/** Heap a value adds, built with everything before it still held. */
function weigh<T>(build: () => T): [number, T, number] {
	const base = heapUsed();
	const started = performance.now();
	const value = build();
	const ms = performance.now() - started;
	return [heapUsed() - base, value, ms];
}

function measureParts(subject: MemoryModule): PartsMemory {
	const wire = subject.authorityReplicaJson(JSON.stringify(subject.memoryConfig("isolate")), Date.now());
	const { parts } = subject;
	const [replica, held] = weigh(() => parts.replica(wire));
	const [config, validated] = weigh(() => parts.config(held));
	const [snapshot, compiled] = weigh(() => parts.snapshot(validated));
	const [routingState, routing, routingStateMs] = weigh(() => parts.routingState(held));
	const [counterCore, core, counterCoreMs] = weigh(() => parts.counterCore(held));
	// Held until every part was weighed.
	if ([held, validated, compiled, routing, core].some((part) => part === undefined)) throw new Error("no part");
	return { replica, config, snapshot, routingState, counterCore, routingStateMs, counterCoreMs };
}

/** A heap snapshot, summarised by constructor (self sizes), written to a temp dir and read back. */
function snapshot(name: string): Map<string, { count: number; bytes: number }> {
	gc();
	const file = writeHeapSnapshot(join(makeTempDir(`memory-${name}`), `${name}.heapsnapshot`));
	const data = JSON.parse(readFileSync(file, "utf8")) as {
		snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
		nodes: number[];
		strings: string[];
	};
	const fields = data.snapshot.meta.node_fields;
	const width = fields.length;
	const typeAt = fields.indexOf("type");
	const nameAt = fields.indexOf("name");
	const sizeAt = fields.indexOf("self_size");
	const types = data.snapshot.meta.node_types[0];
	const summary = new Map<string, { count: number; bytes: number }>();
	for (let i = 0; i < data.nodes.length; i += width) {
		const type = types[data.nodes[i + typeAt] as number] ?? "?";
		const label =
			type === "object" || type === "closure" ? (data.strings[data.nodes[i + nameAt] as number] ?? "?") : `(${type})`;
		const entry = summary.get(label) ?? { count: 0, bytes: 0 };
		entry.count++;
		entry.bytes += data.nodes[i + sizeAt] as number;
		summary.set(label, entry);
	}
	return summary;
}

function diffSnapshots(
	before: Map<string, { count: number; bytes: number }>,
	after: Map<string, { count: number; bytes: number }>,
): { constructor: string; count: number; bytes: number }[] {
	const rows = [...after].map(([label, { count, bytes }]) => ({
		constructor: label,
		count: count - (before.get(label)?.count ?? 0),
		bytes: bytes - (before.get(label)?.bytes ?? 0),
	}));
	return rows.sort((a, b) => b.bytes - a.bytes).slice(0, 15);
}

export async function measureMemory(
	log: (line: string) => void,
	options: { requestsPerLb?: number; profile?: boolean } = {},
): Promise<MemoryReport> {
	const subject = await loadCase();
	const seed = await checkSeed(subject);
	log(
		`memory: seed of ${seed.origins} origins ${seed.ok ? "accepted" : `refused: ${seed.problems.join("; ")}`} (${kib(seed.documentBytes)} KiB, ${kib(seed.documentGzipBytes)} KiB gzipped)`,
	);
	const parts = measureParts(subject);
	log(
		`memory: replica as delivered ${mib(parts.replica)} MiB, its routing state ${mib(parts.routingState)} MiB, a counter core ${mib(parts.counterCore)} MiB (${parts.counterCoreMs.toFixed(0)} ms to adopt)`,
	);
	const scopes: ScopeMemory[] = [];
	let profile: MemoryReport["profile"];
	for (const scope of SCOPES) {
		const measured = await measureScope(
			subject,
			scope,
			options.requestsPerLb ?? DEFAULT_REQUESTS_PER_LB,
			log,
			options.profile === true && scope === "isolate",
		);
		scopes.push(measured.memory);
		profile ??= measured.profile;
	}
	return {
		shape: subject.SHAPE,
		node: process.version,
		budgetMiB: MEMORY_BUDGET_MIB,
		seed,
		scopes,
		parts,
		...(profile ? { profile } : {}),
	};
}

/**
 * For bench/run.ts: the measurement in a child process of its own (it needs --expose-gc, and a heap
 * that the benchmark's own work has not touched), its JSON read back.
 */
export function runMemory(log: (line: string) => void): Promise<MemoryReport> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ["--expose-gc", join(PROJECT_ROOT, "bench", "memory.ts"), "--json"], {
			stdio: ["ignore", "pipe", "pipe"],
		});
		let out = "";
		let err = "";
		child.stdout.on("data", (chunk: Buffer) => {
			out += chunk.toString();
		});
		child.stderr.on("data", (chunk: Buffer) => {
			err += chunk.toString();
			for (const line of chunk.toString().split("\n")) if (line.trim()) log(line);
		});
		child.once("error", reject);
		child.once("exit", (code) => {
			if (code !== 0) reject(new Error(`bench/memory.ts exited with ${code}:\n${err}`));
			else {
				try {
					resolve(JSON.parse(out) as MemoryReport);
				} catch (error) {
					reject(error);
				}
			}
		});
	});
}

function mib(bytes: number): string {
	return (bytes / MIB).toFixed(2);
}

function kib(bytes: number): string {
	return (bytes / 1024).toFixed(0);
}

export function formatMemory(report: MemoryReport): string {
	const { shape, seed } = report;
	const lines = [
		`memory of one isolate (bench/memory.ts), in Node ${report.node}: ${shape.loadBalancers} load balancers × ${shape.poolsPerLoadBalancer} pools × ${shape.originsPerPool} origins (${seed.origins} origins)`,
		`seed: switchyard.config.json ${kib(seed.documentBytes)} KiB (${kib(seed.documentGzipBytes)} KiB gzipped), seed module ${kib(seed.moduleBytes)} KiB; largest stored row ${kib(seed.largestRowBytes)} KiB of ${kib(seed.maxRowBytes)} KiB; ${seed.ok ? "accepted" : `REFUSED: ${seed.problems.join("; ")}`}${seed.messages > 0 ? ` (${seed.messages} messages)` : ""}`,
		table(
			[
				"scope",
				"replica wire KiB",
				"config KiB",
				"replica MiB",
				"after traffic MiB",
				"settled MiB",
				"requests",
				"budget",
				"",
			],
			report.scopes.map((row) => [
				row.scope,
				kib(row.replicaWireBytes),
				kib(row.configJsonBytes),
				mib(row.replicaBytes),
				mib(row.trafficBytes),
				mib(row.settledBytes),
				`${row.requests - row.failed}/${row.requests}`,
				`${report.budgetMiB} MiB`,
				row.peakBytes <= report.budgetMiB * MIB ? "PASS" : "MISS",
			]),
			(column) => column !== 0 && column !== 8,
		),
	];
	const { parts } = report;
	lines.push(
		"the parts, weighed one at a time (MiB of heap, the replica held):",
		table(
			["part", "MiB", "ms to build"],
			[
				["replica as delivered (parsed wire text)", mib(parts.replica), ""],
				["  its configuration, validated", mib(parts.config), ""],
				["  that configuration compiled (snapshot)", mib(parts.snapshot), ""],
				[
					"RoutingState that adopted the replica (ReplicaCache)",
					mib(parts.routingState),
					parts.routingStateMs.toFixed(0),
				],
				[
					"CounterCore that adopted it (isolate scope, per load balancer)",
					mib(parts.counterCore),
					parts.counterCoreMs.toFixed(0),
				],
			],
			(column) => column !== 0,
		),
	);
	if (report.profile) {
		lines.push(
			"what grew from before the isolate to after its traffic (isolate scope), by constructor (self size):",
			table(
				["constructor", "count", "MiB"],
				report.profile.map((row) => [row.constructor, String(row.count), mib(row.bytes)]),
				(column) => column !== 0,
			),
		);
	}
	return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			json: { type: "boolean", default: false },
			profile: { type: "boolean", default: false },
			requests: { type: "string" },
		},
	});
	cleanUpOnSignals();
	const log = (line: string) => process.stderr.write(`${line}\n`);
	const requestsPerLb = values.requests === undefined ? undefined : Number(values.requests);
	const report = await measureMemory(log, {
		profile: values.profile,
		...(requestsPerLb !== undefined ? { requestsPerLb } : {}),
	});
	process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `\n${formatMemory(report)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
	if (!(globalThis as { gc?: unknown }).gc) {
		// Restart with the collector exposed (npm run bench:memory, or node bench/memory.ts).
		const child = spawn(process.execPath, ["--expose-gc", ...process.argv.slice(1)], { stdio: "inherit" });
		child.once("exit", (code, signal) => {
			process.exitCode = code ?? (signal ? 1 : 0);
		});
	} else {
		try {
			await main();
		} catch (error) {
			if (!wasInterrupted())
				process.stderr.write(`bench/memory: ${error instanceof Error ? error.stack : String(error)}\n`);
			process.exitCode = 1;
		} finally {
			await cleanUp();
		}
	}
}
