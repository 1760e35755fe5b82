/**
 * A small command-line client for the admin API (/_lb/api/), in Cloudflare's response envelope.
 *
 *   npm run lb -- apply switchyard.config.json --dry-run
 *   npm run lb -- get -o config.json      (npm prints its own banner on stdout: redirect with `npm run -s`)
 *   npm run lb -- status
 *   npm run lb -- origins add main web-3 https://web-3.example.com --weight 0.5 --dry-run
 *
 * Exit codes: 0 done, 1 the API refused or could not be reached, 2 bad usage or no token.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDevVars } from "../demo/dev-vars.ts";
import { CliError, type ConfigChange, formatChange, type Options, printMessages, request, table } from "./lb-client.ts";
import { addOrigin, balancers, origins, pools, registrations, removeOrigin } from "./lb-objects.ts";

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_URL = "http://localhost:8787";

/** Every command: its synopsis (after `npm run lb --`) and what it does, for the usage and its --help. */
const COMMANDS: readonly { name: string; synopsis: string; does: string }[] = [
	{
		name: "apply",
		synopsis: "apply <file.json> [--dry-run] [--if-match <version>]",
		does: "replace the whole configuration with the file's (--dry-run: show the changes, store nothing)",
	},
	{
		name: "get",
		synopsis: "get [-o <file>]",
		does: "the configuration as JSON, printed or written to a file that apply takes back",
	},
	{ name: "status", synopsis: "status [--json]", does: "health and drains of every origin" },
	{ name: "pools", synopsis: "pools [--json]", does: "the pools: id, name, monitor, enabled origins" },
	{ name: "origins", synopsis: "origins <pool> [--json]", does: "the origins of a pool: address, weight, enabled" },
	{
		name: "origins add",
		synopsis: "origins add <pool> <name> <address> [--weight <w>] [--dry-run] [--json]",
		does: "add an origin to a pool (weight 0-1, or a whole number; default 1)",
	},
	{
		name: "origins remove",
		synopsis: "origins remove <pool> <name> [--dry-run] [--json]",
		does: "remove an origin from a pool",
	},
	{ name: "lbs", synopsis: "lbs [--json]", does: "the load balancers: hostname, id, pools, zone" },
	{
		name: "registrations",
		synopsis: "registrations <pool> [--json]",
		does: "the origins registered in a pool (self-registration): address, weight, lease",
	},
	{ name: "drain", synopsis: "drain <pool> <origin>", does: "send no new requests to an origin" },
	{ name: "enable", synopsis: "enable <pool> <origin>", does: "end a drain (and enable the origin)" },
	{
		name: "events",
		synopsis: "events [--limit N] [--json]",
		does: "audit log and health transitions, newest first",
	},
	{
		name: "rotate-affinity-key",
		synopsis: "rotate-affinity-key [--drop-earlier]",
		does: "a new session affinity cookie key (earlier cookies keep working unless --drop-earlier)",
	},
	{ name: "help", synopsis: "help [<command>]", does: "this text, or one command's" },
];

const OPTIONS = `options:
  --json           print the API's answer as JSON
  --dry-run        check and show a change without storing it (reads change nothing either way)
  --url <url>      admin API base URL (env SWITCHYARD_URL; empty or unset: ${DEFAULT_URL})
  --token <token>  admin token (env SWITCHYARD_TOKEN, else ADMIN_TOKEN in .dev.vars)
  -h, --help       help for the command
`;

const USAGE = `usage: npm run lb -- <command> [options]

commands:
${COMMANDS.map((command) => `  ${command.synopsis}\n      ${command.does}`).join("\n")}

${OPTIONS}`;

