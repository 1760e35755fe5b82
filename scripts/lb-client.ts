/**
 * The admin API as scripts/lb.ts calls it: one request with the token, its envelope or a CliError
 * naming what went wrong, and the small printers the commands share.
 */

export interface Options {
	url: string;
	token: string;
	json: boolean;
	dryRun: boolean;
	ifMatch?: string;
	limit?: string;
	dropEarlier: boolean;
	output?: string;
	weight?: string;
}

export interface Envelope<T> {
	success: boolean;
	errors: { code: number; message: string; field?: string }[];
	messages: string[];
	result: T;
}

/** Mirrors ConfigChange in src/config/diff.ts. */
export interface ConfigChange {
	kind: string;
	id: string;
	change: "added" | "removed" | "changed";
	fields?: string[];
}

/** A failure with its exit code; main prints the message to stderr. */
export class CliError extends Error {
	readonly exitCode: number;
	constructor(message: string, exitCode: number) {
		super(message);
		this.exitCode = exitCode;
	}
}

/** Sends one admin API request; returns the envelope on success, throws CliError otherwise. */
export async function request<T>(
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

/** The raw-IP note is said once per run, however many origins and requests it is about. */
const RAW_IP = /^(\S+): "([^"]+)" is an IP address; (a deployed Worker cannot fetch raw IPs.*)$/;
let rawIpNoted = false;

/**
 * Prints the API's notes. The raw-IP warning comes once per origin from the API; it is printed once
 * per run, naming the fields it is about.
 */
export function printMessages(messages: readonly string[]): void {
	const rawIps = messages.map((message) => RAW_IP.exec(message)).filter((match) => match !== null);
	for (const message of messages) if (!RAW_IP.test(message)) console.log(`note: ${message}`);
	const [first] = rawIps;
	if (!first || rawIpNoted) return;
	rawIpNoted = true;
	const where = rawIps.map((match) => `${match[1]} "${match[2]}"`).join(", ");
	console.log(
		`note: ${rawIps.length === 1 ? "an origin address is" : "origin addresses are"} IP addresses (${where}): ${first[3]}`,
	);
}

export function formatChange(change: ConfigChange): string {
	const sign = { added: "+", removed: "-", changed: "~" }[change.change];
	const fields = change.fields?.length ? ` (${change.fields.join(", ")})` : "";
	return `${sign} ${change.kind.replace("_", " ")} ${change.id}${fields}`;
}

export function table(rows: string[][]): string {
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
