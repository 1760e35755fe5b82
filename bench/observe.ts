/**
 * The observation micro-benchmark (issue 18): the CPU that metrics and analytics add per proxied
 * request, timed in Node on the code the Worker and the counter objects run (bench/observe-case.ts),
 * against the goal of under 5 µs per request (GOALS.maxObserveUs). Part of `npm run bench` (alone:
 * BENCH_ONLY=observe npm run bench, or `npm run bench:observe`). What it cannot include, the runtime's
 * own writeDataPoint, is discussed in docs/benchmarks.md with the end-to-end A/B (bench:ab --analytics).
 *
 *   node bench/observe.ts [--json]
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bundleReference } from "./bundle.ts";
import { cleanUp, cleanUpOnSignals, wasInterrupted } from "./processes.ts";
import { GOALS, median } from "./report.ts";

/** BENCH_ONLY's name for this case. */
export const OBSERVE_CASE = "observe";
export const OBSERVE_ROUNDS = 7;
const PER_ROUND = 200_000;

interface ObserveModule {
	observeCase(): { metrics(): void; analytics(): void; written(): number };
}

export interface ObserveReport {
	/** A counter object noting one outcome record for /_lb/metrics, µs (median of the rounds). */
	readonly metricsUs: number;
	/** The Worker's analytics observer for one request (sample rate 1), µs. */
	readonly analyticsUs: number;
	readonly totalUs: number;
	readonly pass: boolean;
	readonly calls: number;
}

/** Median µs per call over OBSERVE_ROUNDS rounds, after one round of warm-up. */
function time(call: () => void): number {
	const perCall: number[] = [];
	for (let round = 0; round <= OBSERVE_ROUNDS; round++) {
		const start = performance.now();
		for (let i = 0; i < PER_ROUND; i++) call();
		if (round > 0) perCall.push(((performance.now() - start) * 1000) / PER_ROUND);
	}
	return median(perCall);
}

export async function runObserve(log: (line: string) => void): Promise<ObserveReport> {
	const bundle = await bundleReference("observe-case.ts");
	const { observeCase } = (await import(pathToFileURL(bundle.modulePath).href)) as ObserveModule;
	const subject = observeCase();
	const metricsUs = time(() => subject.metrics());
	const analyticsUs = time(() => subject.analytics());
	const calls = PER_ROUND * (OBSERVE_ROUNDS + 1);
	if (subject.written() !== calls) throw new Error(`the observer wrote ${subject.written()} of ${calls} data points`);
	const totalUs = metricsUs + analyticsUs;
	const report = { metricsUs, analyticsUs, totalUs, pass: totalUs < GOALS.maxObserveUs, calls: calls * 2 };
	log(`observe: metrics ${metricsUs.toFixed(3)} µs + analytics ${analyticsUs.toFixed(3)} µs per request`);
	return report;
}

export function formatObserve(report: ObserveReport): string {
	return [
		`metrics and analytics per request (bench/observe.ts), in Node, medians of ${OBSERVE_ROUNDS} × ${PER_ROUND.toLocaleString("en")}`,
		`  metrics (a counter object notes the outcome record)  ${report.metricsUs.toFixed(3)} µs`,
		`  analytics (the Worker's observer, sample rate 1)     ${report.analyticsUs.toFixed(3)} µs`,
		`  together: ${report.totalUs.toFixed(3)} µs, goal < ${GOALS.maxObserveUs} µs: ${report.pass ? "PASS" : "MISS"}`,
		"",
	].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
	const { values } = parseArgs({ options: { json: { type: "boolean", default: false } } });
	cleanUpOnSignals();
	try {
		const report = await runObserve((line) => process.stderr.write(`${line}\n`));
		process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `\n${formatObserve(report)}`);
		if (!report.pass) process.exitCode = 1;
	} catch (error) {
		if (!wasInterrupted())
			process.stderr.write(`bench/observe: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exitCode = 1;
	} finally {
		await cleanUp();
	}
}
