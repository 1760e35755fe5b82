/**
 * `npm run bench`: Switchyard's throughput and added latency against the runtime's own ceiling.
 *
 * First times the planner alone at 100 to 10,000 origins (bench/planning.ts, in this process) and ten
 * load balancing rules matched against a request (bench/lb-rules.ts, in this process), weighs one
 * isolate's structures for 10,000 origins (bench/memory.ts, in a child process), and times what
 * metrics and analytics add per request (bench/observe.ts, in this process). Then
 * starts three loopback origins; bundles and runs under workerd a bare forwarding Worker, the same
 * with one no-op Durable Object RPC per request, and Switchyard once per policy; adds nginx when it
 * is installed; then drives each with wrk at 50 and at 1 connection, interleaved, three times, and
 * prints the medians. See docs/benchmarks.md.
 *
 *   node bench/run.ts [--quick] [--json]        BENCH_ONLY=bare-rpc,switchyard-rr to run some targets only
 *                                               (BENCH_ONLY=planning, memory, lb-rules or observe: those cases alone, no wrk needed)
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { formatLbRules, LB_RULES_CASE, LB_RULES_ROUNDS, type LbRulesRow, runLbRules } from "./lb-rules.ts";
import { type LoadResult, runLoad } from "./load.ts";
import { describeMachine } from "./machine.ts";
import { formatMemory, MEMORY_CASE, type MemoryReport, runMemory } from "./memory.ts";
import { formatObserve, OBSERVE_CASE, type ObserveReport, runObserve } from "./observe.ts";
import { clearRequestLogs, startOrigins } from "./origins.ts";
import { formatPlanning, PLANNING_CASE, PLANNING_ROUNDS, type PlanningRow, runPlanning } from "./planning.ts";
import { cleanUp, cleanUpOnSignals, findExecutable, wasInterrupted } from "./processes.ts";
import { formatResults, type Run, toChecks, toRows } from "./report.ts";
import { sample } from "./sample.ts";
import { startTargets } from "./targets.ts";

const CONNECTIONS = [50, 1];

const { values } = parseArgs({
	options: { quick: { type: "boolean", default: false }, json: { type: "boolean", default: false } },
});
const plan = values.quick ? { repeats: 1, warmupS: 1, durationS: 2 } : { repeats: 3, warmupS: 2, durationS: 10 };
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
	const only = process.env.BENCH_ONLY?.split(",").filter(Boolean);
	// The cases measured in Node, without wrk or workerd.
	const inProcessOnly =
		only?.every((id) => [PLANNING_CASE, MEMORY_CASE, LB_RULES_CASE, OBSERVE_CASE].includes(id)) ?? false;
	const wrk = findExecutable("wrk");
	if (!wrk && !inProcessOnly) {
		log("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk (macOS: brew install wrk)");
		process.exitCode = 2;
		return;
	}
	cleanUpOnSignals();
	const machine = describeMachine();
	log(`${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.workerd}`);
	const planning = !only || only.includes(PLANNING_CASE) ? await runPlanning(log) : undefined;
	const memory = !only || only.includes(MEMORY_CASE) ? await runMemory(log) : undefined;
	const lbRules = !only || only.includes(LB_RULES_CASE) ? await runLbRules(log) : undefined;
	const observe = !only || only.includes(OBSERVE_CASE) ? await runObserve(log) : undefined;
	if (inProcessOnly || !wrk) {
		if (values.json)
			process.stdout.write(`${JSON.stringify({ machine, planning, memory, lbRules, observe }, null, 2)}\n`);
		else
			process.stdout.write(
				`\n${[describePlanning(planning), describeMemory(memory), describeLbRules(lbRules), describeObserve(observe)].filter(Boolean).join("\n")}`,
			);
		return;
	}

	const origins = await startOrigins();
	log(`origins: ${origins.map((origin) => `${origin.name} ${origin.url}`).join(", ")}`);
	const started = await startTargets(origins, findExecutable("nginx", ["/usr/sbin"]), log);
	// BENCH_ONLY=bare-rpc,switchyard-rr narrows a run to some targets (for experiments).
	const targets = only ? started.filter((target) => only.includes(target.id)) : started;
	for (const target of targets) {
		const check = await sample(target.url);
		const spread = Object.entries(check.byOrigin)
			.map(([name, count]) => `${name} ${count}`)
			.join(", ");
		log(`${target.label}: ${check.ok}/${check.ok + check.failed} ok (${spread})`);
		if (check.failed > 0) throw new Error(`${target.label} fails requests: ${check.firstFailure}`);
	}

	const runs: Run[] = [];
	const total = plan.repeats * CONNECTIONS.length * targets.length;
	const seconds = total * (plan.warmupS + plan.durationS);
	log(`${total} runs of ${plan.warmupS} s warm-up + ${plan.durationS} s: about ${Math.ceil(seconds / 60)} min`);
	for (let repeat = 1; repeat <= plan.repeats; repeat++) {
		for (const connections of CONNECTIONS) {
			for (const target of targets) {
				await clearRequestLogs(origins);
				const result = await runLoad({ wrk, url: target.url, connections, pid: target.pid, ...plan });
				const loadAverage = loadavg()[0] as number;
				runs.push({ target: target.id, connections, result, loadAverage });
				log(
					`[${runs.length}/${total}] ${target.label} × ${connections}: ${describe(result)}, load ${loadAverage.toFixed(2)}`,
				);
			}
		}
	}

	// Every response has been read: after the release delay no request should be in flight.
	await new Promise((resolve) => setTimeout(resolve, 1_000));
	const leftInFlight: Record<string, number> = {};
	for (const target of targets) {
		if (!target.inFlight) continue;
		leftInFlight[target.id] = await target.inFlight();
		log(`${target.label}: ${leftInFlight[target.id]} requests still counted in flight after the runs (expect 0)`);
	}

	const rows = toRows(targets, CONNECTIONS, runs);
	const checks = toChecks(rows);
	if (values.json) {
		process.stdout.write(
			`${JSON.stringify({ machine, plan, origins, targets, rows, checks, leftInFlight, runs, planning, memory, lbRules, observe }, null, 2)}\n`,
		);
	} else {
		const note = values.quick ? "--quick: one short run each, not a measurement\n" : "";
		process.stdout.write(
			`\n${note}medians of ${plan.repeats} × ${plan.durationS} s (wrk: 2 threads at 50 connections, 1 at 1)\n`,
		);
		process.stdout.write(formatResults(rows, checks));
		if (planning) process.stdout.write(`\n${describePlanning(planning)}`);
		if (memory) process.stdout.write(`\n${describeMemory(memory)}`);
		if (lbRules) process.stdout.write(`\n${describeLbRules(lbRules)}`);
		if (observe) process.stdout.write(`\n${describeObserve(observe)}`);
	}
}

function describePlanning(rows: readonly PlanningRow[] | undefined): string {
	return rows
		? `planning alone (bench/planning.ts), in Node, medians of ${PLANNING_ROUNDS} rounds\n${formatPlanning(rows)}\n`
		: "";
}

function describeLbRules(rows: readonly LbRulesRow[] | undefined): string {
	return rows
		? `ten load balancing rules (bench/lb-rules.ts), in Node, medians of ${LB_RULES_ROUNDS} rounds\n${formatLbRules(rows)}\n`
		: "";
}

function describeMemory(report: MemoryReport | undefined): string {
	return report ? formatMemory(report) : "";
}

function describeObserve(report: ObserveReport | undefined): string {
	return report ? formatObserve(report) : "";
}

function describe(result: LoadResult): string {
	const errors = result.errors > 0 ? `, ${result.errors} errors` : "";
	const cpu = result.cpuUsPerRequest === undefined ? "" : `, ${result.cpuUsPerRequest.toFixed(0)} µs CPU/req`;
	return `${result.requestsPerS.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms${cpu}${errors}`;
}

try {
	await main();
} catch (error) {
	if (!wasInterrupted()) log(`bench: ${error instanceof Error ? error.message : String(error)}`);
	process.exitCode = 1;
} finally {
	await cleanUp();
}
