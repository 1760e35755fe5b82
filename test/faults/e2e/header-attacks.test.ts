/**
 * Fault suite, end to end (issue 15): header attacks against the real `wrangler dev`, written byte
 * for byte on raw sockets (node:net; fetch would normalise most of them away), with two real
 * origins on loopback that record what they receive.
 *
 * The rule for every attack: the origin never receives a second (smuggled) request, nor a
 * forwarding header as the client wrote it (X-Forwarded-For/-Host/-Proto, Forwarded, X-Real-IP,
 * True-Client-IP, CDN-Loop, x-switchyard-*, or the same names spelled with underscores); what it
 * gets is the balancer's own (X-Forwarded-For and X-Real-IP the client's address, X-Forwarded-Host
 * the Host that routed the request, CDN-Loop ending in our entry). The client gets an answer that
 * says what happened. Who gives it is part of what is measured, and expected per attack:
 *   - runtime: wrangler dev's own HTTP server (workerd, and miniflare's entry worker in front of the
 *     Worker) refuses the request before the Worker sees it — malformed framing, header syntax,
 *     sizes. Its status is documented in each case (a few are 500s: miniflare's, not the Worker's);
 *   - switchyard: the Worker refuses it with a 4xx problem (or the admin API's envelope), or
 *     answers 508 for a loop;
 *   - origin: well-formed requests that merely carry hostile headers or targets are forwarded
 *     neutralised (as nginx and Envoy do) and the origin answers; refusing them would refuse
 *     legitimate clients too;
 *   - origin-refused: forwarded, and the origin's own HTTP parser refused it (Node's 16 KiB
 *     header limit, 431), which the balancer relays.
 * Local-only behaviours of wrangler dev that Cloudflare's edge does not share (a client's own
 * CF-Connecting-IP is kept; MF-Original-URL sets the URL) are cases of their own, with notes.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceivedRequest } from "../../../demo/origin.ts";
import { recordFigures } from "../figures.ts";
import { type Balancer, poolConfig, putConfig, startBalancer, waitFor } from "./harness.ts";

const ORIGINS = ["ha1", "ha2"];
const CRLF = "\r\n";
/** Values a client forges: none may reach an origin in a forwarding header. */
const FORGED_IP = "198.51.100.66";
const FORGED_HOST = "evil.example";
const FORGED_PROTO = "gopher";
const FORGED_LOOP = "forged-loop";
/** What the local runtime takes as the client's address when the client does not say otherwise. */
const LOOPBACK = "127.0.0.1";
/** The client's own CF-Connecting-IP (the local-only case). */
const CLIENT_CF_IP = "203.0.113.9";
const SMUGGLED = "/smuggled";

/** Forwarding header names (dashed): a client's own must not reach the origin as it wrote them. */
const FORWARDING = new Set([
	"x-forwarded-for",
	"x-real-ip",
	"forwarded",
	"true-client-ip",
	"x-forwarded-port",
	"x-forwarded-host",
	"x-forwarded-proto",
	"cdn-loop",
]);
const HOP_BY_HOP = ["connection", "upgrade", "keep-alive", "proxy-connection", "te", "trailer"];

type Answerer = "runtime" | "switchyard" | "origin" | "origin-refused";

interface Answer {
	/** 0: no answer at all (the connection closed or timed out first). */
	readonly status: number;
	readonly headers: Map<string, string>;
	readonly body: string;
	/** Bytes after the first complete response: a second response means a second request was served. */
	readonly extra: string;
	readonly by: Answerer;
}

interface Attack {
	readonly group: Group;
	readonly name: string;
	readonly request: (host: string) => string;
	/** Who answers, and with which statuses. */
	readonly expect: { readonly by: Answerer; readonly status: readonly number[] };
	/** How many requests the origins get (not counting health checks): 0 or 1. */
	readonly originGets: 0 | 1;
	/** The origin's request line target, when it gets one. */
	readonly originUrl?: string;
	/** The origin's X-Forwarded-For; the client's address as the runtime saw it. */
	readonly clientIp?: readonly string[];
	/** More checks of what the origin received; a string says what is wrong. */
	readonly check?: (received: ReceivedRequest | undefined, answer: Answer) => string | undefined;
	/** What the runtime or the balancer does here, for the report. */
	readonly note?: string;
}

