/**
 * Demo / test origin server for Switchyard.
 *
 * A tiny HTTP server (Node `http`, plus `ws` for /ws) that echoes requests, reports
 * health (which can be flipped at runtime), simulates slow or CPU-heavy work and
 * streams large bodies. Every response carries `x-origin-name` so you can see
 * which origin the load balancer picked. Use it from tests via `startOrigin()`
 * or run it directly: `node demo/origin.ts --name a --port 8001`.
 *
 * Endpoints: echo (any other path), /health (and any path ending in /health;
 * see "Health-check test knobs"), /work?ms=N, /stream?bytes=N
 * (&chunk, &delayms between chunks, &seed for pseudo-random bytes, &gate=NAME to
 * pause after the first chunk until the gate opens), /stall?afterBytes=N (sends
 * N bytes, then nothing; &length=M declares a Content-Length of M), /redirect?to=URL (&absolute=1
 * makes it absolute on the Host asked for, &cookie=NAME=VALUE sets a cookie for that host's domain),
 * /respond?status=N&delayms=M (any method),
 * PUT|POST /upload (hashes the body as it streams in: {bytes, sha256}), /ws
 * (WebSocket echo: "<name>: <message>").
 * Tests in the same process watch uploads, downloads and sockets on `events`.
 */

import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { realpathSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo, Socket } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { WebSocket, WebSocketServer as WebSocketServerType } from "ws";

export interface ReceivedRequest {
	method: string;
	url: string;
	headers: Record<string, string | string[] | undefined>;
	bodyBytes: number;
	/** UTF-8 text of the first 64 KiB of the body. */
	body: string;
	/** `Date.now()` when the request arrived. */
	at: number;
}

/** What `OriginServer.events` emits, for tests running in the same process. */
export interface OriginEventMap {
	/** A chunk of a /upload body arrived; `bytes` counts the body so far. */
	"upload-chunk": [{ url: string; bytes: number; chunkBytes: number }];
	/** A /upload body ended. */
	"upload-end": [{ url: string; bytes: number; sha256: string }];
	/** A chunk of a /stream body was handed to the socket; `bytes` counts the body so far. */
	"stream-chunk": [{ url: string; bytes: number }];
	/** A /stream body was sent completely (`complete`) or cut short by the client going away. */
	"stream-end": [{ url: string; bytes: number; sha256: string; complete: boolean }];
	/** A /ws connection opened, received a message, or closed. */
	"ws-open": [{ url: string }];
	"ws-message": [{ url: string; data: string }];
	"ws-close": [{ url: string; code: number }];
}

export interface OriginServer {
	readonly name: string;
	readonly port: number;
	/** e.g. "http://127.0.0.1:8001" */
	readonly url: string;
	/** Every request except `/_origin/*` control calls. */
	readonly received: ReceivedRequest[];
	/** Uploads, downloads and WebSockets as they happen (see OriginEventMap). */
	readonly events: EventEmitter<OriginEventMap>;
	/** WebSockets open on /ws right now. */
	readonly openSockets: () => number;
	/** Opens a gate (for good): /stream?gate=NAME waiting on it sends the rest. Also `POST /_origin/gates/NAME`. */
	openGate(name: string): void;
	setHealthy(healthy: boolean): void;
	/** Stops listening and destroys open sockets, so it resolves promptly. */
	close(): Promise<void>;
}

export interface StartOriginOptions {
	name: string;
	/** 0 (default) picks any free port. */
	port?: number;
	/** Defaults to 127.0.0.1. */
	host?: string;
}

// Loaded through Node's own resolution: a bundler resolving for a browser-like target (the Workers
// test project's global setup runs with its conditions) would pick ws's browser stub.
const { WebSocketServer } = createRequire(import.meta.url)("ws") as typeof import("ws");

const DEFAULT_HOST = "127.0.0.1";
const MAX_RECORDED_BODY_BYTES = 64 * 1024;
const MAX_WORK_MS = 30_000;
const MAX_STREAM_BYTES = 1024 * 1024 * 1024;
const DEFAULT_STREAM_CHUNK_BYTES = 16 * 1024;
const MAX_STREAM_CHUNK_BYTES = 1024 * 1024;
const MAX_STREAM_DELAY_MS = 10_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CONTROL_PREFIX = "/_origin/";
const GATES_PREFIX = "gates/";

