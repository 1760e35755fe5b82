/**
 * The planning micro-benchmark (issue 14, item 2): how long one plan takes at 100, 2,000 and 10,000
 * origins in one pool, while slow start thins the picks (nine origins in ten warming) and once it is
 * over, in plain Node: no Worker, no call, no network. It guards what a unit test
 * (test/unit/routing/plan-work.test.ts) holds by counting: planning stays linear in the pool's size.
 * Part of `npm run bench` (alone: BENCH_ONLY=planning npm run bench). Run by itself, it can also time
 * a git ref's planner for comparison:
 *
 *   node bench/planning.ts [--ref HEAD] [--json]
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bundleReference, checkout, PROJECT_ROOT } from "./bundle.ts";
import { cleanUp, cleanUpOnSignals, wasInterrupted } from "./processes.ts";
import { median, table } from "./report.ts";

/** BENCH_ONLY's name for this case. */
export const PLANNING_CASE = "planning";
export const PLANNING_ORIGINS = [100, 2_000, 10_000] as const;
/** The origin policies the Worker rows of `npm run bench` run, too. */
export const PLANNING_POLICIES = ["round_robin", "least_connections", "p2c"] as const;
/** Timed rounds per row (after one round of warm-up), each at least ROUND_MS long and one plan. */
export const PLANNING_ROUNDS = 5;
const ROUND_MS = 200;

export interface PlanningRow {
	readonly origins: number;
	readonly policy: string;
	/** Median over the rounds of the mean time per plan, in µs: nine origins in ten warming. */
	readonly warmingUsPerPlan: number;
	/** The same with every origin past its slow start. */
	readonly warmUsPerPlan: number;
	/** Plans timed in all (both columns). */
	readonly plans: number;
}

interface PlanningModule {
	planningCase(n: number, policy: string, warming: boolean): { plan(): void };
}

/** Median µs per plan over PLANNING_ROUNDS rounds, and how many plans that took. */
function time(plan: () => void): { usPerPlan: number; plans: number } {
	const perPlan: number[] = [];
	let plans = 0;
	for (let round = 0; round <= PLANNING_ROUNDS; round++) {
		let count = 0;
		const start = performance.now();
		let elapsed = 0;
		do {
			plan();
			count++;
			elapsed = performance.now() - start;
		} while (elapsed < ROUND_MS);
		// Round 0 warms up (the JIT, and the pool's first plan, which learns what is warm).
		if (round > 0) {
			perPlan.push((elapsed * 1000) / count);
			plans += count;
		}
	}
	return { usPerPlan: median(perPlan), plans };
}

/** Times the planner of the tree at `root` (this checkout by default). */
export async function runPlanning(log: (line: string) => void, root = PROJECT_ROOT): Promise<PlanningRow[]> {
	const bundle = await bundleReference("planning-case.ts", root);
	const planning = (await import(pathToFileURL(bundle.modulePath).href)) as PlanningModule;
	const rows: PlanningRow[] = [];
	for (const origins of PLANNING_ORIGINS) {
		for (const policy of PLANNING_POLICIES) {
			const warmingCase = planning.planningCase(origins, policy, true);
			const warming = time(() => warmingCase.plan());
			const warmCase = planning.planningCase(origins, policy, false);
			const warm = time(() => warmCase.plan());
			const row = {
				origins,
				policy,
				warmingUsPerPlan: warming.usPerPlan,
				warmUsPerPlan: warm.usPerPlan,
				plans: warming.plans + warm.plans,
			};
			log(
				`planning: ${origins} origins, ${policy}: ${format(row.warmingUsPerPlan)} µs/plan warming, ${format(row.warmUsPerPlan)} µs/plan warm`,
			);
			rows.push(row);
		}
	}
	return rows;
}

function format(us: number): string {
	return us >= 100 ? us.toFixed(0) : us.toFixed(1);
}

export function formatPlanning(rows: readonly PlanningRow[]): string {
	return table(
		["origins", "policy", "µs/plan, slow start", "µs/plan, all warm", "ns/origin, slow start", "plans timed"],
		rows.map((row) => [
			String(row.origins),
			row.policy,
			format(row.warmingUsPerPlan),
			format(row.warmUsPerPlan),
			((row.warmingUsPerPlan * 1000) / row.origins).toFixed(0),
			String(row.plans),
		]),
		(column) => column !== 1,
	);
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: { ref: { type: "string" }, json: { type: "boolean", default: false } },
	});
	cleanUpOnSignals();
	const log = (line: string) => process.stderr.write(`${line}\n`);
	const results: { tree: string; rows: PlanningRow[] }[] = [];
	if (values.ref) {
		// The ref's own planner under this checkout's case (the case may be newer than the ref).
		const root = checkout(values.ref);
		copyFileSync(join(PROJECT_ROOT, "bench", "planning-case.ts"), join(root, "bench", "planning-case.ts"));
		results.push({ tree: values.ref, rows: await runPlanning(log, root) });
	}
	results.push({ tree: "working tree", rows: await runPlanning(log) });
	if (values.json) {
		process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
		return;
	}
	for (const { tree, rows } of results)
		process.stdout.write(`\n${tree}: medians of ${PLANNING_ROUNDS} rounds\n${formatPlanning(rows)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
	try {
		await main();
	} catch (error) {
		if (!wasInterrupted())
			process.stderr.write(`bench/planning: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exitCode = 1;
	} finally {
		await cleanUp();
	}
}
