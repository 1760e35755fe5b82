/**
 * Load generation with wrk: a closed loop of `connections` keep-alive connections, a warm-up run
 * first, then the measured run. bench/wrk-report.lua prints the numbers as one JSON line.
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "./bundle.ts";
import { runChild } from "./processes.ts";

export interface LoadOptions {
	/** Path of the wrk binary. */
	readonly wrk: string;
	readonly url: string;
	readonly connections: number;
	readonly durationS: number;
	/** 0 skips the warm-up. */
	readonly warmupS: number;
}

export interface LoadResult {
	readonly requestsPerS: number;
	readonly p50Ms: number;
	readonly p99Ms: number;
	readonly requests: number;
	/** Socket errors, timeouts and responses with a status of 400 or more. */
	readonly errors: number;
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
	const report = await wrk(options.wrk, options.url, options.connections, options.durationS);
	return {
		requestsPerS: report.requests / (report.duration_us / 1e6),
		p50Ms: report.p50_us / 1000,
		p99Ms: report.p99_us / 1000,
		requests: report.requests,
		errors: report.connect_errors + report.read_errors + report.write_errors + report.status_errors + report.timeouts,
	};
}
