/**
 * The commands of scripts/lb.ts about objects: `pools`, `origins <pool>`, `origins add`,
 * `origins remove`, `registrations <pool>` and `lbs`. Each takes --json (the API's answer as
 * JSON) and --dry-run (a change is checked and shown, not stored; a read changes nothing either way).
 */
import { CliError, type ConfigChange, formatChange, type Options, printMessages, request, table } from "./lb-client.ts";

interface PoolDoc {
	id: string;
	name: string;
	enabled: boolean;
	monitor?: string;
	origins: { name: string; address: string; enabled: boolean; weight: number }[];
}

interface BalancerDoc {
	id?: string;
	name: string;
	enabled: boolean;
	default_pools: string[];
	fallback_pool?: string;
	zone_id?: string;
}

/** A write's answer beside its result: what changed and whether it was a dry run. */
interface WriteEnvelope {
	dry_run?: boolean;
	changes?: ConfigChange[];
}

const pool = (id: string) => `/pools/${encodeURIComponent(id)}`;

export async function pools(options: Options): Promise<void> {
	const { result } = await request<PoolDoc[]>(options, "GET", "/pools");
	if (options.json) return console.log(JSON.stringify(result, null, 2));
	const rows = [["POOL", "NAME", "ENABLED", "MONITOR", "ORIGINS"]];
	for (const item of result) {
		const enabled = item.origins.filter((origin) => origin.enabled).length;
		rows.push([
			item.id,
			item.name,
			item.enabled ? "yes" : "no",
			item.monitor ?? "-",
			`${enabled}/${item.origins.length}`,
		]);
	}
	console.log(rows.length > 1 ? table(rows) : "no pools");
}

export async function origins(options: Options, poolId: string): Promise<void> {
	const { result } = await request<PoolDoc["origins"]>(options, "GET", `${pool(poolId)}/origins`);
	if (options.json) return console.log(JSON.stringify(result, null, 2));
	const rows = [["ORIGIN", "ADDRESS", "WEIGHT", "ENABLED"]];
	for (const origin of result)
		rows.push([origin.name, origin.address, String(origin.weight), origin.enabled ? "yes" : "no"]);
	console.log(rows.length > 1 ? table(rows) : `pool ${poolId} has no origins`);
}

/** Mirrors RegistrationView in src/contract/discovery.ts. */
interface RegistrationDoc {
	name: string;
	address: string;
	port: number | null;
	weight: number;
	ttl_s: number;
	registered_at: string;
	expires_at: string;
}

export async function registrations(options: Options, poolId: string): Promise<void> {
	const { result } = await request<RegistrationDoc[]>(options, "GET", `${pool(poolId)}/registrations`);
	if (options.json) return console.log(JSON.stringify(result, null, 2));
	const rows = [["ORIGIN", "ADDRESS", "WEIGHT", "TTL", "REGISTERED", "EXPIRES"]];
	for (const item of result) {
		const address = item.port === null ? item.address : `${item.address}:${item.port}`;
		rows.push([item.name, address, String(item.weight), `${item.ttl_s}s`, item.registered_at, item.expires_at]);
	}
	console.log(rows.length > 1 ? table(rows) : `pool ${poolId} has no registered origins`);
}

/** Prints a write's outcome: JSON with --json, else a line saying what was (or would be) done, its changes and notes. */
function printWrite<T>(
	options: Options,
	envelope: { result: T; messages: string[] } & WriteEnvelope,
	done: string,
	wouldBeDone: string,
): void {
	if (options.json) {
		const { result, messages, dry_run = false, changes = [] } = envelope;
		console.log(JSON.stringify({ dry_run, changes, messages, result }, null, 2));
		return;
	}
	console.log(options.dryRun ? `dry run: would ${wouldBeDone} (nothing stored)` : done);
	for (const change of envelope.changes ?? []) console.log(formatChange(change));
	printMessages(envelope.messages);
}

function toWeight(value: string | undefined): number | undefined {
	if (value === undefined) return undefined;
	const weight = Number(value);
	if (value.trim() === "" || !Number.isFinite(weight))
		throw new CliError(`--weight must be a number, got "${value}"`, 2);
	return weight;
}

export async function addOrigin(options: Options, poolId: string, name: string, address: string): Promise<void> {
	const weight = toWeight(options.weight);
	const body = JSON.stringify({ name, address, ...(weight === undefined ? {} : { weight }) });
	const envelope = await request<PoolDoc["origins"][number]>(
		options,
		"POST",
		`${pool(poolId)}/origins${options.dryRun ? "?dry_run=1" : ""}`,
		{ body, headers: { "content-type": "application/json" } },
	);
	printWrite(
		options,
		envelope as typeof envelope & WriteEnvelope,
		`added origin ${poolId}/${name}`,
		`add origin ${poolId}/${name}`,
	);
}

export async function removeOrigin(options: Options, poolId: string, name: string): Promise<void> {
	const path = `${pool(poolId)}/origins/${encodeURIComponent(name)}${options.dryRun ? "?dry_run=1" : ""}`;
	const envelope = await request<null>(options, "DELETE", path);
	printWrite(
		options,
		envelope as typeof envelope & WriteEnvelope,
		`removed origin ${poolId}/${name}`,
		`remove origin ${poolId}/${name}`,
	);
}

export async function balancers(options: Options): Promise<void> {
	const { result } = await request<BalancerDoc[]>(options, "GET", "/load_balancers");
	if (options.json) return console.log(JSON.stringify(result, null, 2));
	const rows = [["NAME", "ID", "ENABLED", "DEFAULT POOLS", "FALLBACK", "ZONE"]];
	for (const lb of result) {
		rows.push([
			lb.name,
			lb.id ?? "-",
			lb.enabled ? "yes" : "no",
			lb.default_pools.join(","),
			lb.fallback_pool ?? lb.default_pools.at(-1) ?? "-",
			lb.zone_id ?? "-",
		]);
	}
	console.log(rows.length > 1 ? table(rows) : "no load balancers");
}