interface OriginState {
	readonly name: string;
	healthy: boolean;
	readonly received: ReceivedRequest[];
	readonly events: EventEmitter<OriginEventMap>;
	readonly gates: Gates;
	/** Knobs and counters for health-check tests (see "Health-check test knobs" below). */
	readonly healthKnobs: HealthKnobs;
}

/** Named one-way gates: waiting on an open gate resolves at once. */
class Gates {
	private readonly opened = new Set<string>();
	private readonly waiting = new Map<string, (() => void)[]>();

	open(name: string): void {
		this.opened.add(name);
		for (const resolve of this.waiting.get(name) ?? []) resolve();
		this.waiting.delete(name);
	}

	wait(name: string): Promise<void> {
		if (this.opened.has(name)) return Promise.resolve();
		return new Promise((resolve) => {
			const list = this.waiting.get(name) ?? [];
			list.push(resolve);
			this.waiting.set(name, list);
		});
	}
}

interface RequestBody {
	bytes: number;
	text: string;
}

interface ParsedTarget {
	path: string;
	/** Raw query string without the leading "?" ("" if none). */
	query: string;
	params: URLSearchParams;
}

/** Starts an origin and resolves once it is listening. */
export async function startOrigin(options: StartOriginOptions): Promise<OriginServer> {
	const state: OriginState = {
		name: options.name,
		healthy: true,
		received: [],
		events: new EventEmitter<OriginEventMap>(),
		gates: new Gates(),
		healthKnobs: newHealthKnobs(),
	};
	const host = options.host ?? DEFAULT_HOST;
	const server = createServer((req, res) => {
		handleRequest(state, req, res).catch((error: unknown) => failRequest(res, error));
	});
	const sockets = new WebSocketServer({ noServer: true });
	server.on("upgrade", (req, socket, head) => handleUpgrade(state, sockets, req, socket as Socket, head));
	await listen(server, options.port ?? 0, host);
	const port = (server.address() as AddressInfo).port;
	const closeOnce = once(async () => {
		// Upgraded sockets are no longer the HTTP server's: end them here, or close() would wait on them.
		for (const client of sockets.clients) client.terminate();
		await closeServer(server);
	});
	return {
		name: state.name,
		port,
		url: `http://${urlHost(host)}:${port}`,
		received: state.received,
		events: state.events,
		openSockets: () => sockets.clients.size,
		openGate: (name: string) => state.gates.open(name),
		setHealthy(healthy: boolean) {
			state.healthy = healthy;
		},
		close: closeOnce,
	};
}

function listen(server: Server, port: number, host: string): Promise<void> {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, host, () => {
			server.off("error", reject);
			resolve();
		});
	});
}

function closeServer(server: Server): Promise<void> {
	return new Promise((resolve, reject) => {
		server.close((error) => (error ? reject(error) : resolve()));
		server.closeAllConnections();
	});
}

function once(fn: () => Promise<void>): () => Promise<void> {
	let result: Promise<void> | undefined;
	return () => {
		result ??= fn();
		return result;
	};
}

