/**
 * Bodies stream through the balancer both ways, end to end: the real `wrangler dev`, a real origin
 * on loopback in this process, a real HTTP client. 100 MiB each way arrive byte for byte (SHA-256
 * computed on both sides), and gated streams show nothing is buffered whole: the origin receives
 * the first upload chunk before the client has sent the last, and the client receives the first
 * download chunk before the origin has sent the last.
 *
 * Why e2e and not the Workers-runtime layer: there the client is an in-process call into
 * worker.fetch (no HTTP between client and balancer, so it proves nothing about the server side
 * streaming), and the origins live in the global-setup process, where a test cannot await their
 * events.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginEventMap, type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";
const MiB = 1024 * 1024;
const BIG = 100 * MiB;

let wrangler: WranglerDev;
let origin: OriginServer;
let stateDir: string;
let port: number;

beforeAll(async () => {
	origin = await startOrigin({ name: "big" });
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-streaming-e2e-"));
	port = await freePort();
	wrangler = await startWranglerDev({ port, vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		pools: [{ id: "p", name: "p", origins: [{ name: origin.name, address: origin.url }] }],
		load_balancers: [{ name: "localhost", default_pools: ["p"], proxy: { debug_headers: true } }],
	});
	expect(response.status).toBe(200);
	await response.arrayBuffer();
});

afterAll(async () => {
	await wrangler?.stop();
	await origin?.close();
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** The next `event` from the origin whose url is `url`; rejects after `ms` (the test fails, it does not hang). */
function nextOriginEvent<K extends keyof OriginEventMap>(
	event: K,
	url: string,
	ms = 20_000,
): Promise<OriginEventMap[K][0]> {
	return new Promise((resolve, reject) => {
		const listener = (...args: OriginEventMap[K]) => {
			if (args[0].url !== url) return;
			clearTimeout(timer);
			origin.events.off(event, listener as never);
			resolve(args[0]);
		};
		const timer = setTimeout(() => {
			origin.events.off(event, listener as never);
			reject(new Error(`the origin saw no ${event} for ${url} within ${ms} ms`));
		}, ms);
		origin.events.on(event, listener as never);
	});
}

/** Rejects after `ms` with `what`, so awaiting a chunk that never comes fails instead of hanging. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
	});
	return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A PUT through the balancer, body written by `write`; resolves with the response once it ends. */
