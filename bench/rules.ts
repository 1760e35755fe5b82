/**
 * `npm run bench:rules`: what each forwarding rule costs. floor (bench/floor.ts) applies every rule
 * Switchyard applies to a request it forwards; here it also runs once per rule with that rule left
 * out (its SKIP binding), and once with all of them left out, beside bare. A rule's price is floor's
 * CPU per request minus floor's without it, medians of rounds that alternate every variant, so the
 * machine's swings fall on all of them alike.
 *
 *   node bench/rules.ts [--runs 3] [--seconds 5] [--connections 50]
 */
import { parseArgs } from "node:util";
import { bundleReference, compatibilityDate, compatibilityFlags } from "./bundle.ts";
import { RULES } from "./floor-rules.ts";
import { alternate, requireWrk, type Side } from "./load.ts";
import { startOrigins } from "./origins.ts";
import { cleanUp, cleanUpOnSignals, wasInterrupted } from "./processes.ts";
import { median } from "./report.ts";
import { startWorkerd } from "./workerd.ts";

const { values } = parseArgs({
	options: {
		runs: { type: "string", default: "3" },
		seconds: { type: "string", default: "5" },
		connections: { type: "string", default: "50" },
	},
});
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Variant {
	readonly name: string;
	readonly file: "bare.ts" | "floor.ts";
	readonly skip?: string;
}

const VARIANTS: readonly Variant[] = [
	{ name: "bare", file: "bare.ts" },
	{ name: "floor", file: "floor.ts" },
	...RULES.map((rule) => ({ name: `floor without ${rule}`, file: "floor.ts" as const, skip: rule })),
	{ name: "floor without any rule", file: "floor.ts", skip: RULES.join(",") },
];

async function main(): Promise<void> {
	const wrk = requireWrk(log);
	if (!wrk) return;
	cleanUpOnSignals();
	const [bare, floor] = await Promise.all([bundleReference("bare.ts"), bundleReference("floor.ts")]);
	const origins = await startOrigins();
	const ORIGIN = origins.map((origin) => origin.url).join(",");
	const sides: (Side & { readonly variant: Variant })[] = [];
	for (const variant of VARIANTS) {
		const server = await startWorkerd({
			name: variant.name.replaceAll(" ", "-"),
			modulePath: (variant.file === "bare.ts" ? bare : floor).modulePath,
			compatibilityDate: compatibilityDate(),
			compatibilityFlags: compatibilityFlags(),
			text: { ORIGIN, ...(variant.skip ? { SKIP: variant.skip } : {}) },
		});
		sides.push({ name: variant.name, variant, url: server.url, pid: server.child.process.pid, results: [] });
	}
	const runs = Number(values.runs);
	await alternate(
		wrk,
		sides,
		{ runs, connections: Number(values.connections), durationS: Number(values.seconds) },
		log,
	);
	const cpuOf = (side: Side) => median(side.results.map((result) => result.cpuUsPerRequest ?? Number.NaN));
	const floorCpu = cpuOf(sides[1] as Side);
	const lines = [
		`medians of ${runs} × ${values.seconds} s at ${values.connections} connections`,
		"variant                              µs CPU/req  req/s   floor − variant",
		"-----------------------------------  ----------  ------  ---------------",
	];
	for (const side of sides) {
		const cpu = cpuOf(side);
		const price = side.variant.name === "floor" ? "" : `${(floorCpu - cpu).toFixed(0)} µs`;
		lines.push(
			`${side.variant.name.padEnd(35)}  ${cpu.toFixed(0).padStart(10)}  ${median(
				side.results.map((result) => result.requestsPerS),
			)
				.toFixed(0)
				.padStart(6)}  ${price.padStart(15)}`,
		);
	}
	process.stdout.write(`${lines.join("\n")}\n`);
}

try {
	await main();
} catch (error) {
	if (!wasInterrupted()) log(`bench:rules: ${error instanceof Error ? error.message : String(error)}`);
	process.exitCode = 1;
} finally {
	await cleanUp();
}
