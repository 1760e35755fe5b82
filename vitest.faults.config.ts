/**
 * The fault suite (`npm run test:faults`): what breaks, what clients see, nothing lost. Three
 * projects, like the main suite's layers:
 *   faults-unit    — pure edge and authority modules driven with skewed clocks;
 *   faults-workers — the Worker and its objects in workerd, where a fault needs injection (an object
 *                    aborted, an alarm that throws), through the vitest pool's tools only;
 *   faults-e2e     — the real `wrangler dev`, real origins on loopback, real clients.
 * Each case records its figures (test/faults/figures.ts) in the JSON report; scripts/faults-report.ts
 * writes them into docs/reliability.md.
 */
import { defineConfig } from "vitest/config";
import { workersPool } from "./vitest.workers.ts";

export default defineConfig({
	test: {
		projects: [
			{
				test: {
					name: "faults-unit",
					include: ["test/faults/unit/**/*.test.ts"],
					environment: "node",
				},
			},
			{
				plugins: [workersPool()],
				test: {
					name: "faults-workers",
					include: ["test/faults/workers/**/*.test.ts"],
					globalSetup: ["test/workers/global-setup.ts"],
					fileParallelism: false,
					testTimeout: 60_000,
				},
			},
			{
				test: {
					name: "faults-e2e",
					include: ["test/faults/e2e/**/*.test.ts"],
					environment: "node",
					fileParallelism: false,
					testTimeout: 120_000,
					hookTimeout: 120_000,
				},
			},
		],
	},
});