function put(
	path: string,
	headers: Record<string, string>,
	write: (req: ReturnType<typeof request>) => Promise<void>,
): Promise<{ status: number; headers: IncomingMessage["headers"]; json: Record<string, unknown> }> {
	return new Promise((resolve, reject) => {
		const req = request({
			host: "127.0.0.1",
			port,
			method: "PUT",
			path,
			headers: { host: `localhost:${port}`, "content-type": "application/octet-stream", ...headers },
		});
		req.on("error", reject);
		req.on("response", (res) => {
			const chunks: Buffer[] = [];
			res.on("data", (chunk: Buffer) => chunks.push(chunk));
			res.on("error", reject);
			res.on("end", () => {
				const text = Buffer.concat(chunks).toString("utf8");
				try {
					resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) });
				} catch {
					reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 500)}`));
				}
			});
		});
		write(req).catch((error: unknown) => {
			req.destroy(error as Error);
			reject(error);
		});
	});
}

/** Writes `total` random bytes in 1 MiB chunks, respecting backpressure; resolves with their SHA-256. */
async function writeRandom(req: ReturnType<typeof request>, total: number): Promise<string> {
	const hash = createHash("sha256");
	for (let sent = 0; sent < total; ) {
		const chunk = randomBytes(Math.min(MiB, total - sent));
		hash.update(chunk);
		sent += chunk.length;
		if (!req.write(chunk)) await once(req, "drain");
	}
	req.end();
	return hash.digest("hex");
}

describe("100 MiB through wrangler dev", () => {
	it("downloads 100 MiB with identical bytes", async () => {
		const url = `/stream?bytes=${BIG}&chunk=65536&seed=11`;
		const sent = nextOriginEvent("stream-end", url, 55_000);
		const response = await fetch(`http://localhost:${port}${url}`);
		expect(response.status).toBe(200);
		expect(response.headers.get("x-switchyard-origin")).toBe("big");
		const hash = createHash("sha256");
		let bytes = 0;
		for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
			hash.update(chunk);
			bytes += chunk.byteLength;
		}
		const fromOrigin = await sent;
		expect(fromOrigin).toMatchObject({ bytes: BIG, complete: true });
		expect(bytes).toBe(BIG);
		expect(hash.digest("hex")).toBe(fromOrigin.sha256);
	});

	it("uploads 100 MiB of unknown length (chunked) with identical bytes", async () => {
		let clientHash = "";
		const response = await put("/upload?chunked", { "transfer-encoding": "chunked" }, async (req) => {
			clientHash = await writeRandom(req, BIG);
		});
		expect(response.status).toBe(200);
		expect(response.json).toMatchObject({ origin: "big", bytes: BIG, sha256: clientHash });
		expect((response.json.headers as Record<string, string>)["content-length"]).toBeUndefined();
	});

	it("uploads 100 MiB with a Content-Length, kept for the origin, with identical bytes", async () => {
		let clientHash = "";
		const response = await put("/upload?sized", { "content-length": String(BIG) }, async (req) => {
			clientHash = await writeRandom(req, BIG);
		});
		expect(response.status).toBe(200);
		expect(response.json).toMatchObject({ origin: "big", bytes: BIG, sha256: clientHash });
		expect((response.json.headers as Record<string, string>)["content-length"]).toBe(String(BIG));
	});
});

describe("gated streams", () => {
	it("the origin receives the first upload chunk before the client sends the last", async () => {
		const url = "/upload?gated";
		const first = randomBytes(64 * 1024);
		const last = randomBytes(64 * 1024);
		let firstArrived: OriginEventMap["upload-chunk"][0] | undefined;
		const response = await put(url, { "transfer-encoding": "chunked" }, async (req) => {
			const arrived = nextOriginEvent("upload-chunk", url, 15_000);
			req.write(first);
			firstArrived = await arrived; // the client holds the rest back until the origin has the start
			req.end(last);
		});
		expect(firstArrived?.bytes).toBeGreaterThan(0);
		expect(firstArrived?.bytes).toBeLessThanOrEqual(first.length);
		expect(response.status).toBe(200);
		expect(response.json).toMatchObject({
			bytes: first.length + last.length,
			sha256: createHash("sha256").update(first).update(last).digest("hex"),
		});
	});

	it("the client receives the first download chunk before the origin sends the last", async () => {
		const gate = `download-${Date.now()}`;
		const url = `/stream?bytes=${4 * MiB}&chunk=16384&seed=5&gate=${gate}`;
		const ended = nextOriginEvent("stream-end", url, 30_000);
		let originDone = false;
		void ended.then(() => {
			originDone = true;
		});
		const response = await fetch(`http://localhost:${port}${url}`);
		expect(response.status).toBe(200);
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		const hash = createHash("sha256");
		const firstChunk = await within(reader.read(), 15_000, "the first download chunk");
		expect(firstChunk.done).toBe(false);
		const firstBytes = firstChunk.value?.byteLength ?? 0;
		expect(firstBytes).toBeGreaterThan(0);
		expect(firstBytes).toBeLessThanOrEqual(16384); // only what the origin sent before the gate
		expect(originDone).toBe(false);
		hash.update(firstChunk.value as Uint8Array);

		origin.openGate(gate);
		let bytes = firstBytes;
		for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
			hash.update(chunk.value);
			bytes += chunk.value.byteLength;
		}
		const sent = await ended;
		expect(sent).toMatchObject({ bytes: 4 * MiB, complete: true });
		expect(bytes).toBe(4 * MiB);
		expect(hash.digest("hex")).toBe(sent.sha256);
	});
});
