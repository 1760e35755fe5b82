/**
 * From runs to results: medians per target and connection count, ratios to the reference Workers,
 * the targets Switchyard is held to, and the table (or JSON) that shows them.
 */
import type { LoadResult } from "./load.ts";
import type { Target } from "./targets.ts";

export interface Run {
	readonly target: string;
	readonly connections: number;
	readonly result: LoadResult;
	/** The machine's 1-minute load average when the run ended: other work on it shows here. */
	readonly loadAverage: number;
}

export interface Row {
	readonly target: string;
	readonly label: string;
	readonly connections: number;
	readonly runs: number;
	/** Medians over the runs. */
	readonly requestsPerS: number;
	readonly p50Ms: number;
	readonly p99Ms: number;
	/** Summed over the runs: socket errors, timeouts, statuses ≥ 400. */
	readonly errors: number;
	/** Median CPU time of the serving process per request (µs), where measured (the workerd targets). */
	readonly cpuUsPerRequest?: number;
	readonly ratioToBare?: number;
	readonly ratioToBareRpc?: number;
	/** req/s relative to floor (the proxy rules alone): the isolate scope's reference. */
	readonly ratioToFloor?: number;
	/** req/s relative to floor+RPC: what Switchyard's own balancing costs beyond the proxy rules and one call. */
	readonly ratioToFloorRpc?: number;
	/** p50 minus bare's p50 at the same connection count. */
	readonly addedP50Ms?: number;
	/** p50 minus the p50 of this row's reference (floor for the isolate scope, floor+RPC otherwise). */
	readonly p50OverReferenceMs?: number;
}

export interface Check {
	readonly target: string;
	readonly goal: string;
	readonly value: string;
	readonly pass: boolean;
}

/**
 * The goals (issue 16). The balancer's own work is held to `floor` (its forwarding rules alone) and
 * `floor+RPC` (the same plus one no-op Durable Object call): the isolate scope, which calls no
 * object, to floor; the colo and global scopes to floor+RPC. The old goals against bare+RPC are
 * retired: the rules alone cost about one call (docs/benchmarks.md).
 */
export const GOALS = {
	isolate: { minShareAt50: 0.95, maxP50OverAt1Ms: 0.05, reference: "floor" },
	object: { minShareAt50: 0.9, maxP50OverAt1Ms: 0.1, reference: "floor+RPC" },
	/** The rules' own cost, floor − bare in CPU µs per request at 50 connections: half the 58 µs first measured. */
	maxRulesCostUs: 29,
	/** Metrics and analytics together, CPU µs per request (issue 18; bench/observe.ts). */
	maxObserveUs: 5,
} as const;

/** Which goal a row answers to: the isolate scope calls no object; every other Switchyard row calls one. */
export function referenceOf(target: string): "floor" | "floor-rpc" {
	return target.endsWith("-isolate") ? "floor" : "floor-rpc";
}

export function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1
		? (sorted[mid] as number)
		: ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function medianOfKnown(values: readonly (number | undefined)[]): number | undefined {
	const known = values.filter((value): value is number => value !== undefined);
	return known.length === 0 ? undefined : median(known);
}

export function toRows(targets: readonly Target[], connectionCounts: readonly number[], runs: readonly Run[]): Row[] {
	const rows: Row[] = [];
	for (const connections of connectionCounts) {
		const base = (id: string) => runs.filter((run) => run.target === id && run.connections === connections);
		const stats = (id: string) => {
			const mine = base(id).map((run) => run.result);
			if (mine.length === 0) return undefined;
			return {
				runs: mine.length,
				requestsPerS: median(mine.map((result) => result.requestsPerS)),
				p50Ms: median(mine.map((result) => result.p50Ms)),
				p99Ms: median(mine.map((result) => result.p99Ms)),
				errors: mine.reduce((sum, result) => sum + result.errors, 0),
				cpuUsPerRequest: medianOfKnown(mine.map((result) => result.cpuUsPerRequest)),
			};
		};
		const bare = stats("bare");
		const bareRpc = stats("bare-rpc");
		const floor = stats("floor");
		const floorRpc = stats("floor-rpc");
		for (const target of targets) {
			const own = stats(target.id);
			if (!own) continue;
			const reference = referenceOf(target.id) === "floor" ? floor : floorRpc;
			rows.push({
				target: target.id,
				label: target.label,
				connections,
				...own,
				ratioToBare: bare && own.requestsPerS / bare.requestsPerS,
				ratioToBareRpc: bareRpc && own.requestsPerS / bareRpc.requestsPerS,
				ratioToFloor: floor && own.requestsPerS / floor.requestsPerS,
				ratioToFloorRpc: floorRpc && own.requestsPerS / floorRpc.requestsPerS,
				addedP50Ms: bare && own.p50Ms - bare.p50Ms,
				...(target.id.startsWith("switchyard") && reference ? { p50OverReferenceMs: own.p50Ms - reference.p50Ms } : {}),
			});
		}
	}
	return rows;
}

