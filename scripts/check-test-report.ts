/**
 * Fails the test run when a layer ran no test, or when any test was skipped or left as todo:
 * a green run must mean every layer really ran. Reads vitest's JSON report.
 *
 *   node scripts/check-test-report.ts test-results/vitest.json
 */
import { readFileSync } from "node:fs";

const LAYERS = ["unit", "workers", "e2e"] as const;

interface Report {
	testResults: { name: string; assertionResults: { status: string; fullName: string }[] }[];
}

const path = process.argv[2] ?? "test-results/vitest.json";
const report = JSON.parse(readFileSync(path, "utf8")) as Report;
type Layer = (typeof LAYERS)[number];
const counts = {} as Record<Layer, { passed: number; other: string[] }>;
for (const layer of LAYERS) counts[layer] = { passed: 0, other: [] };
for (const file of report.testResults) {
	const layer = LAYERS.find((name) => file.name.includes(`/test/${name}/`));
	if (!layer) {
		console.error(`check-test-report: ${file.name} is in no test layer (test/unit, test/workers, test/e2e)`);
		process.exit(1);
	}
	for (const test of file.assertionResults) {
		if (test.status === "passed") counts[layer].passed++;
		else counts[layer].other.push(`${test.status}: ${test.fullName}`);
	}
}

let ok = true;
for (const layer of LAYERS) {
	const { passed, other } = counts[layer];
	console.log(`check-test-report: ${layer}: ${passed} passed${other.length ? `, ${other.length} not passed` : ""}`);
	if (passed === 0) {
		console.error(`check-test-report: the ${layer} layer ran no test`);
		ok = false;
	}
	for (const line of other) console.error(`check-test-report: ${layer}: ${line}`);
	if (other.length > 0) ok = false;
}
process.exit(ok ? 0 : 1);
