/**
 * Issue 16, item 3: `floor` is frozen against gaming. The benchmark's reference Worker "floor"
 * (bench/floor.ts: Switchyard's forwarding rules, no load balancing) and Switchyard itself, both
 * bundled and run under workerd exactly as `npm run bench` runs them (bench/bundle.ts,
 * bench/workerd.ts; Switchyard configured through its admin API with the benchmark's own
 * configuration, bench/switchyard.ts, over this one origin), are sent the same requests through a
 * raw HTTP/1.1 client (node:http, so that hop-by-hop headers, Connection-named headers, Host and
 * chunked uploads go out as written), each on a connection of its own. One recording origin in this
 * process answers both. For every request the test asserts that the origin received the same from
 * both (method; path and query byte for byte; every header, in order, with its value; the body's
 * bytes, and whether it came with Content-Length or chunked), and that the client got the same from
 * both (status code and reason phrase; every header, in order, with its value; the body's bytes).
 * One exchange also checks what the rules must have done, so two equally broken Workers cannot pass.
 *
 * Nothing is left out of either comparison. What could differ, and why it does not:
 * - Host at the origin (a Worker cannot choose it: it is the origin's own address): both Workers
 *   send to the same origin URL;
 * - X-Forwarded-Host, and the client URLs the redirect rewrite writes: the client sends the same
 *   Host (`lb.example`) to both, whatever port each workerd listens on;
 * - Date: the origin sends a fixed one, and workerd adds none;
 * - Switchyard's debug headers (x-switchyard-origin, -pool): off in the benchmark's configuration
 *   (proxy.debug_headers defaults to false), as in production; neither Worker adds a request id.
 *
 * Out of scope, being what floor leaves out (bench/floor.ts lists it): retries (and the request body
 * kept for them), what Switchyard answers for an origin it cannot reach or for the edge's 521–530
 * answers (a problem naming the load balancer and pool), session affinity cookies, WebSocket relays,
 * the idle timeouts on stalled bodies, and uploads that break midway (Switchyard aborts the origin's
 * request; floor passes the client's body as it is). Each has tests of its own.
 */
import { createHash, randomBytes } from "node:crypto";
import {
	createServer,
	request as httpRequest,
	type IncomingHttpHeaders,
	type IncomingMessage,
	type Server,
	type ServerResponse,
} from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleReference, bundleSwitchyard, compatibilityDate, PROJECT_ROOT } from "../../bench/bundle.ts";
import { cleanUp } from "../../bench/processes.ts";
import { configureSwitchyard } from "../../bench/switchyard.ts";
import { durableObjectsOf, startWorkerd, type Workerd } from "../../bench/workerd.ts";

/** What the client names as Host for both Workers (Switchyard's load balancer "*" takes any). */
const CLIENT_HOST = "lb.example";
/** Bound of one exchange (the test fails rather than hangs). */
const EXCHANGE_MS = 10_000;

/** What the origin received. */
interface Received {
	readonly method: string;
	/** The request target as sent: path and query, byte for byte. */
	readonly target: string;
	/** Every header as it arrived, in order, name lower-cased (HTTP/1.1 names are case-insensitive). */
	readonly headers: [string, string][];
	readonly body: string;
}

/** What the client got. */
interface Answer {
	readonly status: number;
	readonly reason: string;
	readonly headers: [string, string][];
	readonly body: string;
}

/** One exchange: the request the client sends. */
interface Exchange {
	readonly name: string;
	readonly method: string;
	readonly target: string;
	readonly headers: [string, string][];
	/** The body; with `chunked`, sent with Transfer-Encoding: chunked, in three writes. */
	readonly body?: Buffer;
	readonly chunked?: boolean;
	/** True when the Worker answers itself (a loop): the origin must see nothing. */
	readonly answeredByWorker?: boolean;
	/** The Host the client names (default CLIENT_HOST). */
	readonly host?: string;
	/** What both must have done, beyond doing the same (so that two equally broken Workers do not pass). */
	readonly check?: (origin: Received) => void;
}

