/**
 * The fault suite's end-to-end harness: real origins on loopback, the real `wrangler dev` on its own
 * persisted state, the admin API, a bounded load generator, polls with deadlines, and the count of
 * requests still in flight that /status reports. Every case stops what it started (`stop`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach } from "vitest";
import { type OriginServer, startOrigin } from "../../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../../demo/wrangler-dev.ts";
import { adminCall } from "../../support/admin-api.ts";
import { freePort } from "../../support/ports.ts";

export const TOKEN = "faults-admin-token";
/** The load balancer every case configures: requests to `localhost` reach it. */
export const HOST = "localhost";

export interface Balancer {
	wrangler: WranglerDev;
	readonly port: number;
	readonly origins: Map<string, OriginServer>;
	readonly stateDir: string;
	/** The balancer's URL for proxied requests (Host: localhost). */
	readonly url: string;
	admin(method: string, path: string, body?: unknown): Promise<Response>;
	/** GET an admin path's `result`; throws on a non-2xx answer. */
	result<T>(path: string): Promise<T>;
	/** Restarts `wrangler dev` on the same port and persisted state. */
	restart(): Promise<void>;
	/** Stops an origin abruptly (connections destroyed) — a killed process, as clients see it. */
	kill(name: string): Promise<void>;
	/** Starts an origin again on its old port. */
	revive(name: string): Promise<OriginServer>;
	stop(): Promise<void>;
}

export async function startBalancer(names: readonly string[], vars: Record<string, string> = {}): Promise<Balancer> {
	const origins = new Map<string, OriginServer>();
	for (const origin of await Promise.all(names.map((name) => startOrigin({ name })))) origins.set(origin.name, origin);
	const stateDir = mkdtempSync(join(tmpdir(), "switchyard-faults-"));
	const port = await freePort();
	const start = () => startWranglerDev({ port, vars: { ADMIN_TOKEN: TOKEN, ...vars }, persistTo: stateDir });
	const balancer: Balancer = {
		wrangler: await start(),
		port,
		origins,
		stateDir,
		url: `http://localhost:${port}`,
		admin: (method, path, body) => adminCall(`http://127.0.0.1:${port}`, TOKEN, method, path, body),
		async result<T>(path: string): Promise<T> {
			const response = await balancer.admin("GET", path);
			const text = await response.text();
			if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text}`);
			return (JSON.parse(text) as { result: T }).result;
		},
		async restart() {
			await balancer.wrangler.stop();
			balancer.wrangler = await start();
		},
		async kill(name) {
			await origins.get(name)?.close();
		},
		async revive(name) {
			const old = origins.get(name);
			if (!old) throw new Error(`no origin ${name}`);
			const origin = await startOrigin({ name, port: old.port });
			origins.set(name, origin);
			return origin;
		},
		async stop() {
			await balancer.wrangler.stop();
			await Promise.all([...origins.values()].map((origin) => origin.close()));
			rmSync(stateDir, { recursive: true, force: true });
		},
	};
	return balancer;
}

/** PUTs a configuration; throws unless it was accepted. */
export async function putConfig(balancer: Balancer, config: unknown): Promise<void> {
	const response = await balancer.admin("PUT", "/config", config);
	const text = await response.text();
	if (response.status !== 200) throw new Error(`PUT /config: ${response.status} ${text}`);
}

/** One pool "main" over the named origins (round robin), one load balancer on HOST. */
export function poolConfig(
	balancer: Balancer,
	names: readonly string[],
	options: { monitor?: Record<string, unknown>; proxy?: Record<string, unknown>; lb?: Record<string, unknown> } = {},
) {
	return {
		monitors: [
			{
				id: "health",
				path: "/health",
				expected_codes: "2xx",
				interval: 60,
				timeout: 2,
				retries: 0,
				...options.monitor,
			},
		],
		pools: [
			{
				id: "main",
				name: "main",
				monitor: "health",
				origin_steering: { policy: "round_robin" },
				origins: names.map((name) => ({ name, address: balancer.origins.get(name)?.url })),
			},
		],
		load_balancers: [
			{
				name: HOST,
				default_pools: ["main"],
				slow_start_s: 0,
				// Which planner rotates must not depend on how busy the machine is (the latency budget,
				// issue 16): cases that count on round robin's order would see the isolate's own turn.
				counter_rtt_budget_ms: 0,
				proxy: { debug_headers: true, ...options.proxy },
				...options.lb,
			},
		],
	};
}

/** Fires the cron trigger as Cloudflare would, at `time`, and waits for its sweep. */
export async function fireCron(balancer: Balancer, time = Date.now()): Promise<void> {
	const response = await fetch(`http://127.0.0.1:${balancer.port}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${time}`);
	await response.text();
	if (!response.ok) throw new Error(`cron: ${response.status}`);
}

export interface Sent {
	readonly i: number;
	readonly status: number;
	/** x-switchyard-origin, when the balancer said. */
	readonly origin: string | null;
	readonly startedAt: number;
	readonly ms: number;
	/** The network error, when there was no answer at all. */
	readonly error?: string;
	readonly headers?: Headers;
	readonly body?: Uint8Array;
}

/**
 * Sends requests through the balancer from `concurrency` clients, one after another each, until
 * `count` were sent or `until()` says stop (checked before each request); every answer's body is
 * read. Bounded: `count` is required.
 */
export async function load(
	balancer: Balancer,
	options: {
		count: number;
		concurrency?: number;
		until?: () => boolean;
		request?: (i: number) => { path: string; init?: RequestInit };
		keepBody?: boolean;
		timeoutMs?: number;
	},
): Promise<Sent[]> {
	const sent: Sent[] = [];
	let next = 0;
	const client = async () => {
		while (next < options.count && !options.until?.()) {
			const i = next++;
			const { path, init } = options.request?.(i) ?? { path: `/load/${i}` };
			const startedAt = Date.now();
			try {
				const response = await fetch(`${balancer.url}${path}`, {
					...init,
					signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
				});
				const body = new Uint8Array(await response.arrayBuffer());
				sent.push({
					i,
					status: response.status,
					origin: response.headers.get("x-switchyard-origin"),
					startedAt,
					ms: Date.now() - startedAt,
					headers: response.headers,
					...(options.keepBody ? { body } : {}),
				});
			} catch (error) {
				sent.push({ i, status: 0, origin: null, startedAt, ms: Date.now() - startedAt, error: String(error) });
			}
		}
	};
	await Promise.all(Array.from({ length: options.concurrency ?? 4 }, client));
	return sent.sort((a, b) => a.i - b.i);
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
	what: string,
	check: () => Promise<T | undefined>,
	{ timeoutMs = 15_000, intervalMs = 100 } = {},
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
}

interface StatusShape {
	pools: { id: string; origins: { name: string; in_flight: number; healthy: boolean; pending?: boolean }[] }[];
	counters: { name: string; answered: boolean; in_flight?: number }[];
}

/** Requests still counted in flight anywhere /status looks (origins of every pool). */
export async function leasesInFlight(balancer: Balancer): Promise<number> {
	const status = await balancer.result<StatusShape>("/status");
	return status.pools.reduce((sum, pool) => sum + pool.origins.reduce((n, origin) => n + origin.in_flight, 0), 0);
}

/** Waits (bounded) until nothing is counted in flight; returns how many still were at the deadline. */
export async function leasesLeftAfter(balancer: Balancer, timeoutMs = 10_000): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	let left = await leasesInFlight(balancer);
	while (left > 0 && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 200));
		left = await leasesInFlight(balancer);
	}
	return left;
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
	if (values.length === 0) return 0;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * True when `wrangler dev` rebuilt and reloaded (a file it watches changed) since its output was
 * `mark` characters long (`balancer.wrangler.output().length`): a case that fails then is to be rerun.
 */