/** Host part for a client URL: wildcard binds are reached via loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
	if (host === "0.0.0.0" || host === "") return "127.0.0.1";
	if (host === "::") return "[::1]";
	return host.includes(":") ? `[${host}]` : host;
}

async function handleRequest(state: OriginState, req: IncomingMessage, res: ServerResponse): Promise<void> {
	const arrivedAt = Date.now();
	res.setHeader("x-origin-name", state.name);
	const target = parseTarget(req.url ?? "/");
	const method = req.method ?? "GET";
	if (target.path === "/upload" && (method === "PUT" || method === "POST")) {
		// Read as it streams in, so a test can see the first chunk arrive before the client sent the last.
		await handleUpload(state, req, res, target, arrivedAt);
		return;
	}
	const body = await readBody(req);
	if (target.path.startsWith(CONTROL_PREFIX)) {
		if (!handleHealthKnob(state, method, target, res)) handleControl(state, method, target.path, res);
		return;
	}
	record(state, req, body, arrivedAt);
	await handleOriginRoute(state, req, res, target, body);
}

function record(state: OriginState, req: IncomingMessage, body: RequestBody, at: number): void {
	state.received.push({
		method: req.method ?? "GET",
		url: req.url ?? "/",
		headers: { ...req.headers },
		bodyBytes: body.bytes,
		body: body.text,
		at,
	});
}

async function handleOriginRoute(
	state: OriginState,
	req: IncomingMessage,
	res: ServerResponse,
	target: ParsedTarget,
	body: RequestBody,
): Promise<void> {
	const isRead = req.method === "GET" || req.method === "HEAD";
	if (!(isRead && isHealthPath(target.path)) && state.healthKnobs.trafficDelayMs > 0) {
		await sleepUnlessClosed(state.healthKnobs.trafficDelayMs, res);
		if (res.destroyed) return;
	}
	if (isRead && isHealthPath(target.path)) {
		const region = req.headers["x-switchyard-probe-region"];
		await handleHealthProbe(state, target.path, res, Array.isArray(region) ? region[0] : region);
	} else if (state.healthKnobs.trafficStatus !== 0) {
		sendJson(res, state.healthKnobs.trafficStatus, { origin: state.name, status: state.healthKnobs.trafficStatus });
	} else if (isRead && target.path === "/work") {
		await handleWork(state, target.params, res);
	} else if (isRead && target.path === "/stream") {
		await handleStream(state, target.params, req, res);
	} else if (isRead && target.path === "/stall") {
		handleStall(target.params, res);
	} else if (target.path === "/redirect") {
		handleRedirect(target.params, req, res);
	} else if (target.path === "/respond") {
		await handleRespond(state, target.params, res);
	} else {
		handleEcho(state, req, res, target, body);
	}
}

/** Reads the whole body, counting bytes and keeping the first 64 KiB as text. */
async function readBody(req: IncomingMessage): Promise<RequestBody> {
	const kept: Buffer[] = [];
	let keptBytes = 0;
	let totalBytes = 0;
	for await (const chunk of req as AsyncIterable<Buffer>) {
		totalBytes += chunk.length;
		if (keptBytes < MAX_RECORDED_BODY_BYTES) {
			const slice = chunk.subarray(0, MAX_RECORDED_BODY_BYTES - keptBytes);
			kept.push(slice);
			keptBytes += slice.length;
		}
	}
	return { bytes: totalBytes, text: Buffer.concat(kept).toString("utf8") };
}

/** Splits the raw request target without URL normalisation (so "//a" stays "//a"). */
function parseTarget(rawUrl: string): ParsedTarget {
	const queryStart = rawUrl.indexOf("?");
	const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
	const query = queryStart === -1 ? "" : rawUrl.slice(queryStart + 1);
	return { path, query, params: new URLSearchParams(query) };
}

function handleControl(state: OriginState, method: string, path: string, res: ServerResponse): void {
	const route = path.slice(CONTROL_PREFIX.length);
	if (route.startsWith(GATES_PREFIX) && route.length > GATES_PREFIX.length) {
		if (method !== "POST") {
			sendMethodNotAllowed(res, "POST");
			return;
		}
		state.gates.open(decodeURIComponent(route.slice(GATES_PREFIX.length)));
		sendEmpty(res, 204);
	} else if (route === "fail" || route === "recover") {
		handleHealthToggle(state, method, route === "recover", res);
	} else if (route === "requests") {
		handleRequestLog(state, method, res);
	} else {
		sendError(res, 404, `unknown control endpoint ${path}`);
	}
}

function handleHealthToggle(state: OriginState, method: string, healthy: boolean, res: ServerResponse): void {
	if (method !== "POST") {
		sendMethodNotAllowed(res, "POST");
		return;
	}
	state.healthy = healthy;
	sendEmpty(res, 204);
}

function handleRequestLog(state: OriginState, method: string, res: ServerResponse): void {
	if (method === "GET" || method === "HEAD") {
		sendJson(res, 200, state.received);
	} else if (method === "DELETE") {
		state.received.length = 0;
		sendEmpty(res, 204);
	} else {
		sendMethodNotAllowed(res, "GET, HEAD, DELETE");
	}
}