// The origin's answers, by path. Deterministic, so both Workers get the same bytes.
const BIG_RESPONSE = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 31 + 7) % 251));
const SMALL_TEXT = "hello from the origin\n";
const GZIPPED = gzipSync(Buffer.from("compressed ".repeat(200)));
/** The origin's Date on every answer: fixed, so that the two answers to one request can be compared whole. */
const ORIGIN_DATE = "Tue, 01 Dec 2026 12:00:00 GMT";

let originUrl = "";
const received: Received[] = [];

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer) {
	const path = (req.url ?? "/").split("?")[0];
	const originHost = new URL(originUrl).host;
	// Every answer dated alike (see the top of the file), the Date header first as Node puts it.
	res.sendDate = false;
	const writeHead = (status: number, headers: [string, string][], reason?: string) =>
		reason === undefined
			? res.writeHead(status, [["Date", ORIGIN_DATE], ...headers])
			: res.writeHead(status, reason, [["Date", ORIGIN_DATE], ...headers]);
	switch (path) {
		case "/big":
			writeHead(200, [
				["Content-Type", "application/octet-stream"],
				["Content-Length", String(BIG_RESPONSE.length)],
			]);
			res.end(BIG_RESPONSE);
			return;
		case "/stream": {
			// No Content-Length: chunked, of unknown length (always streamed by both).
			writeHead(200, [["Content-Type", "application/octet-stream"]]);
			res.write(BIG_RESPONSE.subarray(0, 30_000));
			setTimeout(() => res.end(BIG_RESPONSE.subarray(30_000)), 20);
			return;
		}
		case "/redirect":
			// An application that builds absolute URLs from the Host it was asked for (its own address).
			writeHead(302, [
				["Location", `http://${originHost}/next?step=2`],
				["Content-Location", `http://${originHost}/here`],
				["Refresh", `0; url=http://${originHost}/refresh`],
				["Set-Cookie", `sid=1; Domain=${new URL(originUrl).hostname}; Path=/`],
				["Set-Cookie", "theme=dark; Path=/"],
				["Content-Length", "0"],
			]);
			res.end();
			return;
		case "/redirect-away":
			writeHead(301, [
				["Location", "https://elsewhere.example/x?y=1"],
				["Content-Length", "0"],
			]);
			res.end();
			return;
		case "/redirect-relative":
			writeHead(307, [
				["Location", "/relative?z=3"],
				["Content-Length", "0"],
			]);
			res.end();
			return;
		case "/hop":
			// Hop-by-hop headers in the response, and one the Connection header names.
			writeHead(200, [
				["Content-Type", "text/plain"],
				["Connection", "keep-alive, X-Hop-Named"],
				["Keep-Alive", "timeout=5"],
				["X-Hop-Named", "connection-scoped"],
				["Proxy-Authenticate", 'Basic realm="origin"'],
				["X-Kept", "end-to-end"],
				["Content-Length", String(Buffer.byteLength(SMALL_TEXT))],
			]);
			res.end(SMALL_TEXT);
			return;
		case "/reason":
			writeHead(
				418,
				[
					["Content-Type", "text/plain"],
					["Content-Length", "3"],
				],
				"Short And Stout",
			);
			res.end("tea");
			return;
		case "/gzip":
			writeHead(200, [
				["Content-Type", "text/plain"],
				["Content-Encoding", "gzip"],
				["Content-Length", String(GZIPPED.length)],
			]);
			res.end(GZIPPED);
			return;
		case "/empty":
			writeHead(204, [["X-Empty", "yes"]]);
			res.end();
			return;
		case "/not-modified":
			writeHead(304, [["ETag", '"v1"']]);
			res.end();
			return;
		default: {
			// An echo: what came, as a small JSON body with a declared length.
			const echo = Buffer.from(
				JSON.stringify({ method: req.method, target: req.url, bodyBytes: body.length, bodySha: sha(body) }),
			);
			writeHead(200, [
				["Content-Type", "application/json"],
				["Cache-Control", "no-store"],
				["Set-Cookie", "a=1; Path=/"],
				["Set-Cookie", "b=2; Path=/; HttpOnly"],
				["Vary", "Accept-Encoding"],
				["Content-Length", String(echo.length)],
			]);
			res.end(req.method === "HEAD" ? undefined : echo);
		}
	}
}