export function reloadedSince(balancer: Balancer, mark: number): boolean {
	return /changed, restarting build|Reloading local server/.test(balancer.wrangler.output().slice(mark));
}

/** Marks every case of the file that fails while `wrangler dev` reloaded (a watched file changed): rerun. */
export function reportReloads(balancer: () => Balancer): void {
	beforeEach(({ onTestFailed }) => {
		const mark = balancer().wrangler.output().length;
		onTestFailed(() => {
			if (reloadedSince(balancer(), mark))
				console.error("wrangler dev reloaded during this case (a watched file changed): rerun");
		});
	});
}

/** An origin as /status shows it (the fields the fault cases read). */
export interface OriginView {
	name: string;
	healthy: boolean;
	pending?: boolean;
	in_flight: number;
	passive_failures: number;
	ejected_until: string | null;
}

/** The named origins of pool "main", by name. */
export async function originsOf(balancer: Balancer, names: readonly string[]): Promise<Map<string, OriginView>> {
	const status = await balancer.result<{ pools: { id: string; origins: OriginView[] }[] }>("/status");
	const pool = status.pools.find((candidate) => candidate.id === "main");
	return new Map((pool?.origins ?? []).filter((o) => names.includes(o.name)).map((o) => [o.name, o]));
}

/** Configures pool "main" over `names` (poolConfig) and waits until every one of them was checked healthy. */
export async function configure(
	balancer: Balancer,
	names: readonly string[],
	options: Parameters<typeof poolConfig>[2] = {},
): Promise<void> {
	await putConfig(balancer, poolConfig(balancer, names, options));
	await waitFor(`${names.join(", ")} checked healthy`, async () => {
		const origins = await originsOf(balancer, names);
		return names.every((name) => origins.get(name)?.healthy && !origins.get(name)?.pending) ? true : undefined;
	});
}

/** Requests an origin received for traffic (not health checks). */
export function traffic(balancer: Balancer, name: string) {
	return (balancer.origins.get(name)?.received ?? []).filter((request) => !request.url.endsWith("/health"));
}