function handleHealth(state: OriginState, res: ServerResponse): void {
	sendJson(res, state.healthy ? 200 : 503, {
		origin: state.name,
		healthy: state.healthy,
	});
}

async function handleWork(state: OriginState, params: URLSearchParams, res: ServerResponse): Promise<void> {
	const ms = parseClampedInt(params.get("ms"), 0, 0, MAX_WORK_MS);
	const mode = params.get("mode") ?? "sleep";
	if (ms === undefined || (mode !== "sleep" && mode !== "cpu")) {
		sendError(res, 400, 'ms must be an integer number of milliseconds and mode "sleep" or "cpu"');
		return;
	}
	if (mode === "cpu") busyLoop(ms);
	else await sleepUnlessClosed(ms, res);
	if (res.destroyed) return;
	sendJson(res, 200, { origin: state.name, mode, ms });
}

function busyLoop(durationMs: number): void {
	const endMs = performance.now() + durationMs;
	while (performance.now() < endMs) {
		// Deliberately burn CPU.
	}
}

/** Waits `delayMs`, but gives up early if the response's connection closes. */
function sleepUnlessClosed(delayMs: number, res: ServerResponse): Promise<void> {
	return new Promise((resolve) => {
		const finish = () => {
			clearTimeout(timer);
			res.off("close", finish);
			resolve();
		};
		const timer = setTimeout(finish, delayMs);
		res.once("close", finish);
	});
}

async function handleStream(
	state: OriginState,
	params: URLSearchParams,
	req: IncomingMessage,
	res: ServerResponse,
): Promise<void> {
	const totalBytes = parseClampedInt(params.get("bytes"), 0, 0, MAX_STREAM_BYTES);
	const chunkBytes = parseClampedInt(params.get("chunk"), DEFAULT_STREAM_CHUNK_BYTES, 1, MAX_STREAM_CHUNK_BYTES);
	const delayMs = parseClampedInt(params.get("delayms"), 0, 0, MAX_STREAM_DELAY_MS);
	const seed = parseClampedInt(params.get("seed"), 0, 0, 0xffff_ffff);
	const gate = params.get("gate");
	if (totalBytes === undefined || chunkBytes === undefined || delayMs === undefined || seed === undefined) {
		sendError(res, 400, "bytes, chunk, delayms and seed must be integers");
		return;
	}
	res.writeHead(200, { "content-type": "application/octet-stream" });
	if (req.method === "HEAD") {
		res.end();
		return;
	}
	const url = req.url ?? "/";
	const hash = createHash("sha256");
	const source = params.has("seed") ? pseudoRandomChunks(seed) : fillerChunks(chunkBytes);
	let sent = 0;
	while (sent < totalBytes) {
		if (res.destroyed) break;
		const chunk = source(Math.min(chunkBytes, totalBytes - sent));
		hash.update(chunk);
		sent += chunk.length;
		const flushed = res.write(chunk);
		state.events.emit("stream-chunk", { url, bytes: sent });
		if (!flushed) await untilDrainOrClose(res);
		else if (delayMs === 0) await new Promise<void>((resolve) => setImmediate(resolve));
		if (gate && sent === chunk.length) await untilGateOrClose(state.gates.wait(gate), res);
		if (delayMs > 0 && sent < totalBytes) await sleepUnlessClosed(delayMs, res);
	}
	const complete = !res.destroyed;
	if (complete) res.end();
	state.events.emit("stream-end", { url, bytes: sent, sha256: hash.digest("hex"), complete });
}

/** Chunks of the letter "x". */
function fillerChunks(chunkBytes: number): (bytes: number) => Buffer {
	const filler = Buffer.alloc(chunkBytes, "x");
	return (bytes) => filler.subarray(0, bytes);
}

/**
 * Chunks of a deterministic pseudo-random byte sequence (xorshift32 from `seed`): the same seed
 * gives the same bytes however they are cut into chunks, so a receiver can check them.
 */
export function pseudoRandomChunks(seed: number): (bytes: number) => Buffer {
	let x = seed >>> 0 || 0x9e3779b9;
	let word = 0;
	let left = 0;
	return (bytes) => {
		const chunk = Buffer.allocUnsafe(bytes);
		for (let i = 0; i < chunk.length; i++) {
			if (left === 0) {
				x ^= x << 13;
				x ^= x >>> 17;
				x ^= x << 5;
				x >>>= 0;
				word = x;
				left = 4;
			}
			chunk[i] = word & 0xff;
			word >>>= 8;
			left--;
		}
		return chunk;
	};
}

