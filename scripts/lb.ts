/**
 * A small command-line client for the admin API (/_lb/api/), in Cloudflare's response envelope.
 *
 *   npm run lb -- apply switchyard.config.json --dry-run
 *   npm run lb -- get -o config.json      (npm prints its own banner on stdout: redirect with `npm run -s`)
 *   npm run lb -- status
 *
 * Exit codes: 0 done, 1 the API refused or could not be reached, 2 bad usage or no token.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDevVars } from "../demo/dev-vars.ts";

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_URL = "http://localhost:8787";

const USAGE = `usage: npm run lb -- <command> [options]

commands:
  apply <file.json> [--dry-run] [--if-match <version>]   replace the whole configuration
  get [-o <file>]                                        the configuration as JSON, printed or written to
                                                         a file that apply takes back
  status [--json]                                        health and drains of every origin
  drain <pool> <origin>                                  send no new requests to an origin
  enable <pool> <origin>                                 end a drain (and enable the origin)
  events [--limit N] [--json]                            audit log and health transitions, newest first
  rotate-affinity-key [--drop-earlier]                   a new session affinity cookie key (earlier
                                                         cookies keep working unless --drop-earlier)
  help                                                   this text

options:
  --url <url>      admin API base URL (env SWITCHYARD_URL, default ${DEFAULT_URL})
  --token <token>  admin token (env SWITCHYARD_TOKEN, else ADMIN_TOKEN in .dev.vars)
`;

interface Options {
	url: string;
	token: string;
	json: boolean;
	dryRun: boolean;
	ifMatch?: string;
	limit?: string;
	dropEarlier: boolean;
	output?: string;
}

interface Envelope<T> {
	success: boolean;
	errors: { code: number; message: string; field?: string }[];
	messages: string[];
	result: T;
}

/** Mirrors ConfigChange in src/config/diff.ts. */
interface ConfigChange {
	kind: string;
	id: string;
	change: "added" | "removed" | "changed";
	fields?: string[];
}

/** Mirrors StatusReport in src/registry/registry.ts (the fields shown here). */
interface StatusReport {
	version: number;
	load_errors?: string[];
	pools: {
		id: string;
		healthy: boolean;
		origins: {
			name: string;
			enabled: boolean;
			healthy: boolean;
			draining: boolean;
			last_check_at: string | null;
			last_check: string | null;
			rtt_ms: number | null;
		}[];
	}[];
}

/** Mirrors EventEntry in src/registry/registry.ts. */
type EventEntry =
	| { type: "config"; at: string; actor: string; action: string; version: number; changes: ConfigChange[] }
	| { type: "health"; at: string; pool: string; origin: string; healthy: boolean; reason: string };

/** A failure with its exit code; main prints the message to stderr. */
class CliError extends Error {
	readonly exitCode: number;
	constructor(message: string, exitCode: number) {
		super(message);
		this.exitCode = exitCode;
	}
}

function usageError(message: string): CliError {
	return new CliError(`${message}\n\n${USAGE}`, 2);
}

function tokenFromDevVars(): string | undefined {
	const path = join(PROJECT_ROOT, ".dev.vars");
	return existsSync(path) ? parseDevVars(readFileSync(path, "utf8")).ADMIN_TOKEN : undefined;
}

