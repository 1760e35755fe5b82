/**
 * Helpers for the Workers-runtime tests: talk to the Worker under test as a client would, and to
 * the loopback origins (started in global-setup.ts) to see what they received.
 */
import { createExecutionContext, createScheduledController, reset, waitOnExecutionContext } from "cloudflare:test";
import "./provided-context";
import { env } from "cloudflare:workers";
import { expect, inject } from "vitest";
import worker from "../../src/index";

export const ADMIN = "http://admin.test";
export const TOKEN = "test-admin-token";
/** May only register and deregister origins (issue 22). */
export const REGISTRATION_TOKEN = "test-registration-token";

export interface Received {
	method: string;
	url: string;
	headers: Record<string, string | string[] | undefined>;
	bodyBytes: number;
	body: string;
}

export function originUrl(name: string): string {
	const url = inject("origins")[name];
	if (!url) throw new Error(`no origin ${name}`);
	return url;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A request through the Worker's fetch handler, as a client on the Internet would send it. The
 * body is read to its end and the invocation's background work (the outcome report) has finished
 * when this returns, so tests see the registry as it is after the request.
 */
export async function send(url: string, init: RequestInit = {}): Promise<Response> {
	const { response, settled } = await sendStreaming(url, init);
	const body = NULL_BODY_STATUSES.has(response.status) ? null : await response.arrayBuffer();
	await settled;
	return new Response(body, response);
}

/** Like send, but hands back the response while its body is still streaming; `settled` ends with the invocation. */
export async function sendStreaming(
	url: string,
	init: RequestInit = {},
): Promise<{ response: Response; settled: Promise<void> }> {
	const ctx = createExecutionContext();
	const response = await worker.fetch(
		new Request(url, init) as Request<unknown, IncomingRequestCfProperties>,
		env,
		ctx,
	);
	return { response, settled: waitOnExecutionContext(ctx) };
}

export function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
	return send(`${ADMIN}/_lb/api${path}`, {
		method,
		headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
}

/** Cloudflare's API envelope, which every admin response uses. */
export interface Envelope<T = unknown> {
	success: boolean;
	errors: { code: number; message: string; field?: string }[];
	messages: string[];
	result: T;
}

export async function putConfig(config: unknown): Promise<{ version: number; messages: string[] }> {
	const response = await admin("PUT", "/config", config);
	const body = (await response.json()) as Envelope<{ version: number }>;
	if (response.status !== 200) throw new Error(`PUT /config: ${response.status} ${JSON.stringify(body)}`);
	return { version: body.result.version, messages: body.messages };
}

/** GET an admin path and return the envelope's result. */
export async function adminResult<T>(path: string): Promise<T> {
	const response = await admin("GET", path);
	const body = (await response.json()) as Envelope<T>;
	if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
	return body.result;
}

/** Fires the cron trigger as Cloudflare would at `scheduledTime`, and waits for the sweep to finish. */
export async function runCron(scheduledTime: number): Promise<void> {
	await worker.scheduled(createScheduledController({ scheduledTime, cron: "* * * * *" }), env);
}

export async function received(name: string): Promise<Received[]> {
	const response = await fetch(`${originUrl(name)}/_origin/requests`);
	return (await response.json()) as Received[];
}

export async function clearReceived(...names: string[]): Promise<void> {
	await Promise.all(
		names.map(async (name) => {
			const response = await fetch(`${originUrl(name)}/_origin/requests`, { method: "DELETE" });
			await response.body?.cancel();
		}),
	);
}

/** Every origin started by global-setup.ts. */
export const ORIGINS = ["a", "b", "c", "d", "e"] as const;

/**
 * The start of a test: a fresh registry (storage and memory), every origin healthy and answering
 * its traffic normally, their request logs empty. Use as `beforeEach(startClean)`.
 */
export async function startClean(): Promise<void> {
	await reset();
	await Promise.all(ORIGINS.map((name) => setOriginHealthy(name, true)));
	// A file that made an origin answer its traffic with an error (dashboard.test.ts, say) leaves no trace.
	await Promise.all(ORIGINS.map((name) => originControl(name, "traffic-status", "DELETE")));
	await clearReceived(...ORIGINS);
}

export async function setOriginHealthy(name: string, healthy: boolean): Promise<void> {
	const response = await fetch(`${originUrl(name)}/_origin/${healthy ? "recover" : "fail"}`, { method: "POST" });
	await response.body?.cancel();
}

/** A monitor, pool and load balancer in Cloudflare's shapes, over the named loopback origins. */
export function onePoolConfig(
	names: string[],
	options: { host?: string; policy?: string; proxy?: Record<string, unknown>; monitor?: Record<string, unknown> } = {},
) {
	return {
		monitors: [{ id: "health", path: "/health", expected_codes: "2xx", timeout: 2, retries: 0, ...options.monitor }],
		pools: [
			{
				id: "main",
				name: "main",
				monitor: "health",
				origin_steering: { policy: options.policy ?? "round_robin" },
				origins: names.map((name) => ({ name, address: originUrl(name) })),
			},
		],
		load_balancers: [
			{
				name: options.host ?? "app.test",
				default_pools: ["main"],
				proxy: { debug_headers: true, ...options.proxy },
				// Who plans must not depend on how busy the test machine is: the latency budget (issue 16)
				// is off here, and on in the tests about it.
				counter_rtt_budget_ms: 0,
			},
		],
	};
}

/** POSTs (or DELETEs) one of the demo origin's control calls (/_origin/...); it must answer 204. */
export async function originControl(name: string, path: string, method = "POST"): Promise<void> {
	const response = await fetch(`${originUrl(name)}/_origin/${path}`, { method });
	expect(response.status, `${method} /_origin/${path} on ${name}`).toBe(204);
}

let configs = 0;

/**
 * One pool "p" whose origins are tried in the order given: round robin starts at the first. Each
 * configuration is new (its description differs), so the registry installs it with fresh
 * counters even if an identical one is still in its memory from the previous test.
 */
export function orderedPool(origins: { name: string; address: string }[], proxy: Record<string, unknown> = {}) {
	return {
		pools: [
			{ id: "p", name: "p", description: `config ${++configs}`, origin_steering: { policy: "round_robin" }, origins },
		],
		load_balancers: [
			{ name: "app.test", default_pools: ["p"], proxy: { debug_headers: true, ...proxy }, counter_rtt_budget_ms: 0 },
		],
	};
}

export const dead = () => ({ name: "dead", address: inject("deadOrigin") });
export const live = (name: string, prefix = "") => ({ name, address: `${originUrl(name)}${prefix}` });

/** The counter object of the load balancer named `host` for data center `colo` (the default colo scope). */
export function counterOf(host: string, colo = "local") {
	return env.COUNTERS.getByName(`lb:${host}@${colo}`);
}
