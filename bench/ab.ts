/**
 * `npm run bench:ab`: is a change to the hot path faster? Bundles Switchyard twice, from a git ref
 * (A, default HEAD) and from the working tree (B), runs both under workerd side by side with the
 * same round robin configuration and origins, and alternates wrk runs between them (A B, B A, …).
 * Prints the medians of the CPU time each workerd process spent per request, the figure that moves
 * least with whatever else the machine is doing, and of requests per second.
 *
 *   node bench/ab.ts [--ref HEAD] [--runs 5] [--seconds 5] [--connections 50] [--scope colo|global|isolate]
 *                    [--against floor|floor-rpc] [--analytics]
 *
 * `--against floor` (or floor-rpc) makes A the reference Worker instead of a git ref, taking the
 * same origins in turn: Switchyard's distance from its goals, measured side by side. `--analytics`
 * binds ANALYTICS (Workers Analytics Engine) on side B only, to a sink: with `--ref HEAD`, what
 * writing a data point per request costs.
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
import { alternate, requireWrk, type Side } from "./load.ts";
import { startOrigins } from "./origins.ts";
import { cleanUp, cleanUpOnSignals, wasInterrupted } from "./processes.ts";
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
		analytics: { type: "boolean", default: false },
	},
});
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
	const wrk = requireWrk(log);
	if (!wrk) return;
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
	const sides: Side[] = [];
	if (against) {
		const server = await startWorkerd({
			name: `ab-${against}`,
			modulePath: a.modulePath,
			compatibilityDate: compatibilityDate(),
			compatibilityFlags: compatibilityFlags(),
			text: { ORIGIN: origins.map((origin) => origin.url).join(",") },
			...(against === "floor-rpc" ? { durableObjects: [{ className: "Noop", binding: "NOOP" }] } : {}),
		});
		sides.push({ name: "A", url: server.url, pid: server.child.process.pid, results: [] });
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
			...(values.analytics && name === "B" ? { analyticsBinding: "ANALYTICS" } : {}),
		});
		await configureSwitchyard(server.url, token, "round_robin", origins, values.scope);
		sides.push({ name, url: server.url, pid: server.child.process.pid, results: [] });
	}
	await alternate(
		wrk,
		sides,
		{ runs: Number(values.runs), connections: Number(values.connections), durationS: Number(values.seconds) },
		log,
	);
	for (const side of sides) {
		const label = side.name === "A" ? `A (${against ?? values.ref})` : "B (working tree)";
		const cpu = side.results.map((result) => result.cpuUsPerRequest ?? Number.NaN);
		const rps = median(side.results.map((result) => result.requestsPerS));
		const p50 = median(side.results.map((result) => result.p50Ms));
		process.stdout.write(
			`${label}: ${median(cpu).toFixed(0)} µs CPU/req [${cpu.map((x) => x.toFixed(0)).join(" ")}], ${rps.toFixed(0)} req/s, p50 ${p50.toFixed(3)} ms\n`,
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