type Group =
	| "forwarding headers"
	| "upgrade h2c"
	| "request targets"
	| "framing (Content-Length, Transfer-Encoding)"
	| "oversized headers";

const get =
	(target: string, headers: string[] = [], host?: string) =>
	(hostHeader: string) =>
		[`GET ${target} HTTP/1.1`, `Host: ${host ?? hostHeader}`, ...headers, "", ""].join(CRLF);

const post = (headers: string[], body: string) => (hostHeader: string) =>
	[`POST /upload-ish HTTP/1.1`, `Host: ${hostHeader}`, ...headers, "", body].join(CRLF);

const FORGED_HEADERS = [
	`X-Forwarded-For: ${FORGED_IP}`,
	`X-Real-IP: ${FORGED_IP}`,
	`Forwarded: for=${FORGED_IP};host=${FORGED_HOST};proto=${FORGED_PROTO}`,
	`True-Client-IP: ${FORGED_IP}`,
	`X-Forwarded-Host: ${FORGED_HOST}`,
	`X-Forwarded-Proto: ${FORGED_PROTO}`,
	"X-Forwarded-Port: 1",
	`CDN-Loop: ${FORGED_LOOP}`,
	"X-Switchyard-Origin: forged",
];

const served = (status = [200]) => ({ by: "origin" as const, status });
const runtime = (...status: number[]) => ({ by: "runtime" as const, status });
const refused = (...status: number[]) => ({ by: "switchyard" as const, status });