function untilDrainOrClose(res: ServerResponse): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			res.off("drain", done);
			res.off("close", done);
			resolve();
		};
		res.once("drain", done);
		res.once("close", done);
	});
}

function untilGateOrClose(gate: Promise<void>, res: ServerResponse): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			res.off("close", done);
			resolve();
		};
		res.once("close", done);
		void gate.then(done);
	});
}

/** Headers and `afterBytes` bytes, then silence until the client goes away: a body that stalls. */
function handleStall(params: URLSearchParams, res: ServerResponse): void {
	const afterBytes = parseClampedInt(params.get("afterBytes"), 0, 0, MAX_STREAM_CHUNK_BYTES);
	if (afterBytes === undefined) {
		sendError(res, 400, "afterBytes must be an integer");
		return;
	}
	// `length`: declare a Content-Length longer than what is sent (a body of known length that stalls).
	const length = parseClampedInt(params.get("length"), 0, 0, MAX_STREAM_BYTES);
	res.writeHead(200, {
		"content-type": "application/octet-stream",
		...(length !== undefined && length > afterBytes ? { "content-length": length } : {}),
	});
	if (afterBytes > 0) res.write(Buffer.alloc(afterBytes, "x"));
	else res.flushHeaders();
}

/**
 * A redirect to `to` (status 302, or `status` when it is 301, 303, 307 or 308). As an application
 * that builds absolute URLs from the Host it was asked for: `absolute=1` resolves `to` against
 * `http://<Host>`, and `cookie=NAME=VALUE` also sets that cookie with `Domain=` the Host's hostname.
 */
function handleRedirect(params: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
	const status = parseClampedInt(params.get("status"), 302, 0, 999);
	const self = `http://${req.headers.host ?? DEFAULT_HOST}`;
	let to = params.get("to");
	if (!to || status === undefined || !REDIRECT_STATUSES.has(status)) {
		sendError(res, 400, "to is required, and status must be 301, 302, 303, 307 or 308");
		return;
	}
	if (params.get("absolute") === "1") to = new URL(to, self).href;
	const cookie = params.get("cookie");
	if (cookie) res.setHeader("set-cookie", `${cookie}; Path=/; Domain=${new URL(self).hostname}`);
	res.setHeader("location", to);
	sendJson(res, status, { origin: res.getHeader("x-origin-name"), location: to });
}

/**
 * Answers any method with the status asked for (`status`, 200–599), after `delayms` if given: an
 * origin failing, or slow, on demand whatever the method (/work answers GET and HEAD only).
 */
async function handleRespond(state: OriginState, params: URLSearchParams, res: ServerResponse): Promise<void> {
	const status = parseClampedInt(params.get("status"), 200, 0, 999);
	const delayMs = parseClampedInt(params.get("delayms"), 0, 0, MAX_WORK_MS);
	if (status === undefined || status < 200 || status > 599 || delayMs === undefined) {
		sendError(res, 400, "status must be an integer from 200 to 599, and delayms an integer");
		return;
	}
	if (delayMs > 0) await sleepUnlessClosed(delayMs, res);
	if (res.destroyed) return;
	sendJson(res, status, { origin: state.name, status });
}

/** Hashes a request body as it streams in; answers {bytes, sha256} once it ended. */
async function handleUpload(
	state: OriginState,
	req: IncomingMessage,
	res: ServerResponse,
	target: ParsedTarget,
	arrivedAt: number,
): Promise<void> {
	const url = req.url ?? "/";
	const hash = createHash("sha256");
	const kept: Buffer[] = [];
	let keptBytes = 0;
	let bytes = 0;
	for await (const chunk of req as AsyncIterable<Buffer>) {
		hash.update(chunk);
		bytes += chunk.length;
		if (keptBytes < MAX_RECORDED_BODY_BYTES) {
			const slice = chunk.subarray(0, MAX_RECORDED_BODY_BYTES - keptBytes);
			kept.push(slice);
			keptBytes += slice.length;
		}
		state.events.emit("upload-chunk", { url, bytes, chunkBytes: chunk.length });
	}
	const sha256 = hash.digest("hex");
	record(state, req, { bytes, text: Buffer.concat(kept).toString("utf8") }, arrivedAt);
	state.events.emit("upload-end", { url, bytes, sha256 });
	sendJson(res, 200, {
		origin: state.name,
		method: req.method,
		path: target.path,
		query: target.query,
		headers: req.headers,
		bodyBytes: bytes,
		bytes,
		sha256,
	});
}

