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
	/** req/s relative to floor+RPC: what Switchyard's own balancing costs beyond the proxy rules and one call. */
	readonly ratioToFloorRpc?: number;
	/** p50 minus bare's p50 at the same connection count. */
	readonly addedP50Ms?: number;
}

export interface Check {
	readonly target: string;
	readonly goal: string;
	readonly value: string;
	readonly pass: boolean;
}

/** Switchyard at 50 connections: at least this share of bare+RPC's requests per second. */
export const MIN_SHARE_OF_BARE_RPC = 0.9;
/** Switchyard at 1 connection: at most this much p50 over bare. */
export const MAX_ADDED_P50_MS = 0.25;

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
		const floorRpc = stats("floor-rpc");
		for (const target of targets) {
			const own = stats(target.id);
			if (!own) continue;
			rows.push({
				target: target.id,
				label: target.label,
				connections,
				...own,
				ratioToBare: bare && own.requestsPerS / bare.requestsPerS,
				ratioToBareRpc: bareRpc && own.requestsPerS / bareRpc.requestsPerS,
				ratioToFloorRpc: floorRpc && own.requestsPerS / floorRpc.requestsPerS,
				addedP50Ms: bare && own.p50Ms - bare.p50Ms,
			});
		}
	}
	return rows;
}

/**
 * The goals, for each Switchyard row, and for floor+RPC as a reference: the least any design that
 * follows the proxy rules and makes one registry call per request costs. Where floor+RPC misses a
 * goal, no such design can meet it on this machine.
 */
export function toChecks(rows: readonly Row[]): Check[] {
	const checks: Check[] = [];
	for (const row of rows) {
		if (!row.target.startsWith("switchyard") && row.target !== "floor-rpc") continue;
		if (row.connections === 50 && row.ratioToBareRpc !== undefined) {
			checks.push({
				target: row.label,
				goal: `50 conns: req/s ≥ ${MIN_SHARE_OF_BARE_RPC * 100}% of bare+RPC`,
				value: `${(row.ratioToBareRpc * 100).toFixed(1)}%`,
				pass: row.ratioToBareRpc >= MIN_SHARE_OF_BARE_RPC,
			});
		}
		if (row.connections === 1 && row.addedP50Ms !== undefined) {
			checks.push({
				target: row.label,
				goal: `1 conn: p50 ≤ bare + ${MAX_ADDED_P50_MS} ms`,
				value: `+${row.addedP50Ms.toFixed(3)} ms`,
				pass: row.addedP50Ms <= MAX_ADDED_P50_MS,
			});
		}
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
			"÷ floor+RPC",
			"p50 over bare",
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
			ratio(row.ratioToFloorRpc),
			row.addedP50Ms === undefined ? "" : `${row.addedP50Ms >= 0 ? "+" : ""}${row.addedP50Ms.toFixed(3)} ms`,
		]),
		(column) => column > 0,
	);
	const goals = table(
		["target", "goal", "measured", ""],
		checks.map((check) => [
			check.target === "floor+RPC" ? "floor+RPC (reference)" : check.target,
			check.goal,
			check.value,
			check.pass ? "PASS" : "MISS",
		]),
		() => false,
	);
	return `${results}\n\n${goals}\n`;
}
