/**
 * Three test layers, one per folder:
 *   unit    — pure modules in plain Node (fast, no runtime);
 *   workers — the Worker and its Durable Object inside workerd (cloudflareTest), with real origin
 *             servers on loopback started in globalSetup;
 *   e2e     — the real `wrangler dev` process, real origins, a real client.
 * `npm test` runs all three; scripts/check-test-report.ts fails the run if any layer ran zero tests
 * or skipped one.
 */
import { defineConfig } from "vitest/config";
import { workersPool } from "./vitest.workers.ts";

export default defineConfig({
	test: {
		projects: [
			{
				test: {
					name: "unit",
					include: ["test/unit/**/*.test.ts"],
					environment: "node",
				},
			},
			{
				plugins: [workersPool()],
				test: {
					name: "workers",
					include: ["test/workers/**/*.test.ts"],
					globalSetup: ["test/workers/global-setup.ts"],
					// The origins are shared by every file of this layer; one file at a time keeps their logs apart.
					fileParallelism: false,
				},
			},
			{
				test: {
					name: "e2e",
					include: ["test/e2e/**/*.test.ts"],
					environment: "node",
					fileParallelism: false,
					testTimeout: 60_000,
					hookTimeout: 120_000,
				},
			},
		],
	},
});
