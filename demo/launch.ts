/**
 * `npm run dev`: the local demo. Starts three demo origins on loopback, the real `wrangler dev`
 * with the balancer, loads the demo configuration through the admin API, fires the cron trigger
 * every few seconds (wrangler dev does not run cron triggers by itself), and prints what to curl.
 * Ctrl-C stops everything it started.
 *
 *   node demo/launch.ts [--port 8787] [--origin-port 9001] [--persist-to DIR]
 *   (--origin-port 0: any free ports; --persist-to: local state elsewhere than .wrangler/state)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BannerOrigin, toOriginState, toOriginSummary } from "./banner.ts";
import { DEMO_CHECK_INTERVAL_S, type DemoOrigin, toDemoConfig } from "./config.ts";
import { ensureAdminToken } from "./dev-vars.ts";
import { PROJECT_ROOT, startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";

const ORIGIN_NAMES = ["origin-1", "origin-2", "origin-3"];

/** wrangler's offline noise: it cannot download the Request.cf placeholder without internet. */
const OFFLINE_NOISE = [/Unable to fetch the `Request\.cf` object/, /getaddrinfo ENOTFOUND/, /^\s+at /];

interface RunningOrigin extends DemoOrigin {
	readonly process: ChildProcess;
}

function startOriginProcess(name: string, port: number): Promise<RunningOrigin> {
	const child = spawn(
		process.execPath,
		[join(PROJECT_ROOT, "demo", "origin.ts"), "--name", name, "--port", String(port)],
		{
			stdio: ["ignore", "pipe", "pipe"],
		},
	);
	return new Promise((resolve, reject) => {
		let output = "";
		const onData = (chunk: Buffer) => {
			output += chunk.toString();
			const match = /listening on (http:\/\/\S+)/.exec(output);
			if (match) resolve({ name, url: match[1] as string, process: child });
		};
		child.stdout?.on("data", onData);
		child.stderr?.on("data", onData);
		child.once("exit", (code) => reject(new Error(`${name} exited (code ${code}) before listening:\n${output}`)));
	});
}

/** SIGTERM, and resolve once the process has exited (at once if it already has). */
function stopProcess(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	child.kill("SIGTERM");
	return exited;
}