function sha(bytes: Buffer): string {
	return createHash("sha256").update(bytes).digest("hex");
}

/** Bytes as compared: their length and SHA-256, and the text itself when it is short (readable diffs). */
function describeBytes(bytes: Buffer): string {
	const text = bytes.length <= 512 ? `: ${JSON.stringify(bytes.toString("latin1"))}` : "";
	return `${bytes.length} bytes, sha256 ${sha(bytes)}${text}`;
}

function startRecordingOrigin(): Promise<Server> {
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (chunk: Buffer) => chunks.push(chunk));
		req.on("end", () => {
			const body = Buffer.concat(chunks);
			received.push({
				method: req.method ?? "",
				target: req.url ?? "",
				headers: pairs(req.rawHeaders),
				body: describeBytes(body),
			});
			answer(req, res, body);
		});
	});
	return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function pairs(raw: readonly string[]): [string, string][] {
	const out: [string, string][] = [];
	for (let i = 0; i < raw.length; i += 2) out.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string]);
	return out;
}

/** Sends one exchange to `base` over a connection of its own; the answer and what the origin saw of it. */
function send(base: string, exchange: Exchange): Promise<{ answer: Answer; origin: Received[] }> {
	const url = new URL(base);
	const before = received.length;
	return new Promise((resolve, reject) => {
		const req = httpRequest({
			host: url.hostname,
			port: url.port,
			method: exchange.method,
			path: exchange.target,
			headers: [["Host", exchange.host ?? CLIENT_HOST], ...exchange.headers] as unknown as IncomingHttpHeaders,
			setHost: false,
			agent: false,
			timeout: EXCHANGE_MS,
		});
		req.on("timeout", () => req.destroy(new Error(`${exchange.name}: no answer within ${EXCHANGE_MS} ms`)));
		req.on("error", reject);
		req.on("response", (res) => {
			const chunks: Buffer[] = [];
			res.on("data", (chunk: Buffer) => chunks.push(chunk));
			res.on("error", reject);
			res.on("end", () => {
				res.socket?.destroy();
				resolve({
					answer: {
						status: res.statusCode ?? 0,
						reason: res.statusMessage ?? "",
						headers: pairs(res.rawHeaders),
						body: describeBytes(Buffer.concat(chunks)),
					},
					origin: received.slice(before),
				});
			});
		});
		if (exchange.body && exchange.chunked) {
			const third = Math.ceil(exchange.body.length / 3);
			for (let i = 0; i < exchange.body.length; i += third) req.write(exchange.body.subarray(i, i + third));
		} else if (exchange.body) req.write(exchange.body);
		req.end();
	});
}

const SMALL_BODY = Buffer.from(JSON.stringify({ hello: "world", n: 42, list: [1, 2, 3] }));
const LARGE_BODY = Buffer.from(Array.from({ length: 96 * 1024 }, (_, i) => (i * 17 + 3) % 253));

