/**
 * `npm run bench:shedding`: what load shedding (issue 21) adds to planning one request, in plain
 * Node: a counter object's core planning over two pools of ten origins, the first shedding nothing,
 * 50% at random, or 50% by a hash of the client's IP. Also says what share each mode sent on.
 *
 *   node bench/shedding.ts
 */
import { pathToFileURL } from "node:url";
import { bundleReference } from "./bundle.ts";
import { cleanUp, cleanUpOnSignals, wasInterrupted } from "./processes.ts";
import { median } from "./report.ts";

const ROUNDS = 5;
const ROUND_MS = 300;
const MODES = ["off", "random", "hash"] as const;

interface SheddingModule {
	sheddingCase(mode: (typeof MODES)[number]): { plan(): string };
}

async function main(): Promise<void> {
	cleanUpOnSignals();
	const bundle = await bundleReference("shedding-case.ts");
	const subject = (await import(pathToFileURL(bundle.modulePath).href)) as SheddingModule;
	for (const mode of MODES) {
		const sample = subject.sheddingCase(mode);
		const perPlan: number[] = [];
		let shed = 0;
		let plans = 0;
		for (let round = 0; round <= ROUNDS; round++) {
			let count = 0;
			let sent = 0;
			const start = performance.now();
			let elapsed = 0;
			do {
				if (sample.plan() === "secondary") sent++;
				count++;
				elapsed = performance.now() - start;
			} while (elapsed < ROUND_MS);
			// Round 0 warms the JIT up.
			if (round > 0) {
				perPlan.push((elapsed * 1000) / count);
				shed += sent;
				plans += count;
			}
		}
		process.stdout.write(
			`shedding ${mode.padEnd(6)}: ${median(perPlan).toFixed(2)} µs/plan (median of ${ROUNDS} rounds, ${plans} plans), ${((shed / plans) * 100).toFixed(1)}% sent on to the next pool\n`,
		);
	}
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
	try {
		await main();
	} catch (error) {
		if (!wasInterrupted())
			process.stderr.write(`bench/shedding: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exitCode = 1;
	} finally {
		await cleanUp();
	}
}