/** One command's help: its synopsis, what it does, and the options. */
function helpOf(name: string): string {
	const command = COMMANDS.find((entry) => entry.name === name);
	if (!command) return USAGE;
	return `usage: npm run lb -- ${command.synopsis}\n\n${command.does}\n\n${OPTIONS}`;
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
function usageError(message: string, command?: string): CliError {
	return new CliError(`${message}\n\n${command === undefined ? USAGE : helpOf(command)}`, 2);
}

function tokenFromDevVars(): string | undefined {
	const path = join(PROJECT_ROOT, ".dev.vars");
	return existsSync(path) ? parseDevVars(readFileSync(path, "utf8")).ADMIN_TOKEN : undefined;
}

/** Sends one admin API request; returns the envelope on success, throws CliError otherwise. */
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

/** The command a command line names: "origins add" and "origins remove" are commands of their own. */
function commandOf(positionals: readonly string[]): { name: string | undefined; args: string[] } {
	const [first, second, ...rest] = positionals;
	if (first === "origins" && (second === "add" || second === "remove"))
		return { name: `origins ${second}`, args: rest };
	return { name: first, args: positionals.slice(1) };
}

/** The command's work, or a usage error (exit 2) when its arguments are not what it takes. */
function toRun(name: string, args: readonly string[]): ((options: Options) => Promise<void>) | undefined {
	const need = (count: number, what: string) => {
		if (args.length !== count) throw usageError(`${name} needs ${what}`, name);
	};
	switch (name) {
		case "apply":
			return (options) => apply(options, args[0]);
		case "get":
			return get;
		case "status":
			return status;
		case "pools":
			return pools;
		case "origins":
			need(1, "a pool id");
			return (options) => origins(options, args[0] as string);
		case "origins add":
			need(3, "a pool id, an origin name and an address");
			return (options) => addOrigin(options, args[0] as string, args[1] as string, args[2] as string);
		case "origins remove":
			need(2, "a pool id and an origin name");
			return (options) => removeOrigin(options, args[0] as string, args[1] as string);
		case "lbs":
			return balancers;
		case "registrations":
			need(1, "a pool id");
			return (options) => registrations(options, args[0] as string);
		case "drain":
		case "enable":
			return (options) => drainOrEnable(options, name, [...args]);
		case "events":
			return events;
		case "rotate-affinity-key":
			return rotateAffinityKey;
		default:
			return undefined;
	}
}

async function main(argv: string[]): Promise<void> {
	let parsed: ReturnType<typeof parse>;
	try {
		parsed = parse(argv);
	} catch (error) {
		throw usageError((error as Error).message);
	}
	const { values, positionals } = parsed;
	const { name, args } = commandOf(positionals);
	if (name === undefined || name === "help") {
		process.stdout.write(name === "help" && args.length > 0 ? helpOf(commandOf(args).name ?? "") : USAGE);
		return;
	}
	if (!COMMANDS.some((command) => command.name === name)) throw usageError(`unknown command "${name}"`);
	if (values.help) {
		process.stdout.write(helpOf(name));
		return;
	}
	const run = toRun(name, args);
	if (!run) throw usageError(`unknown command "${name}"`);
	// An empty variable is an unset one (a shell's `SWITCHYARD_URL=` or a CI default).
	const token = values.token || process.env.SWITCHYARD_TOKEN || tokenFromDevVars();
	if (!token) {
		throw new CliError("no admin token: pass --token, set SWITCHYARD_TOKEN, or put ADMIN_TOKEN=... in .dev.vars", 2);
	}
	await run({
		url: values.url || process.env.SWITCHYARD_URL || DEFAULT_URL,
		token,
		json: values.json ?? false,
		dryRun: values["dry-run"] ?? false,
		ifMatch: values["if-match"],
		limit: values.limit,
		dropEarlier: values["drop-earlier"] ?? false,
		output: values.output,
		weight: values.weight,
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
			weight: { type: "string" },
			help: { type: "boolean", short: "h" },
		},
	});
}

main(process.argv.slice(2)).catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
	process.exitCode = error instanceof CliError ? error.exitCode : 1;
});
