/**
 * Load generation with wrk: a closed loop of `connections` keep-alive connections, a warm-up run
 * first, then the measured run. bench/wrk-report.lua prints the numbers as one JSON line.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./bundle.ts";
import { findExecutable, runChild } from "./processes.ts";

export interface LoadOptions {
	/** Path of the wrk binary. */
	readonly wrk: string;
	readonly url: string;
	readonly connections: number;
	readonly durationS: number;
	/** 0 skips the warm-up. */
	readonly warmupS: number;
	/** The serving process, when known: its CPU time during the measured run is reported per request. */
	readonly pid?: number;
}

export interface LoadResult {
	readonly requestsPerS: number;
	readonly p50Ms: number;
	readonly p99Ms: number;
	readonly requests: number;
	/** Socket errors, timeouts and responses with a status of 400 or more. */
	readonly errors: number;
	/** CPU time (user + system) the serving process spent per request, in microseconds; when its pid is known. */
	readonly cpuUsPerRequest?: number;
}

interface WrkReport {
	requests: number;
	duration_us: number;
	p50_us: number;
	p99_us: number;
	connect_errors: number;
	read_errors: number;
	write_errors: number;
	status_errors: number;
	timeouts: number;
}

async function wrk(wrkPath: string, url: string, connections: number, durationS: number): Promise<WrkReport> {
	const threads = Math.min(2, connections);
	const args = [`-t${threads}`, `-c${connections}`, `-d${durationS}s`, "--timeout", "5s"];
	args.push("-s", join(PROJECT_ROOT, "bench", "wrk-report.lua"), `${url}/`);
	const output = await runChild("wrk", wrkPath, args);
	const line = output.split("\n").find((text) => text.startsWith("WRK_JSON "));
	if (!line) throw new Error(`wrk printed no report:\n${output}`);
	return JSON.parse(line.slice("WRK_JSON ".length)) as WrkReport;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
	if (options.warmupS > 0) await wrk(options.wrk, options.url, options.connections, options.warmupS);
	const cpuBefore = options.pid === undefined ? undefined : cpuSeconds(options.pid);
	const report = await wrk(options.wrk, options.url, options.connections, options.durationS);
	const cpuAfter = options.pid === undefined ? undefined : cpuSeconds(options.pid);
	const cpuUsPerRequest =
		cpuBefore === undefined || cpuAfter === undefined || report.requests === 0
			? undefined
			: ((cpuAfter - cpuBefore) * 1e6) / report.requests;
	return {
		requestsPerS: report.requests / (report.duration_us / 1e6),
		p50Ms: report.p50_us / 1000,
		p99Ms: report.p99_us / 1000,
		requests: report.requests,
		errors: report.connect_errors + report.read_errors + report.write_errors + report.status_errors + report.timeouts,
		cpuUsPerRequest,
	};
}

/** Ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux everywhere in practice). */
const CLOCK_TICKS_PER_S = 100;

/** User + system CPU seconds a process (all its threads) has used so far; undefined off Linux. */
export function cpuSeconds(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// Fields after the command name (which may contain spaces) start after the last ")".
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		// utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name (0-based 11, 12).
		return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
	} catch {
		return undefined;
	}
}

/** The wrk binary, or undefined after saying how to install it (exit code 2: the benchmark could not run). */
export function requireWrk(log: (line: string) => void): string | undefined {
	const wrk = findExecutable("wrk");
	if (!wrk) {
		log("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk");
		process.exitCode = 2;
	}
	return wrk;
}

export interface Side {
	readonly name: string;
	readonly url: string;
	/** The serving process: its CPU time per request is measured. */
	readonly pid: number | undefined;
	readonly results: LoadResult[];
}

/**
 * Runs every side `runs` times (1 s warm-up each), the order reversed run by run (A B, B A, …), so
 * that the machine's swings fall on every side alike. A failed request stops the comparison.
 */
export async function alternate(
	wrk: string,
	sides: readonly Side[],
	options: { readonly runs: number; readonly connections: number; readonly durationS: number },
	log: (line: string) => void,
): Promise<void> {
	for (let run = 0; run < options.runs; run++) {
		for (const side of run % 2 === 0 ? sides : [...sides].reverse()) {
			const result = await runLoad({
				wrk,
				url: side.url,
				connections: options.connections,
				durationS: options.durationS,
				warmupS: 1,
				...(side.pid === undefined ? {} : { pid: side.pid }),
			});
			if (result.errors > 0) throw new Error(`${side.name}: ${result.errors} failed requests`);
			side.results.push(result);
			log(
				`[${run + 1}/${options.runs}] ${side.name}: ${result.cpuUsPerRequest?.toFixed(0)} µs CPU/req, ${result.requestsPerS.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(3)} ms`,
			);
		}
	}
}