/** The demo pool's origins as /status has them (none when it does not answer: the banner says "unknown"). */
async function demoPoolStates(url: string, token: string): Promise<BannerOrigin[]> {
	try {
		const response = await fetch(`${url}/_lb/api/status`, { headers: { authorization: `Bearer ${token}` } });
		const envelope = (await response.json()) as { result?: { pools?: { id: string; origins: BannerOrigin[] }[] } };
		return envelope.result?.pools?.find((pool) => pool.id === "demo")?.origins ?? [];
	} catch {
		return [];
	}
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			port: { type: "string", default: "8787" },
			"origin-port": { type: "string", default: "9001" },
			"persist-to": { type: "string" },
		},
	});
	const port = Number(values.port);
	const originPort = Number(values["origin-port"]);
	if (
		!Number.isInteger(port) ||
		port < 1 ||
		port > 65535 ||
		!Number.isInteger(originPort) ||
		originPort < 0 ||
		originPort > 65533
	) {
		console.error("usage: node demo/launch.ts [--port 1-65535] [--origin-port 0-65533]");
		process.exit(2);
	}

	const devVarsPath = join(PROJECT_ROOT, ".dev.vars");
	const { token, created } = ensureAdminToken(devVarsPath);
	if (created) console.log(`Created ${devVarsPath} with a random ADMIN_TOKEN.`);

	const origins: RunningOrigin[] = [];
	let wrangler: WranglerDev | undefined;
	let cron: NodeJS.Timeout | undefined;
	let stopping = false;
	const stopAll = async (code: number) => {
		if (stopping) return;
		stopping = true;
		clearInterval(cron);
		console.log("\nStopping the demo…");
		await wrangler?.stop();
		await Promise.all(origins.map((origin) => stopProcess(origin.process)));
		process.exit(code);
	};
	process.on("SIGINT", () => void stopAll(0));
	process.on("SIGTERM", () => void stopAll(0));

	try {
		for (const [i, name] of ORIGIN_NAMES.entries()) {
			const origin = await startOriginProcess(name, originPort === 0 ? 0 : originPort + i);
			origins.push(origin);
			origin.process.once("exit", () => {
				if (!stopping)
					console.log(`[demo] ${name} (pid ${origin.process.pid}) exited; the next health check marks it down.`);
			});
		}
		console.log("Starting wrangler dev…");
		wrangler = await startWranglerDev({
			port,
			// request.cf is a placeholder locally: let x-switchyard-dev-* headers stand in (dev only).
			vars: { DEV_GEO_HEADERS: "true" },
			persistTo: values["persist-to"],
			onLine: (line) => {
				if (line.trim() && !OFFLINE_NOISE.some((noise) => noise.test(line))) console.log(`[wrangler] ${line}`);
			},
		});
		const response = await fetch(`${wrangler.url}/_lb/api/config`, {
			method: "PUT",
			headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
			body: JSON.stringify(toDemoConfig(origins)),
		});
		const envelope = (await response.json()) as { result?: { version?: number } };
		if (!response.ok)
			throw new Error(`loading the demo configuration failed: ${response.status} ${JSON.stringify(envelope)}`);

		const fireCron = async () => {
			try {
				const cronResponse = await fetch(`${wrangler?.url}/__scheduled?cron=*+*+*+*+*`);
				await cronResponse.body?.cancel();
			} catch (error) {
				if (!stopping) console.error("[demo] firing the cron trigger failed:", error);
			}
		};
		await fireCron();
		cron = setInterval(fireCron, DEMO_CHECK_INTERVAL_S * 1000);

		// What the checks and the persisted state say: a drain kept from an earlier run shows here.
		const states = await demoPoolStates(wrangler.url, token);
		const stateOf = (name: string) => {
			const origin = states.find((entry) => entry.name === name);
			return origin ? toOriginState(origin) : "unknown";
		};
		const lb = `http://localhost:${port}`;
		console.log(`
Switchyard is balancing ${lb} over three origins (configuration version ${envelope.result?.version})${toOriginSummary(states)}.

  origins   ${origins.map((origin) => `${origin.name} ${origin.url} (pid ${origin.process.pid})  ${stateOf(origin.name)}`).join("\n            ")}
  admin     ${lb}/_lb/api/  (Authorization: Bearer <ADMIN_TOKEN from .dev.vars>)
  dashboard ${lb}/_lb/  (type the ADMIN_TOKEN from .dev.vars into the page)
  health    checked every ${DEMO_CHECK_INTERVAL_S} s: the demo fires the cron trigger through /__scheduled

Try:
  for i in 1 2 3 4 5 6; do curl -s -D - -o /dev/null ${lb}/ | grep -i x-switchyard-origin; done
  curl -s ${lb}/work?ms=250
  curl -s -X POST ${origins[1]?.url}/_origin/fail      # origin-2 fails /health: out of rotation within ${DEMO_CHECK_INTERVAL_S} s
  curl -s -X POST ${origins[1]?.url}/_origin/recover   # and back in
  curl -s -H "Authorization: Bearer $(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)" ${lb}/_lb/api/status
  node demo/origin.ts --name origin-4 --port 9004 &   # a fourth origin, registered by its agent (Ctrl-C deregisters it):
  npm run agent -- --url ${lb} --pool demo --name origin-4 --address http://127.0.0.1:9004 --ttl 9
  curl -s -D - -o /dev/null -H 'Host: geo.localhost' -H 'x-switchyard-dev-lat: 50.1' -H 'x-switchyard-dev-lon: 8.7' ${lb}/ | grep -i x-switchyard   # a visitor in Frankfurt: the EU pool

Ctrl-C stops everything.
`);
	} catch (error) {
		console.error(error instanceof Error ? error.message : error);
		await stopAll(1);
	}
}

await main();
