/**
 * WebSocket through the balancer end to end: the real `wrangler dev`, a real WebSocket origin on
 * loopback in this process (the demo origin's /ws echo), and a real client (Node's global
 * WebSocket). Messages go both ways; the registry counts the socket in flight while it is open
 * and not after it closed; the origin's socket closes when the client's does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginEventMap, type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";

let wrangler: WranglerDev;
let origins: OriginServer[];
let stateDir: string;
let port: number;

beforeAll(async () => {
	origins = await Promise.all(["left", "right"].map((name) => startOrigin({ name })));
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-websocket-e2e-"));
	port = await freePort();
	wrangler = await startWranglerDev({ port, vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		pools: [
			{
				id: "p",
				name: "p",
				origin_steering: { policy: "round_robin" },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		load_balancers: [{ name: "localhost", default_pools: ["p"], proxy: { debug_headers: true } }],
	});
	expect(response.status).toBe(200);
	await response.arrayBuffer();
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all((origins ?? []).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function inFlight(): Promise<Record<string, number>> {
	const response = await fetch(`${wrangler.url}/_lb/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
	const body = (await response.json()) as { result: { pools: { origins: { name: string; in_flight: number }[] }[] } };
	return Object.fromEntries(body.result.pools.flatMap((pool) => pool.origins.map((o) => [o.name, o.in_flight])));
}

/** Reads the in-flight counts every 25 ms until they equal `expected`, at most `ms`; returns the last read. */
async function inFlightOnceSettled(expected: Record<string, number>, ms: number): Promise<Record<string, number>> {
	const deadline = Date.now() + ms;
	for (;;) {
		const counts = await inFlight();
		if (JSON.stringify(counts) === JSON.stringify(expected) || Date.now() > deadline) return counts;
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}

/** The next `event` on any origin; rejects after `ms`, so a missing event fails the test instead of hanging it. */
function nextOriginEvent<K extends keyof OriginEventMap>(
	event: K,
	ms = 10_000,
): Promise<{ origin: string; detail: OriginEventMap[K][0] }> {
	return new Promise((resolve, reject) => {
		const listeners = origins.map((origin) => {
			const listener = (...args: OriginEventMap[K]) => {
				done();
				resolve({ origin: origin.name, detail: args[0] });
			};
			origin.events.on(event, listener as never);
			return () => origin.events.off(event, listener as never);
		});
		const timer = setTimeout(() => {
			done();
			reject(new Error(`no origin saw ${event} within ${ms} ms`));
		}, ms);
		const done = () => {
			clearTimeout(timer);
			for (const off of listeners) off();
		};
	});
}

function opened(socket: WebSocket): Promise<void> {
	return new Promise((resolve, reject) => {
		socket.addEventListener("open", () => resolve(), { once: true });
		socket.addEventListener("error", () => reject(new Error("the WebSocket did not open")), { once: true });
	});
}

function nextMessages(socket: WebSocket, count: number): Promise<string[]> {
	return new Promise((resolve) => {
		const got: string[] = [];
		const onMessage = (event: MessageEvent) => {
			got.push(String(event.data));
			if (got.length === count) {
				socket.removeEventListener("message", onMessage);
				resolve(got);
			}
		};
		socket.addEventListener("message", onMessage);
	});
}

describe("a WebSocket through wrangler dev", () => {
	it("echoes three messages from the chosen origin, in flight while open and not after the client closed", async () => {
		const originOpened = nextOriginEvent("ws-open");
		const socket = new WebSocket(`ws://localhost:${port}/ws?client=e2e`);
		await opened(socket);
		const { origin } = await originOpened;
		expect(["left", "right"]).toContain(origin);

		const echoes = nextMessages(socket, 3);
		for (const text of ["one", "two", "three"]) socket.send(text);
		expect(await echoes).toEqual([`${origin}: one`, `${origin}: two`, `${origin}: three`]);

		const other = origin === "left" ? "right" : "left";
		expect(await inFlight()).toEqual({ [origin]: 1, [other]: 0 });

		const originClosed = nextOriginEvent("ws-close");
		const closed = new Promise<{ code: number }>((resolve) =>
			socket.addEventListener("close", (event) => resolve(event as unknown as { code: number }), { once: true }),
		);
		socket.close(1000, "bye");
		expect((await closed).code).toBe(1000);
		expect(await originClosed).toMatchObject({ origin });
		// The lease is released by the Worker's outcome batch, a few ms after the relay saw the close
		// (src/contract/outcome.ts), and nothing outside the Worker can await that: the status read right
		// after the close often still shows 1 (measured: 7 runs in 8), 0 about 100 ms later. So this
		// reads it until it is 0, for at most 2 s. The Workers-runtime test (proxy-websocket.test.ts)
		// awaits the release itself and checks the very next status.
		expect(await inFlightOnceSettled({ left: 0, right: 0 }, 2_000)).toEqual({ left: 0, right: 0 });
		expect(origins.find((o) => o.name === origin)?.openSockets()).toBe(0);
	});

	it("relays a binary message as binary, byte for byte", async () => {
		const socket = new WebSocket(`ws://localhost:${port}/ws`);
		socket.binaryType = "arraybuffer";
		await opened(socket);
		const echo = new Promise<unknown>((resolve) =>
			socket.addEventListener("message", (event) => resolve(event.data), { once: true }),
		);
		socket.send(new Uint8Array([0, 1, 2, 255]));
		const data = await echo;
		const closed = new Promise<{ code: number }>((resolve) =>
			socket.addEventListener("close", (event) => resolve(event as unknown as { code: number }), { once: true }),
		);
		socket.close(1000, "bye");
		await closed;
		expect(data, `the echo came back as text: ${String(data)}`).toBeInstanceOf(ArrayBuffer);
		const bytes = [...new Uint8Array(data as ArrayBuffer)];
		const prefix = new TextDecoder().decode(new Uint8Array(bytes.slice(0, -4)));
		expect(["left: ", "right: "]).toContain(prefix);
		expect(bytes.slice(-4)).toEqual([0, 1, 2, 255]);
	});
});
