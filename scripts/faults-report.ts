/**
 * Writes the fault suite's figures (test/faults/figures.ts, carried in vitest's JSON report) into
 * docs/reliability.md, between its `figures:start` and `figures:end` markers, with the machine and
 * the date; and fails when the suite ran no case, skipped one, or one recorded no figures.
 *
 *   node scripts/faults-report.ts test-results/faults.json docs/reliability.md
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";

interface Figures {
	case: string;
	requests: number;
	failed: number;
	bytesCompared?: number;
	leasesLeft?: number;
	recoveryMs?: number;
	passing: string;
	notes?: string;
}

interface Report {
	testResults: {
		name: string;
		assertionResults: { status: string; fullName: string; meta?: { figures?: Figures[] } }[];
	}[];
}

const [reportPath = "test-results/faults.json", docPath = "docs/reliability.md"] = process.argv.slice(2);
const report = JSON.parse(readFileSync(reportPath, "utf8")) as Report;

const rows: Figures[] = [];
const problems: string[] = [];
let tests = 0;
for (const file of report.testResults) {
	for (const test of file.assertionResults) {
		tests++;
		if (test.status !== "passed") problems.push(`${test.status}: ${test.fullName}`);
		const figures = test.meta?.figures ?? [];
		if (figures.length === 0 && test.status === "passed") problems.push(`no figures: ${test.fullName}`);
		rows.push(...figures);
	}
}
if (tests === 0) problems.push("the fault suite ran no test");

const cell = (value: number | undefined, unit = "") =>
	value === undefined ? "—" : `${Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(1)}${unit}`;
const toCell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
const table = [
	"| case | passing means | requests | failed | bytes compared | leases left | recovery | notes |",
	"|---|---|---:|---:|---:|---:|---:|---|",
	...rows.map(
		(row) =>
			`| ${toCell(row.case)} | ${toCell(row.passing)} | ${cell(row.requests)} | ${cell(row.failed)} | ${cell(row.bytesCompared)} | ${cell(row.leasesLeft)} | ${cell(row.recoveryMs, " ms")} | ${toCell(row.notes ?? "")} |`,
	),
].join("\n");

const cpu = cpus();
const machine = `${cpu.length} × ${cpu[0]?.model.trim() ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
const stamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const block = `<!-- figures:start -->\nLatest run: ${stamp} on ${machine}; ${rows.length} cases in ${tests} tests.\n\n${table}\n<!-- figures:end -->`;

const doc = readFileSync(docPath, "utf8");
const start = doc.indexOf("<!-- figures:start -->");
const end = doc.indexOf("<!-- figures:end -->");
if (start === -1 || end === -1) {
	console.error(`faults-report: ${docPath} has no figures:start/figures:end markers`);
	process.exit(1);
}
writeFileSync(docPath, `${doc.slice(0, start)}${block}${doc.slice(end + "<!-- figures:end -->".length)}`);
console.log(`faults-report: ${rows.length} cases from ${tests} tests written to ${docPath}`);
for (const problem of problems) console.error(`faults-report: ${problem}`);
if (problems.length > 0) process.exit(1);