/** /ws: a WebSocket echo ("<name>: <message>"); any other upgrade is refused. */
function handleUpgrade(
	state: OriginState,
	sockets: WebSocketServerType,
	req: IncomingMessage,
	socket: Socket,
	head: Buffer,
): void {
	const url = req.url ?? "/";
	if (parseTarget(url).path !== "/ws") {
		socket.end(
			`HTTP/1.1 404 Not Found\r\nx-origin-name: ${state.name}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
		);
		return;
	}
	record(state, req, { bytes: 0, text: "" }, Date.now());
	sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
		state.events.emit("ws-open", { url });
		ws.on("message", (data, isBinary) => {
			const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
			state.events.emit("ws-message", { url, data: bytes.toString("utf8") });
			const prefixed = Buffer.concat([Buffer.from(`${state.name}: `), bytes]);
			ws.send(isBinary ? prefixed : prefixed.toString("utf8"), { binary: isBinary });
		});
		ws.on("close", (code) => state.events.emit("ws-close", { url, code }));
	});
}

function handleEcho(
	state: OriginState,
	req: IncomingMessage,
	res: ServerResponse,
	target: ParsedTarget,
	body: RequestBody,
): void {
	sendJson(res, 200, {
		origin: state.name,
		method: req.method,
		path: target.path,
		query: target.query,
		headers: req.headers,
		bodyBytes: body.bytes,
	});
}

/**
 * Parses an integer query parameter and clamps it to [min, max].
 * Missing/empty → `fallback`; non-integer → undefined.
 */
function parseClampedInt(raw: string | null, fallback: number, min: number, max: number): number | undefined {
	if (raw === null || raw.trim() === "") return fallback;
	if (!/^\s*[+-]?\d+\s*$/.test(raw)) return undefined;
	const value = Number(raw);
	return Math.min(max, Math.max(min, value));
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
	const text = `${JSON.stringify(payload, null, 2)}\n`;
	res.writeHead(status, {
		"content-type": "application/json; charset=utf-8",
		"content-length": Buffer.byteLength(text),
	});
	res.end(text);
}

function sendEmpty(res: ServerResponse, status: number): void {
	res.writeHead(status);
	res.end();
}

/** JSON error body; the origin name comes from the `x-origin-name` header set on arrival. */
function sendError(res: ServerResponse, status: number, message: string): void {
	sendJson(res, status, {
		origin: res.getHeader("x-origin-name"),
		error: message,
	});
}

function sendMethodNotAllowed(res: ServerResponse, allow: string): void {
	res.setHeader("allow", allow);
	sendError(res, 405, `method not allowed; use ${allow}`);
}

function failRequest(res: ServerResponse, error: unknown): void {
	if (res.headersSent || res.destroyed) {
		res.destroy();
		return;
	}
	sendError(res, 500, String(error));
}

// --- Health-check test knobs ----------------------------------------------
//
// Any GET/HEAD path ending in /health is the health endpoint, so one server can stand in for many
// origins addressed by path prefix (http://127.0.0.1:PORT/o17 → /o17/health). Control calls:
//   POST /_origin/health-delay?ms=N        every /health waits N ms before answering (0: at once);
//   POST /_origin/fail-next?count=N        the next N /health requests answer 503;
//   GET|DELETE /_origin/health-stats       /health requests seen: count, in flight, the most in
//                                          flight at once (overall and per path), and their spans;
//   POST /_origin/traffic-status?status=N  every other request is answered with status N (200–599);
//   DELETE /_origin/traffic-status         back to normal answers;
//   POST /_origin/traffic-delay?ms=N       every other request (but /upload) waits N ms before it is
//                                          handled, or until its client goes away (a hanging origin);
//   DELETE /_origin/traffic-delay          no more waiting.
//   POST /_origin/fail-region?region=R     /health probes carrying X-Switchyard-Probe-Region: R answer
//                                          503 (repeat for more regions): that region sees it down;
//   DELETE /_origin/fail-region            every region sees it as the rest of the knobs say.

/** Spans kept by /_origin/health-stats; older ones are dropped. */
const MAX_HEALTH_SPANS = 10_000;

export interface HealthPathStats {
	count: number;
	inFlight: number;
	maxInFlight: number;
}

/** One /health request: from arrival to the end of its response (or its connection), in ms (performance time origin + now). */
export interface HealthSpan {
	path: string;
	start: number;
	end: number | null;
}

export interface HealthStats extends HealthPathStats {
	byPath: Record<string, HealthPathStats>;
	spans: HealthSpan[];
}

interface HealthKnobs {
	delayMs: number;
	failNext: number;
	/** 0: off. */
	trafficStatus: number;
	/** Every other request waits this long first (0: off). */
	trafficDelayMs: number;
	/** Probe regions (X-Switchyard-Probe-Region) whose /health probes answer 503. */
	failingRegions: Set<string>;
	stats: HealthStats;
}

function newHealthKnobs(): HealthKnobs {
	return {
		delayMs: 0,
		failNext: 0,
		trafficStatus: 0,
		trafficDelayMs: 0,
		failingRegions: new Set(),
		stats: { count: 0, inFlight: 0, maxInFlight: 0, byPath: {}, spans: [] },
	};
}

function isHealthPath(path: string): boolean {
	return path.endsWith("/health");
}

function preciseNow(): number {
	return performance.timeOrigin + performance.now();
}

/** Counts a /health request in flight until its response ends or its connection closes. */
function trackHealthProbe(stats: HealthStats, path: string, res: ServerResponse): void {
	const perPath = stats.byPath[path] ?? { count: 0, inFlight: 0, maxInFlight: 0 };
	stats.byPath[path] = perPath;
	for (const counter of [stats, perPath]) {
		counter.count++;
		counter.inFlight++;
		counter.maxInFlight = Math.max(counter.maxInFlight, counter.inFlight);
	}
	const span: HealthSpan = { path, start: preciseNow(), end: null };
	stats.spans.push(span);
	if (stats.spans.length > MAX_HEALTH_SPANS) stats.spans.shift();
	res.once("close", () => {
		span.end = preciseNow();
		stats.inFlight--;
		perPath.inFlight--;
	});
}

async function handleHealthProbe(
	state: OriginState,
	path: string,
	res: ServerResponse,
	region: string | undefined,
): Promise<void> {
	const knobs = state.healthKnobs;
	trackHealthProbe(knobs.stats, path, res);
	let failing = knobs.failNext > 0;
	if (failing) knobs.failNext--;
	if (region !== undefined && knobs.failingRegions.has(region.toUpperCase())) failing = true;
	if (knobs.delayMs > 0) await sleepUnlessClosed(knobs.delayMs, res);
	if (res.destroyed) return;
	if (failing) sendJson(res, 503, { origin: state.name, healthy: false });
	else handleHealth(state, res);
}

/** Handles the health-check test knobs; false when `target` is another control call. */
function handleHealthKnob(state: OriginState, method: string, target: ParsedTarget, res: ServerResponse): boolean {
	const knobs = state.healthKnobs;
	const route = target.path.slice(CONTROL_PREFIX.length);
	if (route === "health-delay" || route === "fail-next") {
		if (method !== "POST") {
			sendMethodNotAllowed(res, "POST");
			return true;
		}
		const value = parseClampedInt(target.params.get(route === "fail-next" ? "count" : "ms"), 0, 0, MAX_WORK_MS);
		if (value === undefined) {
			sendError(res, 400, `${route === "fail-next" ? "count" : "ms"} must be an integer`);
			return true;
		}
		if (route === "fail-next") knobs.failNext = value;
		else knobs.delayMs = value;
		sendEmpty(res, 204);
	} else if (route === "health-stats") {
		if (method === "GET" || method === "HEAD") {
			sendJson(res, 200, knobs.stats);
		} else if (method === "DELETE") {
			// Requests still in flight stay counted, so their end does not drive the counters below zero.
			const stats = knobs.stats;
			stats.count = 0;
			stats.maxInFlight = stats.inFlight;
			stats.spans = stats.spans.filter((span) => span.end === null);
			for (const [path, perPath] of Object.entries(stats.byPath)) {
				if (perPath.inFlight === 0) delete stats.byPath[path];
				else Object.assign(perPath, { count: 0, maxInFlight: perPath.inFlight });
			}
			sendEmpty(res, 204);
		} else {
			sendMethodNotAllowed(res, "GET, HEAD, DELETE");
		}
	} else if (route === "traffic-delay") {
		if (method === "DELETE") {
			knobs.trafficDelayMs = 0;
			sendEmpty(res, 204);
		} else if (method === "POST") {
			const ms = parseClampedInt(target.params.get("ms"), 0, 0, MAX_WORK_MS);
			if (ms === undefined) {
				sendError(res, 400, "ms must be an integer");
				return true;
			}
			knobs.trafficDelayMs = ms;
			sendEmpty(res, 204);
		} else {
			sendMethodNotAllowed(res, "POST, DELETE");
		}
	} else if (route === "fail-region") {
		if (method === "DELETE") {
			knobs.failingRegions.clear();
			sendEmpty(res, 204);
		} else if (method === "POST") {
			const region = target.params.get("region")?.trim().toUpperCase();
			if (!region) {
				sendError(res, 400, "region must name a probe region, such as WEU");
				return true;
			}
			knobs.failingRegions.add(region);
			sendEmpty(res, 204);
		} else {
			sendMethodNotAllowed(res, "POST, DELETE");
		}
	} else if (route === "traffic-status") {
		if (method === "DELETE") {
			knobs.trafficStatus = 0;
			sendEmpty(res, 204);
		} else if (method === "POST") {
			const status = parseClampedInt(target.params.get("status"), 0, 0, 999);
			if (status === undefined || status < 200 || status > 599) {
				sendError(res, 400, "status must be an integer from 200 to 599");
				return true;
			}
			knobs.trafficStatus = status;
			sendEmpty(res, 204);
		} else {
			sendMethodNotAllowed(res, "POST, DELETE");
		}
	} else {
		return false;
	}
	return true;
}

// --- CLI -------------------------------------------------------------------

const USAGE = "usage: node demo/origin.ts --name <name> --port <port> [--host <host>]";

interface CliOptions {
	name: string;
	port: number;
	host: string;
}

function parseCli(argv: string[]): CliOptions | undefined {
	let values: { name?: string; port?: string; host?: string };
	try {
		({ values } = parseArgs({
			args: argv,
			options: {
				name: { type: "string" },
				port: { type: "string" },
				host: { type: "string" },
			},
			strict: true,
			allowPositionals: false,
		}));
	} catch {
		return undefined;
	}
	const port = values.port === undefined ? Number.NaN : Number(values.port);
	const validPort = /^\d+$/.test(values.port ?? "") && port <= 65535;
	if (!values.name || !validPort) return undefined;
	return { name: values.name, port, host: values.host ?? DEFAULT_HOST };
}

async function main(argv: string[]): Promise<void> {
	const options = parseCli(argv);
	if (!options) {
		process.stderr.write(`${USAGE}\n`);
		process.exit(2);
	}
	const origin = await startOrigin(options);
	process.stdout.write(`origin ${origin.name} listening on ${origin.url}\n`);
	const shutdown = () => {
		origin.close().then(
			() => process.exit(0),
			(error: unknown) => {
				process.stderr.write(`origin ${origin.name}: error while closing: ${String(error)}\n`);
				process.exit(1);
			},
		);
	};
	process.once("SIGINT", shutdown);
	process.once("SIGTERM", shutdown);
}

function isMainModule(): boolean {
	const scriptPath = process.argv[1];
	if (!scriptPath) return false;
	if (import.meta.url === pathToFileURL(scriptPath).href) return true;
	try {
		return import.meta.url === pathToFileURL(realpathSync(scriptPath)).href;
	} catch {
		return false;
	}
}

if (isMainModule()) {
	main(process.argv.slice(2)).catch((error: unknown) => {
		process.stderr.write(`origin: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exit(1);
	});
}
