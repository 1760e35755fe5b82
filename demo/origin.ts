/**
 * Demo / test origin server for Switchyard.
 *
 * A tiny dependency-free HTTP server (Node `http`) that echoes requests, reports
 * health (which can be flipped at runtime), simulates slow or CPU-heavy work and
 * streams large bodies. Every response carries `x-origin-name` so you can see
 * which origin the load balancer picked. Use it from tests via `startOrigin()`
 * or run it directly: `node demo/origin.ts --name a --port 8001`.
 */

import { realpathSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

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

export interface OriginServer {
	readonly name: string;
	readonly port: number;
	/** e.g. "http://127.0.0.1:8001" */
	readonly url: string;
	/** Every request except `/_origin/*` control calls. */
	readonly received: ReceivedRequest[];
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

const DEFAULT_HOST = "127.0.0.1";
const MAX_RECORDED_BODY_BYTES = 64 * 1024;
const MAX_WORK_MS = 30_000;
const MAX_STREAM_BYTES = 1024 * 1024 * 1024;
const DEFAULT_STREAM_CHUNK_BYTES = 16 * 1024;
const MAX_STREAM_CHUNK_BYTES = 1024 * 1024;
const CONTROL_PREFIX = "/_origin/";

interface OriginState {
	readonly name: string;
	healthy: boolean;
	readonly received: ReceivedRequest[];
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
	};
	const host = options.host ?? DEFAULT_HOST;
	const server = createServer((req, res) => {
		handleRequest(state, req, res).catch((error: unknown) => failRequest(res, error));
	});
	await listen(server, options.port ?? 0, host);
	const port = (server.address() as AddressInfo).port;
	const closeOnce = once(() => closeServer(server));
	return {
		name: state.name,
		port,
		url: `http://${urlHost(host)}:${port}`,
		received: state.received,
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
	const body = await readBody(req);
	const target = parseTarget(req.url ?? "/");
	const method = req.method ?? "GET";
	if (target.path.startsWith(CONTROL_PREFIX)) {
		handleControl(state, method, target.path, res);
		return;
	}
	state.received.push({
		method,
		url: req.url ?? "/",
		headers: { ...req.headers },
		bodyBytes: body.bytes,
		body: body.text,
		at: arrivedAt,
	});
	await handleOriginRoute(state, req, res, target, body);
}

async function handleOriginRoute(
	state: OriginState,
	req: IncomingMessage,
	res: ServerResponse,
	target: ParsedTarget,
	body: RequestBody,
): Promise<void> {
	const isRead = req.method === "GET" || req.method === "HEAD";
	if (isRead && target.path === "/health") {
		handleHealth(state, res);
	} else if (isRead && target.path === "/work") {
		await handleWork(state, target.params, res);
	} else if (isRead && target.path === "/stream") {
		handleStream(target.params, req, res);
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
	if (route === "fail" || route === "recover") {
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

function handleStream(params: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
	const totalBytes = parseClampedInt(params.get("bytes"), 0, 0, MAX_STREAM_BYTES);
	const chunkBytes = parseClampedInt(params.get("chunk"), DEFAULT_STREAM_CHUNK_BYTES, 1, MAX_STREAM_CHUNK_BYTES);
	if (totalBytes === undefined || chunkBytes === undefined) {
		sendError(res, 400, "bytes and chunk must be integers");
		return;
	}
	res.writeHead(200, { "content-type": "application/octet-stream" });
	if (req.method === "HEAD") {
		res.end();
		return;
	}
	writeChunks(res, totalBytes, Buffer.alloc(chunkBytes, "x"));
}

/** Writes `remainingBytes` of the filler in chunks, yielding to the event loop between writes. */
function writeChunks(res: ServerResponse, remainingBytes: number, filler: Buffer): void {
	if (res.destroyed) return;
	if (remainingBytes <= 0) {
		res.end();
		return;
	}
	const chunk = filler.subarray(0, Math.min(filler.length, remainingBytes));
	const next = () => writeChunks(res, remainingBytes - chunk.length, filler);
	if (res.write(chunk)) setImmediate(next);
	else res.once("drain", next);
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
