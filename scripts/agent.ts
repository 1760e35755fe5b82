/**
 * The registration agent (issue 22): registers one origin in a pool that takes registrations,
 * renews its lease at a third of the TTL until stopped (SIGINT, SIGTERM), then deregisters it.
 * Run it beside the origin, as its sidecar:
 *
 *   npm run agent -- --url https://lb.example.com --pool web --name web-7 --address https://web-7.internal [--ttl 30]
 *
 * The token: --token, else the env REGISTRATION_TOKEN or SWITCHYARD_TOKEN, else REGISTRATION_TOKEN
 * or ADMIN_TOKEN in .dev.vars. A refused registration (400, 403, 404, 409) stops the agent with exit
 * code 1; an unreachable balancer or a 5xx is retried at the next beat, so the agent may start first.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDevVars } from "../demo/dev-vars.ts";

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `usage: npm run agent -- --url <balancer URL> --pool <pool> --name <name> --address <address>
                        [--port <port>] [--weight <w>] [--ttl <seconds>] [--token <token>]

Registers the origin, renews its lease every ttl/3 seconds until stopped, then deregisters it.
`;

interface AgentOptions {
	readonly url: string;
	readonly pool: string;
	readonly name: string;
	readonly token: string;
	readonly body: { address: string; port?: number; weight?: number; ttl_s: number };
}

class Refused extends Error {}

function log(line: string): void {
	console.log(`[agent ${new Date().toISOString()}] ${line}`);
}

function toOptions(argv: string[]): AgentOptions {
	const { values } = parseArgs({
		args: argv,
		options: {
			url: { type: "string" },
			pool: { type: "string" },
			name: { type: "string" },
			address: { type: "string" },
			port: { type: "string" },
			weight: { type: "string" },
			ttl: { type: "string", default: "30" },
			token: { type: "string" },
			help: { type: "boolean", short: "h" },
		},
	});
	if (values.help) {
		process.stdout.write(USAGE);
		process.exit(0);
	}
	const missing = (["url", "pool", "name", "address"] as const).filter((key) => !values[key]);
	if (missing.length > 0) throw new Refused(`missing --${missing.join(", --")}\n\n${USAGE}`);
	const ttl = Number(values.ttl);
	if (!Number.isInteger(ttl) || ttl < 3)
		throw new Refused(`--ttl must be a whole number of seconds, at least 3\n\n${USAGE}`);
	const devVars = join(PROJECT_ROOT, ".dev.vars");
	const fromFile = existsSync(devVars) ? parseDevVars(readFileSync(devVars, "utf8")) : {};
	const token =
		values.token ||
		process.env.REGISTRATION_TOKEN ||
		process.env.SWITCHYARD_TOKEN ||
		fromFile.REGISTRATION_TOKEN ||
		fromFile.ADMIN_TOKEN;
	if (!token) throw new Refused("no token: pass --token, set REGISTRATION_TOKEN, or put it in .dev.vars");
	return {
		url: (values.url as string).replace(/\/+$/, ""),
		pool: values.pool as string,
		name: values.name as string,
		token,
		body: {
			address: values.address as string,
			...(values.port ? { port: Number(values.port) } : {}),
			...(values.weight ? { weight: Number(values.weight) } : {}),
			ttl_s: ttl,
		},
	};
}

/** One call of the registration route; a refusal throws Refused, anything else retryable throws Error. */
async function call(
	options: AgentOptions,
	method: "PUT" | "DELETE",
): Promise<{ status: number; result?: { expires_at?: string } }> {
	const path = `/_lb/api/pools/${encodeURIComponent(options.pool)}/registrations/${encodeURIComponent(options.name)}`;
	const response = await fetch(`${options.url}${path}`, {
		method,
		headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
		...(method === "PUT" ? { body: JSON.stringify(options.body) } : {}),
		signal: AbortSignal.timeout(10_000),
	});
	const envelope = (await response.json().catch(() => ({}))) as {
		result?: { expires_at?: string };
		errors?: { message: string }[];
	};
	if (response.status >= 500) throw new Error(`HTTP ${response.status}: ${envelope.errors?.[0]?.message ?? ""}`);
	if (response.status >= 400 && !(method === "DELETE" && response.status === 404)) {
		throw new Refused(
			`${method} refused (HTTP ${response.status}): ${envelope.errors?.map((e) => e.message).join("; ")}`,
		);
	}
	return { status: response.status, ...(envelope.result ? { result: envelope.result } : {}) };
}

async function main(): Promise<void> {
	const options = toOptions(process.argv.slice(2));
	const where = `${options.pool}/${options.name}`;
	const beatMs = (options.body.ttl_s * 1000) / 3;
	let failing = false;
	let timer: NodeJS.Timeout | undefined;
	let stopping = false;

	const beat = async () => {
		try {
			const { status, result } = await call(options, "PUT");
			if (status === 201 || failing)
				log(`registered ${where} (${options.body.address}); lease until ${result?.expires_at}`);
			failing = false;
		} catch (error) {
			if (error instanceof Refused) {
				log(error.message);
				process.exit(1);
			}
			if (!failing)
				log(`could not renew ${where}, retrying every ${Math.round(beatMs)} ms: ${(error as Error).message}`);
			failing = true;
		}
		if (!stopping) timer = setTimeout(beat, beatMs);
	};

	const stop = async () => {
		if (stopping) return;
		stopping = true;
		clearTimeout(timer);
		try {
			await call(options, "DELETE");
			log(`deregistered ${where}`);
			process.exit(0);
		} catch (error) {
			log(`could not deregister ${where}: ${(error as Error).message}; its lease ends by itself`);
			process.exit(1);
		}
	};
	process.on("SIGINT", () => void stop());
	process.on("SIGTERM", () => void stop());
	await beat();
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
	process.exitCode = error instanceof Refused ? 2 : 1;
});
