/**
 * Writes the local state folder test/e2e/upgrade-e2e.test.ts starts on: the one `wrangler dev`
 * leaves behind after a short, scripted life on the code of a given checkout (the commit before a
 * storage change). See test/fixtures/state-before-house/README.md for how the committed one was made.
 *
 *   node scripts/make-upgrade-fixture.ts [checkout] [out]
 *
 * checkout defaults to the current folder, out to <checkout>/test/fixtures/state-before-house/state.
 *
 * With the checkout's own demo origins and `wrangler dev` (so its code writes the state): three
 * origins on fixed loopback ports, a configuration with a 5 s monitor, one origin drained, one
 * failing its health checks until /status shows it down, one proxied request. Prints what the
 * admin API then shows (the test's expectations), stops wrangler and copies its Durable Object
 * storage (v3/do, as wrangler left it: SQLite files with their -wal and -shm) to `out`. The rest of
 * the state folder is Miniflare's own (cache, KV, R2, D1, a local trace store of some MB), which
 * this Worker does not use.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { OriginServer } from "../demo/origin.ts";
import type { WranglerDev } from "../demo/wrangler-dev.ts";

/** The test starts its origins on these same ports (below Linux's ephemeral range, so no client socket takes them). */
const FIXTURE_ORIGINS = [
	{ name: "alpha", port: 29101 },
	{ name: "bravo", port: 29102 },
	{ name: "charlie", port: 29103 },
] as const;
const TOKEN = "upgrade-fixture-token";
const POLL_MS = 250;
const DEADLINE_MS = 30_000;

const checkout = resolve(process.argv[2] ?? process.cwd());
const out = resolve(process.argv[3] ?? join(checkout, "test/fixtures/state-before-house/state"));
if (existsSync(out) && readdirSync(out).length > 0) throw new Error(`${out} is not empty`);
// A bundled seed would be applied by the registry and show up in the state.
if (existsSync(join(checkout, "switchyard.config.json"))) throw new Error("remove switchyard.config.json first");

/** A module of the checkout, so its code (not this one's) runs. */
function fromCheckout<T>(file: string): Promise<T> {
	return import(pathToFileURL(join(checkout, file)).href) as Promise<T>;
}
const { startOrigin } = await fromCheckout<typeof import("../demo/origin.ts")>("demo/origin.ts");
const { startWranglerDev } = await fromCheckout<typeof import("../demo/wrangler-dev.ts")>("demo/wrangler-dev.ts");

const config = {
	monitors: [
		{
			id: "m",
			path: "/health",
			expected_codes: "200",
			interval: 5,
			timeout: 2,
			retries: 0,
			consecutive_down: 1,
			consecutive_up: 2,
		},
	],
	pools: [
		{
			id: "trio",
			name: "trio",
			monitor: "m",
			origin_steering: { policy: "round_robin" },
			origins: FIXTURE_ORIGINS.map((origin) => ({ name: origin.name, address: `http://127.0.0.1:${origin.port}` })),
		},
	],
	load_balancers: [{ name: "localhost", default_pools: ["trio"] }],
};

interface OriginStatus {
	name: string;
	healthy: boolean;
	draining: boolean;
	last_check: string | null;
	[field: string]: unknown;
}

const stateDir = mkdtempSync(join(tmpdir(), "switchyard-upgrade-fixture-"));
const origins: OriginServer[] = [];
let wrangler: WranglerDev | undefined;

async function api(method: string, path: string, body?: unknown) {
	const response = await fetch(`${wrangler?.url}/_lb/api${path}`, {
		method,
		headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const json = (await response.json()) as { result: unknown };
	if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
	return { etag: response.headers.get("etag"), result: json.result };
}

async function statusOrigins(): Promise<OriginStatus[]> {
	const { result } = await api("GET", "/status");
	return (result as { pools: { origins: OriginStatus[] }[] }).pools[0]?.origins ?? [];
}

/** Fires the cron (wrangler dev --test-scheduled) until `done` holds for /status's origins. */
async function cronUntil(what: string, done: (origins: OriginStatus[]) => boolean): Promise<void> {
	const deadline = Date.now() + DEADLINE_MS;
	for (;;) {
		const fired = await fetch(`${wrangler?.url}/__scheduled?cron=*+*+*+*+*`);
		await fired.text();
		if (done(await statusOrigins())) return;
		if (Date.now() > deadline) throw new Error(`not within ${DEADLINE_MS} ms: ${what}`);
		await new Promise((resolveWait) => setTimeout(resolveWait, POLL_MS));
	}
}

try {
	for (const { name, port } of FIXTURE_ORIGINS) origins.push(await startOrigin({ name, port }));
	const [, bravo, charlie] = origins as [OriginServer, OriginServer, OriginServer];
	wrangler = await startWranglerDev({ port: 29100, vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });

	await api("PUT", "/config", config);
	await cronUntil("every origin checked and healthy", (list) =>
		list.every((origin) => origin.healthy && origin.last_check === "200"),
	);
	await api("POST", `/pools/trio/origins/${bravo.name}/drain`);
	charlie.setHealthy(false);
	await cronUntil("charlie unhealthy", (list) => list.some((origin) => origin.name === "charlie" && !origin.healthy));

	// Through the load balancer: alpha is the only origin left in rotation.
	const proxied = await fetch(`${wrangler.url.replace("127.0.0.1", "localhost")}/before-upgrade`);
	await proxied.arrayBuffer();
	const servedBy = proxied.headers.get("x-origin-name");
	if (proxied.status !== 200 || servedBy !== "alpha") throw new Error(`proxied: ${proxied.status} from ${servedBy}`);

	const events = (await api("GET", "/events")).result as { type: string }[];
	if (!events.some((event) => event.type === "config") || !events.some((event) => event.type === "health")) {
		throw new Error(`/events lacks config or health events: ${JSON.stringify(events)}`);
	}
	const current = await api("GET", "/config");
	const shown = {
		etag: current.etag,
		config: current.result,
		status: (await statusOrigins()).map((origin) => ({
			name: origin.name,
			healthy: origin.healthy,
			draining: origin.draining,
			draining_since: origin.draining_since,
			last_check: origin.last_check,
			last_error: origin.last_error,
			changed_at: origin.changed_at,
		})),
		events,
	};
	process.stdout.write(`${JSON.stringify(shown, null, "\t")}\n`);
	// Stopped first: the files are then as wrangler leaves them when it exits.
	await wrangler.stop();
	cpSync(join(stateDir, "v3", "do"), join(out, "v3", "do"), { recursive: true });
	process.stderr.write(`state written to ${out}\n`);
} finally {
	await wrangler?.stop();
	await Promise.all(origins.map((origin) => origin.close()));
	rmSync(stateDir, { recursive: true, force: true });
}