/** Sends one admin API request; returns the envelope on success, throws CliError otherwise. */
async function request<T>(
	options: Options,
	method: string,
	path: string,
	init: { body?: string; headers?: Record<string, string> } = {},
): Promise<Envelope<T>> {
	const url = `${options.url.replace(/\/+$/, "")}/_lb/api${path}`;
	let response: Response;
	try {
		response = await fetch(url, {
			method,
			headers: { authorization: `Bearer ${options.token}`, ...init.headers },
			body: init.body,
		});
	} catch (error) {
		const cause = (error as { cause?: { code?: string; message?: string } }).cause;
		throw new CliError(`cannot reach ${options.url}: ${cause?.code ?? cause?.message ?? String(error)}`, 1);
	}
	const text = await response.text();
	let envelope: Envelope<T> | undefined;
	try {
		envelope = JSON.parse(text) as Envelope<T>;
	} catch {
		envelope = undefined;
	}
	if (typeof envelope?.success !== "boolean") {
		throw new CliError(
			`${method} ${url}: HTTP ${response.status}, not an admin API response: ${text.slice(0, 200)}`,
			1,
		);
	}
	if (!envelope.success) {
		const lines = (envelope.errors ?? []).map((error) => {
			const field = error.field && !error.message.startsWith(error.field) ? ` (${error.field})` : "";
			return `error ${error.code}: ${error.message}${field}`;
		});
		throw new CliError(lines.join("\n") || `${method} ${url}: HTTP ${response.status}`, 1);
	}
	return envelope;
}

function printMessages(messages: readonly string[]): void {
	for (const message of messages) console.log(`note: ${message}`);
}

function formatChange(change: ConfigChange): string {
	const sign = { added: "+", removed: "-", changed: "~" }[change.change];
	const fields = change.fields?.length ? ` (${change.fields.join(", ")})` : "";
	return `${sign} ${change.kind.replace("_", " ")} ${change.id}${fields}`;
}

async function apply(options: Options, file: string | undefined): Promise<void> {
	if (!file) throw usageError("apply needs a configuration file");
	let body: string;
	try {
		body = readFileSync(file, "utf8");
		JSON.parse(body);
	} catch (error) {
		throw new CliError(`${file}: ${(error as Error).message}`, 1);
	}
	const headers: Record<string, string> = { "content-type": "application/json" };
	if (options.ifMatch !== undefined) headers["if-match"] = `"${options.ifMatch}"`;
	const { result, messages } = await request<{ version: number; changed: boolean; changes: ConfigChange[] }>(
		options,
		"PUT",
		`/config${options.dryRun ? "?dry_run=1" : ""}`,
		{ body, headers },
	);
	console.log(
		options.dryRun
			? `dry run against version ${result.version}: ${result.changed ? "would change" : "no change"} (nothing stored)`
			: `version ${result.version}: ${result.changed ? "changed" : "unchanged"}`,
	);
	for (const change of result.changes) console.log(formatChange(change));
	printMessages(messages);
}

async function get(options: Options): Promise<void> {
	const { result } = await request<unknown>(options, "GET", "/config");
	const json = `${JSON.stringify(result, null, 2)}\n`;
	if (options.output === undefined) return void process.stdout.write(json);
	try {
		writeFileSync(options.output, json);
	} catch (error) {
		throw new CliError(`${options.output}: ${(error as Error).message}`, 1);
	}
	console.log(`wrote ${options.output}`);
}

function table(rows: string[][]): string {
	const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
	return rows
		.map((row) =>
			row
				.map((cell, i) => cell.padEnd(widths[i] ?? 0))
				.join("  ")
				.trimEnd(),
		)
		.join("\n");
}

async function status(options: Options): Promise<void> {
	const { result } = await request<StatusReport>(options, "GET", "/status");
	if (options.json) return console.log(JSON.stringify(result, null, 2));
	console.log(`configuration version ${result.version}`);
	for (const error of result.load_errors ?? []) console.log(`load error: ${error}`);
	const rows = [["POOL", "ORIGIN", "HEALTH", "DRAINING", "LAST CHECK", "RTT", "RESULT"]];
	for (const pool of result.pools) {
		for (const origin of pool.origins) {
			rows.push([
				pool.id,
				origin.name,
				(origin.healthy ? "healthy" : "unhealthy") + (origin.enabled ? "" : ",disabled"),
				origin.draining ? "yes" : "no",
				origin.last_check_at ?? "-",
				origin.rtt_ms === null ? "-" : `${origin.rtt_ms}ms`,
				origin.last_check ?? "-",
			]);
		}
	}
	console.log(rows.length > 1 ? table(rows) : "no pools");
}