/**
 * PASS/MISS per goal (GOALS): each Switchyard row against its reference, and the rules' own cost
 * (floor − bare, CPU per request at 50 connections).
 */
export function toChecks(rows: readonly Row[]): Check[] {
	const checks: Check[] = [];
	for (const row of rows) {
		if (!row.target.startsWith("switchyard")) continue;
		const isolate = referenceOf(row.target) === "floor";
		const goal = isolate ? GOALS.isolate : GOALS.object;
		const share = isolate ? row.ratioToFloor : row.ratioToFloorRpc;
		if (row.connections === 50 && share !== undefined) {
			checks.push({
				target: row.label,
				goal: `50 conns: req/s ≥ ${goal.minShareAt50 * 100}% of ${goal.reference}`,
				value: `${(share * 100).toFixed(1)}%`,
				pass: share >= goal.minShareAt50,
			});
		}
		if (row.connections === 1 && row.p50OverReferenceMs !== undefined) {
			checks.push({
				target: row.label,
				goal: `1 conn: p50 ≤ ${goal.reference} + ${goal.maxP50OverAt1Ms} ms`,
				value: `${row.p50OverReferenceMs >= 0 ? "+" : ""}${row.p50OverReferenceMs.toFixed(3)} ms`,
				pass: row.p50OverReferenceMs <= goal.maxP50OverAt1Ms,
			});
		}
	}
	const cpu = (target: string) => rows.find((row) => row.target === target && row.connections === 50)?.cpuUsPerRequest;
	const floorCpu = cpu("floor");
	const bareCpu = cpu("bare");
	if (floorCpu !== undefined && bareCpu !== undefined) {
		const cost = floorCpu - bareCpu;
		checks.push({
			target: "the rules (floor − bare)",
			goal: `50 conns: ≤ ${GOALS.maxRulesCostUs} CPU µs/request (half of 58)`,
			value: `${cost.toFixed(0)} µs`,
			pass: cost <= GOALS.maxRulesCostUs,
		});
	}
	return checks;
}

/** A plain-text table: columns padded to their widest cell, `rightAligned` ones on the right. */
export function table(header: string[], lines: string[][], rightAligned: (column: number) => boolean): string {
	const widths = header.map((cell, i) => Math.max(cell.length, ...lines.map((line) => (line[i] ?? "").length)));
	const format = (line: string[]) =>
		line
			.map((cell, i) => (rightAligned(i) ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)))
			.join("  ")
			.trimEnd();
	return [format(header), widths.map((width) => "-".repeat(width)).join("  "), ...lines.map(format)].join("\n");
}

const ratio = (value: number | undefined) => (value === undefined ? "" : value.toFixed(2));

export function formatResults(rows: readonly Row[], checks: readonly Check[]): string {
	const results = table(
		[
			"target",
			"conns",
			"req/s",
			"p50 ms",
			"p99 ms",
			"errors",
			"CPU µs/req",
			"÷ bare",
			"÷ bare+RPC",
			"÷ floor",
			"÷ floor+RPC",
			"p50 over bare",
			"p50 over its reference",
		],
		rows.map((row) => [
			row.label,
			String(row.connections),
			row.requestsPerS.toFixed(0),
			row.p50Ms.toFixed(3),
			row.p99Ms.toFixed(3),
			String(row.errors),
			row.cpuUsPerRequest === undefined ? "" : row.cpuUsPerRequest.toFixed(0),
			ratio(row.ratioToBare),
			ratio(row.ratioToBareRpc),
			ratio(row.ratioToFloor),
			ratio(row.ratioToFloorRpc),
			row.addedP50Ms === undefined ? "" : `${row.addedP50Ms >= 0 ? "+" : ""}${row.addedP50Ms.toFixed(3)} ms`,
			row.p50OverReferenceMs === undefined
				? ""
				: `${row.p50OverReferenceMs >= 0 ? "+" : ""}${row.p50OverReferenceMs.toFixed(3)} ms`,
		]),
		(column) => column > 0,
	);
	const goals = table(
		["target", "goal", "measured", ""],
		checks.map((check) => [check.target, check.goal, check.value, check.pass ? "PASS" : "MISS"]),
		() => false,
	);
	return `${results}\n\n${goals}\n`;
}