/** Headers a client may send that the rules must rewrite: forwarding, hop-by-hop, Connection-named, CDN-Loop. */
const HOSTILE_HEADERS: [string, string][] = [
	["Connection", "keep-alive, X-Conn-Named, x-other-named"],
	["Keep-Alive", "timeout=5, max=100"],
	["X-Conn-Named", "must not reach the origin"],
	["X-Other-Named", "neither must this"],
	["Proxy-Authorization", "Basic Zm9vOmJhcg=="],
	["Proxy-Connection", "keep-alive"],
	["TE", "trailers"],
	["X-Forwarded-For", "198.51.100.1, 198.51.100.2"],
	["X-Forwarded-Proto", "https"],
	["X-Forwarded-Host", "forged.example"],
	["X-Forwarded-Port", "8443"],
	["Forwarded", "for=198.51.100.1;proto=https;host=forged.example"],
	["X-Real-IP", "198.51.100.3"],
	["True-Client-IP", "198.51.100.4"],
	["X-Switchyard-Origin", "forged"],
	["CDN-Loop", "other-cdn; v=1"],
	// What Cloudflare's edge sets (workerd serve does not): the client's address the rules build on.
	["CF-Connecting-IP", "203.0.113.9"],
	["Accept", "application/json"],
	["Accept-Encoding", "gzip, br"],
	["User-Agent", "floor-equivalence/1"],
	["Cookie", "session=abc; theme=dark"],
	["Authorization", "Bearer end-to-end"],
	["X-Custom", "kept"],
	["X-Custom", "twice"],
];

const EXCHANGES: Exchange[] = [
	{
		name: "GET with hostile headers",
		method: "GET",
		target: "/echo?b=2&a=1&a=3",
		headers: HOSTILE_HEADERS,
		check: (origin) => {
			const names = origin.headers.map(([name]) => name);
			for (const gone of ["x-conn-named", "x-other-named", "keep-alive", "proxy-authorization", "te", "forwarded"])
				expect(names).not.toContain(gone);
			const value = (name: string) => origin.headers.filter(([n]) => n === name).map(([, v]) => v);
			expect(value("x-forwarded-for")).toEqual(["203.0.113.9"]);
			expect(value("x-real-ip")).toEqual(["203.0.113.9"]);
			expect(value("x-forwarded-host")).toEqual([CLIENT_HOST]);
			expect(value("cdn-loop")).toEqual(["other-cdn; v=1, switchyard"]);
			expect(value("x-custom")).toEqual(["kept", "twice"]);
		},
	},
	{
		name: "GET, the client names a port in Host, and Upgrade that is not a WebSocket",
		method: "GET",
		target: "/echo?upgrade",
		host: "lb.example:8080",
		headers: [
			["Connection", "Upgrade"],
			["Upgrade", "h2c"],
		],
	},
	{
		name: "GET, a query as sent (no re-encoding)",
		method: "GET",
		target: "/echo/%7Euser/a%2Fb?q=a'b|c^d&e=%20f+g&h=%zz&empty=&=x",
		headers: [["Connection", "close"]],
	},
	{ name: "GET, a path that begins with //", method: "GET", target: "//double/slash?x=1", headers: [] },
	{ name: "HEAD", method: "HEAD", target: "/echo?head=1", headers: [["CF-Connecting-IP", "2001:db8::1"]] },
	{ name: "OPTIONS", method: "OPTIONS", target: "/echo", headers: [["Origin", "https://app.example"]] },
	{ name: "DELETE", method: "DELETE", target: "/echo/item/7", headers: [["X-Forwarded-For", "198.51.100.9"]] },
	{
		name: "POST, a small body (Content-Length)",
		method: "POST",
		target: "/echo?small",
		headers: [...HOSTILE_HEADERS, ["Content-Type", "application/json"], ["Content-Length", String(SMALL_BODY.length)]],
		body: SMALL_BODY,
	},
	{
		name: "POST, an empty body (Content-Length: 0)",
		method: "POST",
		target: "/echo?empty",
		headers: [["Content-Length", "0"]],
	},
	{
		name: "PUT, a body over 64 KiB (Content-Length)",
		method: "PUT",
		target: "/echo?large",
		headers: [
			["Content-Type", "application/octet-stream"],
			["Content-Length", String(LARGE_BODY.length)],
			["CF-Connecting-IP", "203.0.113.10"],
		],
		body: LARGE_BODY,
	},
	{
		name: "PATCH, a small chunked body",
		method: "PATCH",
		target: "/echo?chunked-small",
		headers: [
			["Content-Type", "text/plain"],
			["Transfer-Encoding", "chunked"],
		],
		body: SMALL_BODY,
		chunked: true,
	},
	{
		name: "POST, a chunked body over 64 KiB",
		method: "POST",
		target: "/echo?chunked-large",
		headers: [
			["Content-Type", "application/octet-stream"],
			["Transfer-Encoding", "chunked"],
		],
		body: LARGE_BODY,
		chunked: true,
	},
	{ name: "a redirect naming the origin", method: "GET", target: "/redirect", headers: HOSTILE_HEADERS },
	{ name: "a redirect elsewhere", method: "GET", target: "/redirect-away", headers: [] },
	{ name: "a relative redirect", method: "GET", target: "/redirect-relative", headers: [] },
	{ name: "a response with hop-by-hop headers", method: "GET", target: "/hop", headers: [] },
	{ name: "a status with its own reason phrase", method: "GET", target: "/reason", headers: [] },
	{ name: "a gzip-encoded small response", method: "GET", target: "/gzip", headers: [["Accept-Encoding", "gzip"]] },
	{ name: "a response over 64 KiB (Content-Length)", method: "GET", target: "/big", headers: [] },
	{ name: "a response of unknown length (chunked)", method: "GET", target: "/stream", headers: [] },
	{ name: "204 No Content", method: "GET", target: "/empty", headers: [] },
	{ name: "304 Not Modified", method: "GET", target: "/not-modified", headers: [["If-None-Match", '"v1"']] },
	{
		name: "a loop (CDN-Loop names the balancer twice)",
		method: "GET",
		target: "/echo?loop",
		headers: [["CDN-Loop", "switchyard, other, switchyard"]],
		answeredByWorker: true,
	},
];

