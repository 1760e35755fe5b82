/**
 * `npm run bench:ab`: is a change to the hot path faster? Bundles Switchyard twice, from a git ref
 * (A, default HEAD) and from the working tree (B), runs both under workerd side by side with the
 * same round robin configuration and origins, and alternates wrk runs between them (A B, B A, …).
 * Prints the medians of the CPU time each workerd process spent per request, the figure that moves
 * least with whatever else the machine is doing, and of requests per second.
 *
 *   node bench/ab.ts [--ref HEAD] [--runs 5] [--seconds 5] [--connections 50] [--scope colo|global|isolate]
 *                    [--against floor|floor-rpc]
 *
 * `--against floor` (or floor-rpc) makes A the reference Worker instead of a git ref, taking the
 * same origins in turn: Switchyard's distance from its goals, measured side by side.
 */
import { parseArgs } from "node:util";
import {
	bundleReference,
	bundleSwitchyardFrom,
	checkout,
	compatibilityDate,
	compatibilityFlags,
	PROJECT_ROOT,
} from "./bundle.ts";
import { runLoad } from "./load.ts";
import { startOrigins } from "./origins.ts";
import { cleanUp, cleanUpOnSignals, findExecutable, wasInterrupted } from "./processes.ts";
import { median } from "./report.ts";
import { configureSwitchyard } from "./switchyard.ts";
import { durableObjectsOf, startWorkerd } from "./workerd.ts";

const { values } = parseArgs({
	options: {
		ref: { type: "string", default: "HEAD" },
		runs: { type: "string", default: "5" },
		seconds: { type: "string", default: "5" },
		connections: { type: "string", default: "50" },
		scope: { type: "string", default: "colo" },
		against: { type: "string" },
	},
});
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
	const wrk = findExecutable("wrk");
	if (!wrk) {
		log("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk");
		process.exitCode = 2;
		return;
	}
	cleanUpOnSignals();
	const token = "bench-ab-token";
	const against = values.against;
	if (against !== undefined && against !== "floor" && against !== "floor-rpc")
		throw new Error(`--against takes floor or floor-rpc, not ${against}`);
	log(`bundling ${against ?? values.ref} (A) and the working tree (B)…`);
	const aRoot = against ? PROJECT_ROOT : checkout(values.ref);
	const [a, b] = await Promise.all([
		against ? bundleReference("floor.ts") : bundleSwitchyardFrom(aRoot),
		bundleSwitchyardFrom(PROJECT_ROOT),
	]);
	const origins = await startOrigins();
	const sides = [];
	if (against) {
		const server = await startWorkerd({
			name: `ab-${against}`,
			modulePath: a.modulePath,
			compatibilityDate: compatibilityDate(),
			compatibilityFlags: compatibilityFlags(),
			text: { ORIGIN: origins.map((origin) => origin.url).join(",") },
			...(against === "floor-rpc" ? { durableObjects: [{ className: "Noop", binding: "NOOP" }] } : {}),
		});
		sides.push({ name: "A", server, cpu: [] as number[], rps: [] as number[], p50: [] as number[] });
	}
	for (const [name, bundle, root] of [
		["A", a, aRoot],
		["B", b, PROJECT_ROOT],
	] as const) {
		if (name === "A" && against) continue;
		const server = await startWorkerd({
			name: `ab-${name}`,
			modulePath: bundle.modulePath,
			compatibilityDate: compatibilityDate(root),
			compatibilityFlags: compatibilityFlags(root),
			text: { ADMIN_TOKEN: token, ADMIN_HOSTNAMES: "localhost,127.0.0.1" },
			durableObjects: durableObjectsOf(root),
		});
		await configureSwitchyard(server.url, token, "round_robin", origins, values.scope);
		sides.push({ name, server, cpu: [] as number[], rps: [] as number[], p50: [] as number[] });
	}
	const runs = Number(values.runs);
	for (let run = 0; run < runs; run++) {
		for (const side of run % 2 === 0 ? sides : [...sides].reverse()) {
			const result = await runLoad({
				wrk,
				url: side.server.url,
				connections: Number(values.connections),
				durationS: Number(values.seconds),
				warmupS: 1,
				pid: side.server.child.process.pid,
			});
			if (result.errors > 0) throw new Error(`${side.name}: ${result.errors} failed requests`);
			side.cpu.push(result.cpuUsPerRequest ?? Number.NaN);
			side.rps.push(result.requestsPerS);
			side.p50.push(result.p50Ms);
			log(
				`[${run + 1}/${runs}] ${side.name}: ${result.cpuUsPerRequest?.toFixed(0)} µs CPU/req, ${result.requestsPerS.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(3)} ms`,
			);
		}
	}
	for (const side of sides) {
		const label = side.name === "A" ? `A (${against ?? values.ref})` : "B (working tree)";
		process.stdout.write(
			`${label}: ${median(side.cpu).toFixed(0)} µs CPU/req [${side.cpu.map((x) => x.toFixed(0)).join(" ")}], ${median(side.rps).toFixed(0)} req/s, p50 ${median(side.p50).toFixed(3)} ms\n`,
		);
	}
}

try {
	await main();
} catch (error) {
	if (!wasInterrupted()) log(`bench:ab: ${error instanceof Error ? error.message : String(error)}`);
	process.exitCode = 1;
} finally {
	await cleanUp();
}
