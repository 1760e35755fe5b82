/**
 * `npm run bench:lean`: what does the least a load balancer must do per request cost on top of the
 * forwarding rules? floor (bench/floor.ts) against floor with its LEAN binding: the chosen origin
 * counted in flight and uncounted when its answer is read, and an outcome record made per request,
 * as leases and outcome reports need, and nothing else (the origins are still taken in turn, as
 * round robin takes them). Alternating runs, medians. The isolate scope's goal (issue 16: ≥ 95% of
 * floor's requests/s) set against this: how far an ideal isolate-scope balancer stands from floor,
 * and so how much of Switchyard's distance is its own code.
 *
 *   node bench/lean.ts [--runs 7] [--seconds 5] [--connections 50]
 */
import { parseArgs } from "node:util";
import { bundleReference, compatibilityDate, compatibilityFlags } from "./bundle.ts";
import { alternate, requireWrk, type Side } from "./load.ts";
import { startOrigins } from "./origins.ts";
import { cleanUp, cleanUpOnSignals, wasInterrupted } from "./processes.ts";
import { median } from "./report.ts";
import { startWorkerd } from "./workerd.ts";

const { values } = parseArgs({
	options: {
		runs: { type: "string", default: "7" },
		seconds: { type: "string", default: "5" },
		connections: { type: "string", default: "50" },
	},
});
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
	const wrk = requireWrk(log);
	if (!wrk) return;
	cleanUpOnSignals();
	const floor = await bundleReference("floor.ts");
	const origins = await startOrigins();
	const sides: Side[] = [];
	for (const [name, lean] of [
		["floor", false],
		["floor+lean", true],
	] as const) {
		const server = await startWorkerd({
			name,
			modulePath: floor.modulePath,
			compatibilityDate: compatibilityDate(),
			compatibilityFlags: compatibilityFlags(),
			text: { ORIGIN: origins.map((origin) => origin.url).join(","), ...(lean ? { LEAN: "true" } : {}) },
		});
		sides.push({ name, url: server.url, pid: server.child.process.pid, results: [] });
	}
	const connections = Number(values.connections);
	await alternate(wrk, sides, { runs: Number(values.runs), connections, durationS: Number(values.seconds) }, log);
	const [floorSide, leanSide] = sides.map((side) => ({
		name: side.name,
		cpu: side.results.map((result) => result.cpuUsPerRequest ?? Number.NaN),
		rps: median(side.results.map((result) => result.requestsPerS)),
		p50: median(side.results.map((result) => result.p50Ms)),
	})) as [Summary, Summary];
	for (const side of [floorSide, leanSide]) {
		process.stdout.write(
			`${side.name.padEnd(10)}  ${median(side.cpu).toFixed(0)} µs CPU/req [${side.cpu.map((x) => x.toFixed(0)).join(" ")}], ${side.rps.toFixed(0)} req/s, p50 ${side.p50.toFixed(3)} ms\n`,
		);
	}
	process.stdout.write(
		`floor+lean at ${connections} connections: ${((100 * leanSide.rps) / floorSide.rps).toFixed(1)}% of floor's req/s, p50 ${(leanSide.p50 - floorSide.p50 >= 0 ? "+" : "") + (leanSide.p50 - floorSide.p50).toFixed(3)} ms\n`,
	);
}

interface Summary {
	readonly name: string;
	readonly cpu: number[];
	readonly rps: number;
	readonly p50: number;
}

try {
	await main();
} catch (error) {
	if (!wasInterrupted()) log(`bench:lean: ${error instanceof Error ? error.message : String(error)}`);
	process.exitCode = 1;
} finally {
	await cleanUp();
}