let originServer: Server;
let floor: Workerd;
let switchyard: Workerd;

beforeAll(async () => {
	originServer = await startRecordingOrigin();
	const address = originServer.address();
	if (address === null || typeof address === "string") throw new Error("the origin has no port");
	originUrl = `http://127.0.0.1:${address.port}`;
	const [floorBundle, switchyardBundle] = await Promise.all([bundleReference("floor.ts"), bundleSwitchyard()]);
	const date = compatibilityDate();
	const token = randomBytes(24).toString("hex");
	[floor, switchyard] = await Promise.all([
		startWorkerd({
			name: "floor",
			modulePath: floorBundle.modulePath,
			compatibilityDate: date,
			text: { ORIGIN: originUrl },
		}),
		startWorkerd({
			name: "switchyard",
			modulePath: switchyardBundle.modulePath,
			compatibilityDate: date,
			text: { ADMIN_TOKEN: token, ADMIN_HOSTNAMES: "127.0.0.1" },
			durableObjects: durableObjectsOf(PROJECT_ROOT),
		}),
	]);
	// The benchmark's own configuration (load balancer "*", one pool), over this one origin.
	await configureSwitchyard(switchyard.url, token, "round_robin", [{ name: "origin", url: originUrl }]);
}, 120_000);

afterAll(async () => {
	await cleanUp();
	await new Promise((resolve) => originServer?.close(resolve));
});

describe("floor and Switchyard forward alike (issue 16, item 3)", () => {
	for (const exchange of EXCHANGES) {
		it(exchange.name, async () => {
			const viaFloor = await send(floor.url, exchange);
			const viaSwitchyard = await send(switchyard.url, exchange);
			expect(viaSwitchyard.origin.length, "requests the origin received via Switchyard").toBe(
				exchange.answeredByWorker ? 0 : 1,
			);
			expect(viaFloor.origin, "what the origin received: floor, then Switchyard").toEqual(viaSwitchyard.origin);
			if (exchange.check && viaSwitchyard.origin[0]) exchange.check(viaSwitchyard.origin[0]);
			expect(viaFloor.answer, "what the client got: floor, then Switchyard").toEqual(viaSwitchyard.answer);
		});
	}
});
