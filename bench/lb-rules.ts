/**
 * The load balancing rules micro-benchmark (issue 20): what ten rules cost a request in the Worker,
 * matched against a request that matches none of them (every condition runs) and one that matches
 * two, in plain Node: no Worker, no call. The goal is at most 5 µs per request. Two more rows
 * time the worst regular expression the limits accept (one rule) on a 16 KB header and an 8 KB
 * path, the longest inputs a client sends: no goal, the bound docs/benchmarks.md records. Part of
 * `npm run bench` (alone: BENCH_ONLY=lb-rules npm run bench); by itself:
 *
 *   node bench/lb-rules.ts [--json]
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bundleReference } from "./bundle.ts";
import { cleanUp, cleanUpOnSignals, wasInterrupted } from "./processes.ts";
import { median, table } from "./report.ts";

/** BENCH_ONLY's name for this case ("rules" is bench:rules, the forwarding rules). */
export const LB_RULES_CASE = "lb-rules";
/** The goal: ten rules cost at most this per request. */
export const LB_RULES_GOAL_US = 5;
export const LB_RULES_ROUNDS = 5;
const ROUND_MS = 200;

export interface LbRulesRow {
	readonly request: "matches none" | "matches two" | "long input: 16 KB header" | "long input: 8 KB path";
	/** Median over the rounds of the mean time per request, in µs. */
	readonly usPerRequest: number;
	readonly requests: number;
	/** Against the goal; undefined for the long-input rows, which measure the worst case the regex limits allow. */
	readonly pass: boolean | undefined;
}

interface RulesModule {
	rulesCase(matching: boolean): { match(): number };
	longInputCase(where: "header" | "path"): { match(): number };
	WORST_REGEX: string;
}

function time(match: () => number): { usPerRequest: number; requests: number } {
	const perRequest: number[] = [];
	let requests = 0;
	let sink = 0;
	for (let round = 0; round <= LB_RULES_ROUNDS; round++) {
		let count = 0;
		const start = performance.now();
		let elapsed = 0;
		do {
			sink += match();
			count++;
			elapsed = performance.now() - start;
		} while (elapsed < ROUND_MS);
		// Round 0 warms up the JIT.
		if (round > 0) {
			perRequest.push((elapsed * 1000) / count);
			requests += count;
		}
	}
	if (sink < 0) throw new Error("unreachable");
	return { usPerRequest: median(perRequest), requests };
}

export async function runLbRules(log: (line: string) => void): Promise<LbRulesRow[]> {
	const bundle = await bundleReference("lb-rules-case.ts");
	const rules = (await import(pathToFileURL(bundle.modulePath).href)) as RulesModule;
	const rows: LbRulesRow[] = [];
	for (const matching of [false, true]) {
		const subject = rules.rulesCase(matching);
		const expected = matching ? 2 : 0;
		if (subject.match() !== expected) throw new Error(`lb-rules case: expected ${expected} rules to match`);
		const { usPerRequest, requests } = time(() => subject.match());
		const row: LbRulesRow = {
			request: matching ? "matches two" : "matches none",
			usPerRequest,
			requests,
			pass: usPerRequest <= LB_RULES_GOAL_US,
		};
		log(
			`lb-rules: ten rules, request ${row.request}: ${usPerRequest.toFixed(2)} µs/request ${row.pass ? "PASS" : "MISS"}`,
		);
		rows.push(row);
	}
	// The worst regular expression the limits accept, on the longest inputs: one rule, not ten.
	for (const where of ["header", "path"] as const) {
		const subject = rules.longInputCase(where);
		if (subject.match() !== 0) throw new Error("lb-rules long input: expected no match");
		const { usPerRequest, requests } = time(() => subject.match());
		const row: LbRulesRow = {
			request: where === "header" ? "long input: 16 KB header" : "long input: 8 KB path",
			usPerRequest,
			requests,
			pass: undefined,
		};
		log(`lb-rules: ${rules.WORST_REGEX} on a ${row.request}: ${(usPerRequest / 1000).toFixed(1)} ms/request`);
		rows.push(row);
	}
	return rows;
}

export function formatLbRules(rows: readonly LbRulesRow[]): string {
	return table(
		["request", "µs/request, ten rules", `goal ≤ ${LB_RULES_GOAL_US} µs`, "requests timed"],
		rows.map((row) => [
			row.request,
			row.usPerRequest.toFixed(2),
			row.pass === undefined ? "(worst regex)" : row.pass ? "PASS" : "MISS",
			String(row.requests),
		]),
		(column) => column === 1 || column === 3,
	);
}

async function main(): Promise<void> {
	const { values } = parseArgs({ options: { json: { type: "boolean", default: false } } });
	cleanUpOnSignals();
	const rows = await runLbRules((line) => process.stderr.write(`${line}\n`));
	if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
	else process.stdout.write(`\nmedians of ${LB_RULES_ROUNDS} rounds\n${formatLbRules(rows)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
	try {
		await main();
	} catch (error) {
		if (!wasInterrupted())
			process.stderr.write(`bench/lb-rules: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exitCode = 1;
	} finally {
		await cleanUp();
	}
}