const ATTACKS: readonly Attack[] = [
	// ------------------------------------------------------------ forwarding headers
	{
		group: "forwarding headers",
		name: "forged X-Forwarded-For/-Host/-Proto, Forwarded, X-Real-IP, True-Client-IP, CDN-Loop",
		request: get("/fwd/forged", [...FORGED_HEADERS, "Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: "/fwd/forged",
	},
	{
		group: "forwarding headers",
		name: "Connection naming every forwarding header, with forged values",
		request: get("/fwd/connection-forged", [
			...FORGED_HEADERS,
			"Connection: close, X-Forwarded-For, X-Real-IP, X-Forwarded-Host, X-Forwarded-Proto, CDN-Loop, Forwarded",
		]),
		expect: served(),
		originGets: 1,
		originUrl: "/fwd/connection-forged",
	},
	{
		group: "forwarding headers",
		name: "Connection naming X-Forwarded-For and CDN-Loop, to strip the balancer's own",
		request: get("/fwd/connection-strip", [
			"Connection: X-Forwarded-For, CDN-Loop, X-Real-IP, X-Forwarded-Host, close",
		]),
		expect: served(),
		originGets: 1,
		originUrl: "/fwd/connection-strip",
		note: "workerd removes Connection before the Worker sees it (the names it lists arrive as ordinary headers); the balancer's own are set last either way",
	},
	{
		group: "forwarding headers",
		name: "Connection naming CDN-Loop on a request that already looped twice",
		request: get("/fwd/loop", ["CDN-Loop: switchyard, switchyard", "Connection: CDN-Loop, close"]),
		expect: refused(508),
		originGets: 0,
		note: "loop detection reads CDN-Loop before anything is stripped: 508",
	},
	{
		group: "forwarding headers",
		name: "forwarding headers spelled with underscores (X_Forwarded_For, …)",
		request: get("/fwd/underscores", [
			`X_Forwarded_For: ${FORGED_IP}`,
			`X_Real_IP: ${FORGED_IP}`,
			`X_Forwarded_Host: ${FORGED_HOST}`,
			`X_Forwarded_Proto: ${FORGED_PROTO}`,
			`True_Client_IP: ${FORGED_IP}`,
			`CDN_Loop: ${FORGED_LOOP}`,
			"Connection: close",
		]),
		expect: served(),
		originGets: 1,
		originUrl: "/fwd/underscores",
		note: "workerd passes the names through; CGI-style servers read them as X-Forwarded-For: dropped since issue 15",
	},
	{
		group: "forwarding headers",
		name: "space before the colon (X-Forwarded-For : …)",
		request: get("/fwd/space", [`X-Forwarded-For : ${FORGED_IP}`, "Connection: close"]),
		expect: runtime(400),
		originGets: 0,
	},
	{
		group: "forwarding headers",
		name: "obsolete line folding carrying a forwarding header",
		request: get("/fwd/fold", ["X-Note: a", ` X-Forwarded-For: ${FORGED_IP}`, "Connection: close"]),
		expect: runtime(400),
		originGets: 0,
	},
	{
		group: "forwarding headers",
		name: "a client's own CF-Connecting-IP (local only)",
		request: get("/fwd/cf-connecting-ip", [
			`CF-Connecting-IP: ${CLIENT_CF_IP}`,
			`X-Forwarded-For: ${FORGED_IP}`,
			"Connection: close",
		]),
		expect: served(),
		originGets: 1,
		originUrl: "/fwd/cf-connecting-ip",
		clientIp: [LOOPBACK, CLIENT_CF_IP],
		note: "wrangler dev keeps a client's CF-Connecting-IP (miniflare sets it only when absent), and the Worker takes it as the client's address; Cloudflare's edge always overwrites it",
	},
	{
		group: "forwarding headers",
		name: "MF-Original-URL naming another host (local only)",
		request: get("/fwd/mf-original-url", [`MF-Original-URL: http://${FORGED_HOST}/x`, "Connection: close"]),
		expect: refused(404),
		originGets: 0,
		note: "wrangler dev (miniflare's entry worker) takes MF-Original-URL as the request's URL and Host: the Worker sees evil.example, which no load balancer answers",
	},
	// ------------------------------------------------------------ upgrade h2c
	{
		group: "upgrade h2c",
		name: "Upgrade: h2c with HTTP2-Settings (h2c smuggling)",
		request: get("/h2c/keep-alive", [
			"Connection: Upgrade, HTTP2-Settings",
			"Upgrade: h2c",
			"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
		]),
		expect: served(),
		originGets: 1,
		originUrl: "/h2c/keep-alive",
		note: "no 101: the request is served over HTTP/1.1 and the origin gets neither Upgrade nor Connection (HTTP2-Settings does arrive: workerd drops the Connection header that names it)",
	},
	{
		group: "upgrade h2c",
		name: "Upgrade: h2c, Connection: close",
		request: get("/h2c/close", [
			"Connection: Upgrade, HTTP2-Settings, close",
			"Upgrade: h2c",
			"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
		]),
		expect: served(),
		originGets: 1,
		originUrl: "/h2c/close",
	},
	{
		group: "upgrade h2c",
		name: "Upgrade: h2c on a POST with a body",
		request: (host) =>
			[
				"POST /h2c/post HTTP/1.1",
				`Host: ${host}`,
				"Connection: Upgrade, HTTP2-Settings, close",
				"Upgrade: h2c",
				"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
				"Content-Length: 5",
				"",
				"hello",
			].join(CRLF),
		expect: served(),
		originGets: 1,
		originUrl: "/h2c/post",
		check: (received) =>
			received?.body === "hello" ? undefined : `the origin got the body ${JSON.stringify(received?.body)}`,
	},
	// ------------------------------------------------------------ request targets
	{
		group: "request targets",
		name: "absolute-form naming another host (GET http://evil.example/…)",
		request: get(`http://${FORGED_HOST}/target/absolute-other`, ["Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: "/target/absolute-other",
		note: "the runtime routes by Host and keeps the target's path; the origin is the configured one, X-Forwarded-Host the Host",
	},
	{
		group: "request targets",
		name: "absolute-form naming us, Host naming another",
		request: (host) => get(`http://${host}/target/absolute-ours`, ["Connection: close"], FORGED_HOST)(host),
		expect: refused(404),
		originGets: 0,
		note: "Host decides: no load balancer answers evil.example",
	},
	{
		group: "request targets",
		name: "absolute-form to /_lb/ with Host naming another",
		request: (host) => get(`http://${host}/_lb/api/config`, ["Connection: close"], FORGED_HOST)(host),
		expect: refused(404),
		originGets: 0,
		note: "/_lb/ on a host that is not an admin hostname: 404, never proxied",
	},
	{
		group: "request targets",
		name: "//host target (GET //evil.example/x)",
		request: get(`//${FORGED_HOST}/target/x`, ["Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: `//${FORGED_HOST}/target/x`,
		note: "a path like any other: the configured origin gets it byte for byte (the URL is the origin's address + the path, never resolved against it)",
	},
	{
		group: "request targets",
		name: "///host/_lb/ target",
		request: get(`///${FORGED_HOST}/_lb/api/config`, ["Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: `///${FORGED_HOST}/_lb/api/config`,
	},
	{
		group: "request targets",
		name: "encoded dots (/%2e%2e/%2e%2e/etc/passwd)",
		request: get("/%2e%2e/%2e%2e/etc/passwd", ["Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: "/etc/passwd",
		note: "the runtime's URL parser resolves %2e%2e as ..: the origin gets /etc/passwd of its own tree, never above it",
	},
	{
		group: "request targets",
		name: "encoded dots into /_lb/ (/static/%2e%2e/_lb/api/config)",
		request: get("/static/%2e%2e/_lb/api/config", ["Connection: close"]),
		expect: refused(401),
		originGets: 0,
		note: "resolves to /_lb/api/config: the admin API (localhost is an admin hostname) asks for a token; never proxied",
	},
	{
		group: "request targets",
		name: "encoded slash (/a%2fb)",
		request: get("/target/a%2fb", ["Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: "/target/a%2fb",
	},
	{
		group: "request targets",
		name: "encoded dots and slashes (/%2e%2e%2f_lb%2fapi/config)",
		request: get("/%2e%2e%2f_lb%2fapi/config", ["Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: "/%2e%2e%2f_lb%2fapi/config",
		note: "one segment (an encoded slash separates nothing): forwarded as sent, never the admin API",
	},
	{
		group: "request targets",
		name: "encoded underscore (/%5flb/api/config)",
		request: get("/%5flb/api/config", ["Connection: close"]),
		expect: served(),
		originGets: 1,
		originUrl: "/%5flb/api/config",
		note: "not /_lb/ to the runtime's URL parser: forwarded as sent (Cloudflare's URL normalisation would decode it at the edge)",
	},
	{
		group: "request targets",
		name: "a 100 KB request target",
		request: get(`/${"p".repeat(100_000)}`, ["Connection: close"]),
		expect: runtime(414),
		originGets: 0,
	},
	{
		group: "request targets",
		name: "asterisk-form (OPTIONS *)",
		request: (host) => [`OPTIONS * HTTP/1.1`, `Host: ${host}`, "Connection: close", "", ""].join(CRLF),
		expect: runtime(500),
		originGets: 0,
		note: "miniflare's entry worker fails on it (TypeError: Fetch API cannot load http://localhost*/): a 500 before the Worker",
	},
	{
		group: "request targets",
		name: "CONNECT evil.example:443",
		request: () => [`CONNECT ${FORGED_HOST}:443 HTTP/1.1`, `Host: ${FORGED_HOST}:443`, "", ""].join(CRLF),
		expect: runtime(500),
		originGets: 0,
		note: "workerd hands CONNECT to the Worker's connect() handler, which it does not export: a 500 before fetch()",
	},
	{
		group: "request targets",
		name: "two Host headers",
		request: get("/target/two-hosts", [`Host: ${FORGED_HOST}`, "Connection: close"]),
		expect: runtime(500),
		originGets: 0,
		note: "miniflare's entry worker fails to build the URL (Invalid URL string): a 500 before the Worker",
	},
	// ------------------------------------------------------------ framing
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "two different Content-Lengths, a request in the difference",
		request: post(["Content-Length: 5", "Content-Length: 44"], `hello${get(SMUGGLED)("x").slice(0, 39)}`),
		expect: runtime(400),
		originGets: 0,
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "two equal Content-Lengths",
		request: post(["Content-Length: 5", "Content-Length: 5", "Connection: close"], "hello"),
		expect: served(),
		originGets: 1,
		originUrl: "/upload-ish",
		check: (received) => (received?.body === "hello" ? undefined : `body ${JSON.stringify(received?.body)}`),
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "Content-Length: 5, 5 (a list)",
		request: post(["Content-Length: 5, 5", "Connection: close"], "hello"),
		expect: runtime(400),
		originGets: 0,
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "Transfer-Encoding and a shorter Content-Length, a request after the chunks (TE.CL)",
		request: (host) =>
			post(
				["Content-Length: 4", "Transfer-Encoding: chunked"],
				`5${CRLF}hello${CRLF}0${CRLF}${CRLF}${get(SMUGGLED)(host)}`,
			)(host),
		expect: served(),
		originGets: 1,
		originUrl: "/upload-ish",
		check: (received, answer) =>
			received?.body !== "hello"
				? `body ${JSON.stringify(received?.body)}`
				: answer.headers.get("connection") !== "close"
					? "the runtime kept the connection open after a request with both Transfer-Encoding and Content-Length"
					: undefined,
		note: "workerd frames by Transfer-Encoding, as RFC 9112 says, and closes the connection after answering: the trailing request is never read",
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "Content-Length covering a request hidden after a zero chunk (CL.TE)",
		request: (host) => {
			const hidden = `0${CRLF}${CRLF}${get(SMUGGLED)(host)}`;
			return post([`Content-Length: ${hidden.length}`, "Transfer-Encoding: chunked"], hidden)(host);
		},
		expect: served(),
		originGets: 1,
		originUrl: "/upload-ish",
		check: (received) => (received?.bodyBytes === 0 ? undefined : `body ${JSON.stringify(received?.body)}`),
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "Transfer-Encoding: xchunked with Content-Length",
		request: post(
			["Content-Length: 4", "Transfer-Encoding: xchunked", "Connection: close"],
			`5${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
		),
		expect: runtime(400),
		originGets: 0,
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "Transfer-Encoding: chunked, then Transfer-Encoding: identity",
		request: post(
			["Transfer-Encoding: chunked", "Transfer-Encoding: identity", "Connection: close"],
			`5${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
		),
		expect: runtime(400),
		originGets: 0,
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "a request inside a body (Content-Length covers it)",
		request: (host) => {
			const inner = get(SMUGGLED)(host);
			return post([`Content-Length: ${inner.length}`, "Connection: close"], inner)(host);
		},
		expect: served(),
		originGets: 1,
		originUrl: "/upload-ish",
		check: (received) => (received?.body.startsWith(`GET ${SMUGGLED}`) ? undefined : "the body did not arrive as sent"),
		note: "the body is data: it reaches the origin as the POST's body, never as a request",
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "a chunk size that overflows (fffffffffffffffff)",
		request: post(
			["Transfer-Encoding: chunked", "Connection: close"],
			`fffffffffffffffff${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
		),
		expect: runtime(500),
		originGets: 0,
		note: 'the head passes; wrangler dev\'s ProxyWorker, relaying the body to the Worker, fails on the broken chunk ("Error inside ProxyWorker … Network connection lost") and answers 500 itself; no origin is reached',
	},
	{
		group: "framing (Content-Length, Transfer-Encoding)",
		name: "bare LF line endings",
		request: (host) => [`GET /framing/lf HTTP/1.1`, `Host: ${host}`, "Connection: close", "", ""].join("\n"),
		expect: served(),
		originGets: 1,
		originUrl: "/framing/lf",
		note: "accepted by the runtime; one parser in front of the Worker, and the Worker writes a new request: nothing to disagree with",
	},
	// ------------------------------------------------------------ oversized headers
	{
		group: "oversized headers",
		name: "one 64 KiB header",
		request: get("/big/one", [`X-Big: ${"a".repeat(64 * 1024)}`, "Connection: close"]),
		expect: { by: "origin-refused", status: [431] },
		originGets: 0,
		note: "workerd lets heads up to ~450 KiB through; the origin (Node, 16 KiB) refuses with 431, relayed as such",
	},
	{
		group: "oversized headers",
		name: "2,000 small headers",
		request: get("/big/many", [...Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`), "Connection: close"]),
		expect: { by: "origin-refused", status: [431] },
		originGets: 0,
	},
	{
		group: "oversized headers",
		name: "one 1 MiB header",
		request: get("/big/huge", [`X-Big: ${"a".repeat(1024 * 1024)}`, "Connection: close"]),
		expect: runtime(431),
		originGets: 0,
	},
];

// ---------------------------------------------------------------- raw client

/** Writes `bytes` on a new connection and reads the first response (1xx skipped), then `settleMs` more. */
function rawRequest(port: number, bytes: string, { settleMs = 250, timeoutMs = 10_000 } = {}): Promise<Answer> {
	return new Promise((resolve) => {
		const socket = connect(port, "127.0.0.1");
		let data = Buffer.alloc(0);
		let firstEnd = -1;
		let done = false;
		let settle: NodeJS.Timeout | undefined;
		const finish = () => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			clearTimeout(settle);
			socket.destroy();
			resolve(parseAnswer(data, firstEnd));
		};
		const timer = setTimeout(finish, timeoutMs);
		socket.on("data", (chunk: Buffer) => {
			data = Buffer.concat([data, chunk]);
			if (firstEnd < 0) {
				firstEnd = endOfFirstResponse(data);
				if (firstEnd >= 0) settle = setTimeout(finish, settleMs);
			}
		});
		socket.on("error", () => {});
		socket.on("close", finish);
		socket.write(bytes, "latin1");
	});
}

/** Where the first final response ends in `data`, or -1 while it is incomplete. */
function endOfFirstResponse(data: Buffer): number {
	let start = 0;
	for (;;) {
		const head = data.indexOf("\r\n\r\n", start, "latin1");
		if (head < 0) return -1;
		const text = data.subarray(start, head).toString("latin1");
		const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
		const bodyStart = head + 4;
		if (status >= 100 && status < 200) {
			start = bodyStart;
			continue;
		}
		const length = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1];
		if (length !== undefined) return data.length >= bodyStart + Number(length) ? bodyStart + Number(length) : -1;
		if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) {
			const end = data.indexOf("\r\n0\r\n\r\n", bodyStart - 2, "latin1");
			return end < 0 ? -1 : end + 7;
		}
		return -1; // delimited by the connection closing
	}
}

function parseAnswer(data: Buffer, firstEnd: number): Answer {
	const text = data.toString("latin1");
	const end = firstEnd < 0 ? text.length : firstEnd;
	// Skip interim (1xx) responses.
	let start = 0;
	let match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
	while (match && Number(match[1]) < 200) {
		start = text.indexOf("\r\n\r\n", start) + 4;
		match = /^HTTP\/1\.[01] (\d{3})/.exec(text.slice(start));
	}
	const head = text.indexOf("\r\n\r\n", start);
	const headers = new Map<string, string>();
	for (const line of text
		.slice(start, head < 0 ? end : head)
		.split("\r\n")
		.slice(1)) {
		const colon = line.indexOf(":");
		if (colon > 0) {
			const name = line.slice(0, colon).trim().toLowerCase();
			headers.set(
				name,
				headers.has(name) ? `${headers.get(name)}, ${line.slice(colon + 1).trim()}` : line.slice(colon + 1).trim(),
			);
		}
	}
	const status = Number(match?.[1] ?? 0);
	const body = head < 0 ? "" : text.slice(head + 4, end);
	return { status, headers, body, extra: text.slice(end), by: answerer(headers, body) };
}

/** Who wrote an answer, from its headers. */
function answerer(headers: Map<string, string>, body: string): Answerer {
	if (headers.has("x-origin-name")) return "origin";
	// The origin's HTTP parser refused the request before its handler ran; debug headers say it was forwarded.
	if (headers.has("x-switchyard-origin")) return "origin-refused";
	const type = headers.get("content-type") ?? "";
	if (type.startsWith("application/problem+json")) return "switchyard";
	if (type.startsWith("application/json") && /"success"\s*:\s*false/.test(body)) return "switchyard";
	return "runtime";
}

// ---------------------------------------------------------------- the case

let balancer: Balancer;
let hostHeader: string;

beforeAll(async () => {
	balancer = await startBalancer(ORIGINS);
	hostHeader = `localhost:${balancer.port}`;
	// outlier_detection as strict as it goes: an attack counted against an origin would eject it at once.
	await putConfig(
		balancer,
		poolConfig(balancer, ORIGINS, {
			lb: { outlier_detection: { consecutive_failures: 1, base_ejection_s: 60, max_ejection_percent: 100 } },
		}),
	);
	// The first health checks ran (they are not traffic, and they would otherwise land in a case).
	await waitFor("the origins checked", async () => {
		const status = await balancer.result<{ pools: { origins: { pending?: boolean }[] }[] }>("/status");
		return status.pools[0]?.origins.every((origin) => !origin.pending) ? true : undefined;
	});
});

afterAll(async () => {
	await balancer?.stop();
});

/** Traffic the origins received since `marks` (health checks left out). */
function receivedSince(marks: Map<string, number>): ReceivedRequest[] {
	const out: ReceivedRequest[] = [];
	for (const [name, origin] of balancer.origins) {
		out.push(...origin.received.slice(marks.get(name) ?? 0).filter((request) => request.url !== "/health"));
	}
	return out;
}

function marks(): Map<string, number> {
	return new Map([...balancer.origins].map(([name, origin]) => [name, origin.received.length]));
}

function header(request: ReceivedRequest, name: string): string | undefined {
	const value = request.headers[name];
	return Array.isArray(value) ? value.join(", ") : value;
}

/** What is wrong with the headers an origin received, or undefined. */
function forwardingProblems(request: ReceivedRequest, clientIps: readonly string[]): string[] {
	const problems: string[] = [];
	for (const [name, raw] of Object.entries(request.headers)) {
		const value = Array.isArray(raw) ? raw.join(", ") : (raw ?? "");
		const dashed = name.replaceAll("_", "-");
		if (dashed !== name && (FORWARDING.has(dashed) || dashed.startsWith("x-switchyard-")))
			problems.push(`${name} reached the origin`);
		if (
			dashed === "forwarded" ||
			dashed === "true-client-ip" ||
			dashed === "x-forwarded-port" ||
			dashed.startsWith("x-switchyard-")
		)
			problems.push(`${name}: ${value} reached the origin`);
		if (
			name !== "cdn-loop" &&
			(value.includes(FORGED_IP) || value.includes(FORGED_HOST) || value.includes(FORGED_PROTO))
		)
			problems.push(`${name}: ${value} carries a forged value`);
		if (HOP_BY_HOP.includes(name)) problems.push(`hop-by-hop ${name}: ${value} reached the origin`);
	}
	const xff = header(request, "x-forwarded-for");
	if (!xff || !clientIps.includes(xff)) problems.push(`x-forwarded-for is ${xff}, not the client's address`);
	if (header(request, "x-real-ip") !== xff) problems.push(`x-real-ip is ${header(request, "x-real-ip")}`);
	if (header(request, "x-forwarded-host") !== hostHeader)
		problems.push(`x-forwarded-host is ${header(request, "x-forwarded-host")}, not ${hostHeader}`);
	if (header(request, "x-forwarded-proto") !== "http")
		problems.push(`x-forwarded-proto is ${header(request, "x-forwarded-proto")}`);
	const loop = (header(request, "cdn-loop") ?? "").split(",").map((entry) => entry.trim());
	if (loop.at(-1) !== "switchyard") problems.push(`cdn-loop is ${header(request, "cdn-loop")}, without our entry last`);
	return problems;
}

interface Outcome {
	readonly attack: Attack;
	readonly answer: Answer;
	readonly received: ReceivedRequest[];
	readonly problems: string[];
}

async function run(attack: Attack): Promise<Outcome> {
	const before = marks();
	const answer = await rawRequest(balancer.port, attack.request(hostHeader));
	// A smuggled request would arrive after the answer: give it a moment.
	await new Promise((resolve) => setTimeout(resolve, 150));
	const received = receivedSince(before);
	const problems: string[] = [];
	if (received.some((request) => request.url.includes(SMUGGLED)))
		problems.push("the origin received the smuggled request");
	if (received.length !== attack.originGets)
		problems.push(
			`the origins received ${received.length} requests (${received.map((r) => `${r.method} ${r.url.slice(0, 60)}`).join("; ")}), expected ${attack.originGets}`,
		);
	if (/HTTP\/1\.[01] \d{3}/.test(answer.extra))
		problems.push(`a second response followed: ${answer.extra.slice(0, 120)}`);
	if (answer.status === 101) problems.push("the connection was upgraded (101)");
	if (answer.by !== attack.expect.by || !attack.expect.status.includes(answer.status))
		problems.push(
			`answered ${answer.status} by ${answer.by}, expected ${attack.expect.status.join("/")} by ${attack.expect.by}: ${answer.body.slice(0, 160)}`,
		);
	if (answer.by === "switchyard" && answer.status >= 500 && answer.status !== 508)
		problems.push(`the balancer answered ${answer.status}`);
	for (const request of received) {
		problems.push(...forwardingProblems(request, attack.clientIp ?? [LOOPBACK]));
		if (attack.originUrl !== undefined && request.url !== attack.originUrl)
			problems.push(`the origin got ${request.url.slice(0, 80)}, expected ${attack.originUrl}`);
	}
	const first = received[0];
	const extra = attack.check?.(first, answer);
	if (extra) problems.push(extra);
	return { attack, answer, received, problems };
}

interface OriginHealth {
	name: string;
	passive_failures: number;
	ejected_until: string | null;
	healthy: boolean;
}

const GROUPS: readonly Group[] = [
	"forwarding headers",
	"upgrade h2c",
	"request targets",
	"framing (Content-Length, Transfer-Encoding)",
	"oversized headers",
];

describe("issue 15: header attacks on raw sockets against wrangler dev", () => {
	for (const group of GROUPS) {
		it(group, async ({ task }) => {
			const outcomes: Outcome[] = [];
			for (const attack of ATTACKS.filter((candidate) => candidate.group === group)) outcomes.push(await run(attack));
			// None of it may count against an origin (outlier_detection would eject on one failure).
			const status = await balancer.result<{ pools: { origins: OriginHealth[] }[] }>("/status");
			const blamed = (status.pools[0]?.origins ?? []).filter(
				(origin) => origin.passive_failures > 0 || origin.ejected_until !== null || !origin.healthy,
			);
			const failed = outcomes.filter((outcome) => outcome.problems.length > 0);
			const tally = new Map<string, number>();
			for (const { answer } of outcomes) {
				const key = `${answer.by} ${answer.status}`;
				tally.set(key, (tally.get(key) ?? 0) + 1);
			}
			const answers = [...tally.entries()].map(([key, n]) => `${key}×${n}`).join(", ");
			const runtime5xx = outcomes
				.filter(({ answer }) => answer.by === "runtime" && answer.status >= 500)
				.map(({ attack }) => attack.name);
			for (const outcome of outcomes) {
				console.log(
					`${group} | ${outcome.attack.name}: ${outcome.answer.status} by ${outcome.answer.by}; origin got ${outcome.received.length}${outcome.problems.length ? ` — ${outcome.problems.join("; ")}` : ""}`,
				);
			}
			recordFigures(task, {
				case: `header attacks: ${group}`,
				requests: outcomes.length,
				failed: failed.length + (blamed.length > 0 ? 1 : 0),
				passing:
					"no smuggled request and no client-written forwarding header at the origin; refused by the runtime, or a 4xx, or served with the balancer's own headers; nothing counted against an origin",
				notes: `answers: ${answers}${runtime5xx.length ? `; wrangler dev's own 5xx, before the Worker: ${runtime5xx.join("; ")}` : ""}${blamed.length ? `; origins blamed: ${blamed.map((o) => o.name).join(", ")}` : ""}`,
			});
			expect(
				failed.map((outcome) => `${outcome.attack.name}: ${outcome.problems.join("; ")}`),
				"attacks that broke the rule",
			).toEqual([]);
			expect(blamed, "origins blamed for an attack").toEqual([]);
		});
	}
});