async function drainOrEnable(options: Options, action: "drain" | "enable", args: string[]): Promise<void> {
	const [pool, origin] = args;
	if (!pool || !origin) throw usageError(`${action} needs a pool id and an origin name`);
	const path = `/pools/${encodeURIComponent(pool)}/origins/${encodeURIComponent(origin)}/${action}`;
	const { result, messages } = await request<{ draining: boolean; since: string | null }>(options, "POST", path);
	console.log(
		result.draining ? `origin ${pool}/${origin} draining since ${result.since}` : `origin ${pool}/${origin} enabled`,
	);
	printMessages(messages);
}

async function rotateAffinityKey(options: Options): Promise<void> {
	const body = options.dropEarlier ? JSON.stringify({ drop_earlier_keys: true }) : undefined;
	const { messages } = await request<{ rotated_at: string }>(options, "POST", "/affinity/rotate", {
		...(body ? { body, headers: { "content-type": "application/json" } } : {}),
	});
	printMessages(messages);
}

async function events(options: Options): Promise<void> {
	const query = options.limit === undefined ? "" : `?limit=${encodeURIComponent(options.limit)}`;
	const { result } = await request<EventEntry[]>(options, "GET", `/events${query}`);
	if (options.json) return console.log(JSON.stringify(result, null, 2));
	for (const event of result) {
		if (event.type === "health") {
			console.log(
				`${event.at}  health  ${event.pool}/${event.origin} ${event.healthy ? "healthy" : "unhealthy"}: ${event.reason}`,
			);
		} else {
			console.log(`${event.at}  config  v${event.version} ${event.actor}: ${event.action}`);
			for (const change of event.changes) console.log(`    ${formatChange(change)}`);
		}
	}
	if (result.length === 0) console.log("no events");
}

async function main(argv: string[]): Promise<void> {
	let parsed: ReturnType<typeof parse>;
	try {
		parsed = parse(argv);
	} catch (error) {
		throw usageError((error as Error).message);
	}
	const { values, positionals } = parsed;
	const [command, ...args] = positionals;
	if (command === undefined || command === "help" || values.help) {
		process.stdout.write(USAGE);
		return;
	}
	const commands: Record<string, (options: Options) => Promise<void>> = {
		apply: (options) => apply(options, args[0]),
		get,
		status,
		drain: (options) => drainOrEnable(options, "drain", args),
		enable: (options) => drainOrEnable(options, "enable", args),
		events,
		"rotate-affinity-key": rotateAffinityKey,
	};
	const run = commands[command];
	if (!run) throw usageError(`unknown command "${command}"`);
	const token = values.token ?? process.env.SWITCHYARD_TOKEN ?? tokenFromDevVars();
	if (!token) {
		throw new CliError("no admin token: pass --token, set SWITCHYARD_TOKEN, or put ADMIN_TOKEN=... in .dev.vars", 2);
	}
	await run({
		url: values.url ?? process.env.SWITCHYARD_URL ?? DEFAULT_URL,
		token,
		json: values.json ?? false,
		dryRun: values["dry-run"] ?? false,
		ifMatch: values["if-match"],
		limit: values.limit,
		dropEarlier: values["drop-earlier"] ?? false,
		output: values.output,
	});
}

function parse(argv: string[]) {
	return parseArgs({
		args: argv,
		allowPositionals: true,
		options: {
			url: { type: "string" },
			token: { type: "string" },
			json: { type: "boolean" },
			"dry-run": { type: "boolean" },
			"if-match": { type: "string" },
			limit: { type: "string" },
			"drop-earlier": { type: "boolean" },
			output: { type: "string", short: "o" },
			help: { type: "boolean", short: "h" },
		},
	});
}

main(process.argv.slice(2)).catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
	process.exitCode = error instanceof CliError ? error.exitCode : 1;
});
