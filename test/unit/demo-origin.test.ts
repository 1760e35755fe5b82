/** Unit tests for the demo origin server used by local demos and integration tests. */

import { createHash } from "node:crypto";
import { once } from "node:events";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
	type HealthStats,
	type OriginServer,
	pseudoRandomChunks,
	type ReceivedRequest,
	startOrigin,
} from "../../demo/origin.ts";

const openOrigins: OriginServer[] = [];

async function start(name: string): Promise<OriginServer> {
	const origin = await startOrigin({ name, port: 0 });
	openOrigins.push(origin);
	return origin;
}

afterEach(async () => {
	await Promise.all(openOrigins.splice(0).map((origin) => origin.close()));
});

describe("startOrigin", () => {
	it("listens on a free loopback port", async () => {
		const origin = await start("a");
		expect(origin.name).toBe("a");
		expect(origin.port).toBeGreaterThan(0);
		expect(origin.url).toBe(`http://127.0.0.1:${origin.port}`);
	});
});

describe("echo", () => {
	it("names the origin, counts body bytes and records the request", async () => {
		const origin = await start("echo-a");
		const response = await fetch(`${origin.url}/some/path?x=1&y=two`, {
			method: "POST",
			headers: { "x-test": "yes" },
			body: "hello world",
		});
		expect(response.status).toBe(200);
		expect(response.headers.get("x-origin-name")).toBe("echo-a");
		const text = await response.text();
		expect(text.endsWith("}\n")).toBe(true);
		expect(text).toContain('\n  "origin": "echo-a"');
		const echo = JSON.parse(text);
		expect(echo).toMatchObject({
			origin: "echo-a",
			method: "POST",
			path: "/some/path",
			query: "x=1&y=two",
			bodyBytes: 11,
		});
		expect(echo.headers["x-test"]).toBe("yes");

		expect(origin.received).toHaveLength(1);
		expect(origin.received[0]).toMatchObject({
			method: "POST",
			url: "/some/path?x=1&y=two",
			bodyBytes: 11,
			body: "hello world",
		});
		expect(origin.received[0]?.headers["x-test"]).toBe("yes");
		expect(origin.received[0]?.at).toBeTypeOf("number");
	});

	it("reports an empty query when there is none", async () => {
		const origin = await start("echo-b");
		const echo = await (await fetch(`${origin.url}/`)).json();
		expect(echo).toMatchObject({
			origin: "echo-b",
			method: "GET",
			path: "/",
			query: "",
			bodyBytes: 0,
		});
	});

	it("counts every body byte but keeps only the first 64 KiB as text", async () => {
		const origin = await start("echo-big");
		const bodyBytes = 200 * 1024;
		const response = await fetch(`${origin.url}/upload`, {
			method: "PUT",
			body: "y".repeat(bodyBytes),
		});
		expect(((await response.json()) as { bodyBytes: number }).bodyBytes).toBe(bodyBytes);
		expect(origin.received[0]?.bodyBytes).toBe(bodyBytes);
		expect(origin.received[0]?.body).toHaveLength(64 * 1024);
	});

	it("serves the request log over /_origin/requests without recording control calls", async () => {
		const origin = await start("log");
		await (await fetch(`${origin.url}/one`)).text();
		await (await fetch(`${origin.url}/two`, { method: "POST", body: "abc" })).text();

		const listed = (await (await fetch(`${origin.url}/_origin/requests`)).json()) as ReceivedRequest[];
		expect(listed.map((r) => r.url)).toEqual(["/one", "/two"]);
		expect(listed[1]).toMatchObject({
			method: "POST",
			bodyBytes: 3,
			body: "abc",
		});

		const cleared = await fetch(`${origin.url}/_origin/requests`, {
			method: "DELETE",
		});
		expect(cleared.status).toBe(204);
		expect(cleared.headers.get("x-origin-name")).toBe("log");
		expect(origin.received).toEqual([]);
		expect(await (await fetch(`${origin.url}/_origin/requests`)).json()).toEqual([]);
	});
});

describe("/health", () => {
	it("flips to 503 after /_origin/fail and back after /_origin/recover", async () => {
		const origin = await start("h");
		const healthy = await fetch(`${origin.url}/health`);
		expect(healthy.status).toBe(200);
		expect(healthy.headers.get("x-origin-name")).toBe("h");
		expect(await healthy.json()).toEqual({ origin: "h", healthy: true });

		const fail = await fetch(`${origin.url}/_origin/fail`, { method: "POST" });
		expect(fail.status).toBe(204);
		const failing = await fetch(`${origin.url}/health`);
		expect(failing.status).toBe(503);
		expect(await failing.json()).toEqual({ origin: "h", healthy: false });
		expect((await fetch(`${origin.url}/health`, { method: "HEAD" })).status).toBe(503);

		const recover = await fetch(`${origin.url}/_origin/recover`, {
			method: "POST",
		});
		expect(recover.status).toBe(204);
		const recovered = await fetch(`${origin.url}/health`);
		expect(recovered.status).toBe(200);
		expect(await recovered.json()).toEqual({ origin: "h", healthy: true });
	});

	it("can be flipped programmatically with setHealthy", async () => {
		const origin = await start("h2");
		origin.setHealthy(false);
		expect((await fetch(`${origin.url}/health`)).status).toBe(503);
		origin.setHealthy(true);
		expect((await fetch(`${origin.url}/health`)).status).toBe(200);
	});

	it("rejects control calls with the wrong method", async () => {
		const origin = await start("h3");
		const response = await fetch(`${origin.url}/_origin/fail`);
		expect(response.status).toBe(405);
		expect((await fetch(`${origin.url}/health`)).status).toBe(200);
	});
});

describe("/work", () => {
	it("sleeps for at least the requested ms", async () => {
		const origin = await start("w");
		const delayMs = 50;
		const startedAt = performance.now();
		const response = await fetch(`${origin.url}/work?ms=${delayMs}`);
		const elapsedMs = performance.now() - startedAt;
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			origin: "w",
			mode: "sleep",
			ms: delayMs,
		});
		expect(elapsedMs).toBeGreaterThanOrEqual(delayMs - 5);
	});

	it("busy-loops in cpu mode", async () => {
		const origin = await start("w-cpu");
		const delayMs = 20;
		const startedAt = performance.now();
		const response = await fetch(`${origin.url}/work?ms=${delayMs}&mode=cpu`);
		expect(await response.json()).toEqual({
			origin: "w-cpu",
			mode: "cpu",
			ms: delayMs,
		});
		expect(performance.now() - startedAt).toBeGreaterThanOrEqual(delayMs - 5);
	});

	it("clamps negative ms to 0", async () => {
		const origin = await start("w-clamp");
		expect(await (await fetch(`${origin.url}/work?ms=-5`)).json()).toMatchObject({ ms: 0 });
	});

	it("rejects a bad ms or mode with 400", async () => {
		const origin = await start("w-bad");
		for (const query of ["ms=abc", "ms=1.5", "ms=10&mode=nap"]) {
			const response = await fetch(`${origin.url}/work?${query}`);
			expect(response.status, query).toBe(400);
			expect(response.headers.get("x-origin-name")).toBe("w-bad");
			expect(((await response.json()) as { error: unknown }).error).toBeTypeOf("string");
		}
	});
});

describe("/stream", () => {
	it("streams exactly N bytes of 'x' without a Content-Length", async () => {
		const origin = await start("s");
		const totalBytes = 100_000;
		const response = await fetch(`${origin.url}/stream?bytes=${totalBytes}&chunk=4096`);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("application/octet-stream");
		expect(response.headers.get("content-length")).toBeNull();
		expect(response.headers.get("x-origin-name")).toBe("s");
		const body = new Uint8Array(await response.arrayBuffer());
		expect(body.byteLength).toBe(totalBytes);
		expect(body.every((byte) => byte === 0x78)).toBe(true);
	});

	it("streams with the default chunk size and handles zero bytes", async () => {
		const origin = await start("s2");
		expect((await (await fetch(`${origin.url}/stream?bytes=50000`)).arrayBuffer()).byteLength).toBe(50_000);
		expect((await (await fetch(`${origin.url}/stream?bytes=0`)).arrayBuffer()).byteLength).toBe(0);
	});

	it("rejects a bad byte count with 400", async () => {
		const origin = await start("s3");
		expect((await fetch(`${origin.url}/stream?bytes=lots`)).status).toBe(400);
	});
});

describe("/stream options", () => {
	it("sends pseudo-random bytes for a seed, the same however they are chunked, and reports their hash", async () => {
		const origin = await start("s-seed");
		const ended = once(origin.events, "stream-end");
		const response = await fetch(`${origin.url}/stream?bytes=100000&chunk=4096&seed=42`);
		const body = Buffer.from(await response.arrayBuffer());
		const [end] = await ended;
		expect(end).toEqual({
			url: "/stream?bytes=100000&chunk=4096&seed=42",
			bytes: 100_000,
			sha256: createHash("sha256").update(body).digest("hex"),
			complete: true,
		});
		const generate = pseudoRandomChunks(42);
		expect(Buffer.concat([generate(1), generate(99_999)]).equals(body)).toBe(true);
		expect(new Set(body).size).toBeGreaterThan(200); // not a filler byte
		const other = Buffer.from(await (await fetch(`${origin.url}/stream?bytes=100000&chunk=999&seed=42`)).arrayBuffer());
		expect(other.equals(body)).toBe(true);
		const otherSeed = Buffer.from(await (await fetch(`${origin.url}/stream?bytes=100000&seed=43`)).arrayBuffer());
		expect(otherSeed.equals(body)).toBe(false);
	});

	it("waits delayms between chunks", async () => {
		const origin = await start("s-delay");
		const startedAt = performance.now();
		const response = await fetch(`${origin.url}/stream?bytes=4000&chunk=1000&delayms=60`);
		expect((await response.arrayBuffer()).byteLength).toBe(4000);
		expect(performance.now() - startedAt).toBeGreaterThanOrEqual(3 * 60 - 5);
	});

	it("holds everything after the first chunk until its gate opens (by call or by POST)", async () => {
		const origin = await start("s-gate");
		const ways: [string, () => Promise<void>][] = [
			["g1", async () => origin.openGate("g1")],
			[
				"g2",
				async () => {
					const response = await fetch(`${origin.url}/_origin/gates/g2`, { method: "POST" });
					expect(response.status).toBe(204);
				},
			],
		];
		for (const [gate, open] of ways) {
			const chunks: number[] = [];
			origin.events.on("stream-chunk", ({ bytes }) => chunks.push(bytes));
			const response = await fetch(`${origin.url}/stream?bytes=3000&chunk=1000&gate=${gate}`);
			const reader = (response.body as ReadableStream<Uint8Array>).getReader();
			const first = await reader.read();
			expect(first.value?.byteLength).toBe(1000);
			expect(chunks).toEqual([1000]); // the origin sent nothing more
			await open();
			let rest = 0;
			for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value.byteLength;
			expect(rest).toBe(2000);
			origin.events.removeAllListeners("stream-chunk");
		}
		// A gate stays open: a later stream through it does not wait.
		expect((await (await fetch(`${origin.url}/stream?bytes=3000&chunk=1000&gate=g1`)).arrayBuffer()).byteLength).toBe(
			3000,
		);
		expect((await fetch(`${origin.url}/_origin/gates/g3`)).status).toBe(405);
	});

	it("reports a stream cut short by the client as incomplete", async () => {
		const origin = await start("s-cut");
		const ended = once(origin.events, "stream-end");
		const response = await fetch(`${origin.url}/stream?bytes=${64 * 1024 * 1024}`);
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		await reader.read();
		await reader.cancel();
		const [end] = await ended;
		expect(end.complete).toBe(false);
		expect(end.bytes).toBeLessThan(64 * 1024 * 1024);
	});

	it("rejects a bad delayms or seed with 400", async () => {
		const origin = await start("s-bad");
		expect((await fetch(`${origin.url}/stream?bytes=10&delayms=soon`)).status).toBe(400);
		expect((await fetch(`${origin.url}/stream?bytes=10&seed=x`)).status).toBe(400);
	});
});

describe("/stall", () => {
	it("sends headers and afterBytes bytes, then nothing until the client goes away", async () => {
		const origin = await start("stall");
		const response = await fetch(`${origin.url}/stall?afterBytes=1234`);
		expect(response.status).toBe(200);
		expect(response.headers.get("x-origin-name")).toBe("stall");
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		const first = await reader.read();
		expect(first.value?.byteLength).toBe(1234);
		// Nothing more comes: the next read is still pending after the origin had every chance to send.
		const next = reader.read();
		const pending = Symbol("pending");
		await new Promise((resolve) => setImmediate(resolve));
		expect(
			await Promise.race([next.then(() => "settled"), new Promise((r) => setTimeout(() => r(pending), 100))]),
		).toBe(pending);
		await reader.cancel();
		expect(origin.received.map((r) => r.url)).toEqual(["/stall?afterBytes=1234"]);
	});

	it("sends only headers with afterBytes=0, and 400 for a bad count", async () => {
		const origin = await start("stall0");
		const response = await fetch(`${origin.url}/stall`);
		expect(response.status).toBe(200);
		await response.body?.cancel();
		expect((await fetch(`${origin.url}/stall?afterBytes=many`)).status).toBe(400);
	});
});

describe("/redirect", () => {
	it("answers 302 with the Location asked for, or the status asked for", async () => {
		const origin = await start("r");
		const to = "http://127.0.0.1:1/elsewhere?x=1";
		const response = await fetch(`${origin.url}/redirect?to=${encodeURIComponent(to)}`, { redirect: "manual" });
		expect(response.status).toBe(302);
		expect(response.headers.get("location")).toBe(to);
		expect(response.headers.get("x-origin-name")).toBe("r");
		expect(await response.json()).toEqual({ origin: "r", location: to });
		const permanent = await fetch(`${origin.url}/redirect?to=/x&status=308`, { redirect: "manual" });
		expect(permanent.status).toBe(308);
		expect(permanent.headers.get("location")).toBe("/x");
	});

	it("makes the target absolute on the Host it was asked for, and sets a cookie for that host's domain", async () => {
		const origin = await start("r-self");
		const response = await fetch(`${origin.url}/redirect?to=/next%3Fa%3D1&absolute=1&cookie=sid%3D7`, {
			redirect: "manual",
		});
		expect(response.status).toBe(302);
		expect(response.headers.get("location")).toBe(`${origin.url}/next?a=1`);
		expect(response.headers.get("set-cookie")).toBe("sid=7; Path=/; Domain=127.0.0.1");
		const plain = await fetch(`${origin.url}/redirect?to=/x`, { redirect: "manual" });
		expect(plain.headers.get("location")).toBe("/x");
		expect(plain.headers.has("set-cookie")).toBe(false);
	});

	it("rejects a missing target or a status that is not a redirect", async () => {
		const origin = await start("r-bad");
		expect((await fetch(`${origin.url}/redirect`, { redirect: "manual" })).status).toBe(400);
		expect((await fetch(`${origin.url}/redirect?to=/x&status=200`, { redirect: "manual" })).status).toBe(400);
	});
});

describe("/respond", () => {
	it("answers any method with the status asked for", async () => {
		const origin = await start("resp");
		for (const method of ["GET", "POST", "PUT", "DELETE"]) {
			const response = await fetch(`${origin.url}/respond?status=503`, { method });
			expect(response.status, method).toBe(503);
			expect(await response.json()).toEqual({ origin: "resp", status: 503 });
		}
		expect((await fetch(`${origin.url}/respond`)).status).toBe(200);
		expect((await fetch(`${origin.url}/respond?status=99`)).status).toBe(400);
		expect(origin.received).toHaveLength(6);
	});

	it("answers after delayms, whatever the method", async () => {
		const origin = await start("resp-slow");
		const startedAt = performance.now();
		const response = await fetch(`${origin.url}/respond?status=201&delayms=80`, { method: "POST", body: "x" });
		expect(response.status).toBe(201);
		expect(performance.now() - startedAt).toBeGreaterThanOrEqual(75);
		expect((await fetch(`${origin.url}/respond?delayms=later`)).status).toBe(400);
	});
});

describe("/upload", () => {
	it("hashes the body as it streams in and answers {bytes, sha256}", async () => {
		const origin = await start("up");
		const body = Buffer.from(pseudoRandomChunks(7)(300_000));
		const ended = once(origin.events, "upload-end");
		const response = await fetch(`${origin.url}/upload?x=1`, { method: "POST", body });
		const sha256 = createHash("sha256").update(body).digest("hex");
		expect(await response.json()).toMatchObject({ origin: "up", bytes: 300_000, bodyBytes: 300_000, sha256 });
		expect((await ended)[0]).toEqual({ url: "/upload?x=1", bytes: 300_000, sha256 });
		expect(origin.received[0]).toMatchObject({ method: "POST", url: "/upload?x=1", bodyBytes: 300_000 });
		expect(origin.received[0]?.body).toBe(body.subarray(0, 64 * 1024).toString("utf8"));
	});

	it("reports the first chunk while the client is still sending", async () => {
		const origin = await start("up-gated");
		const req = request(`${origin.url}/upload`, { method: "PUT" });
		const responded = once(req, "response");
		const firstChunk = once(origin.events, "upload-chunk");
		req.write(Buffer.alloc(1000, 1));
		expect((await firstChunk)[0]).toEqual({ url: "/upload", bytes: 1000, chunkBytes: 1000 });
		expect(origin.received).toEqual([]); // the request is recorded once it ended
		req.end(Buffer.alloc(500, 2));
		const [res] = (await responded) as [import("node:http").IncomingMessage];
		const chunks: Buffer[] = [];
		for await (const chunk of res) chunks.push(chunk as Buffer);
		expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ bytes: 1500 });
	});

	it("echoes other methods on /upload as before", async () => {
		const origin = await start("up-get");
		expect(await (await fetch(`${origin.url}/upload`)).json()).toMatchObject({ path: "/upload", method: "GET" });
	});
});

describe("/ws", () => {
	function opened(socket: WebSocket): Promise<void> {
		return new Promise((resolve, reject) => {
			socket.addEventListener("open", () => resolve(), { once: true });
			socket.addEventListener("error", () => reject(new Error("not opened")), { once: true });
		});
	}

	it("echoes every message prefixed with the origin name, and closes when the client closes", async () => {
		const origin = await start("w1");
		const wsOpened = once(origin.events, "ws-open");
		const socket = new WebSocket(`${origin.url.replace("http", "ws")}/ws?x=1`);
		await opened(socket);
		expect((await wsOpened)[0]).toEqual({ url: "/ws?x=1" });
		expect(origin.openSockets()).toBe(1);
		expect(origin.received.map((r) => [r.method, r.url, r.headers.upgrade])).toEqual([["GET", "/ws?x=1", "websocket"]]);

		const replies: string[] = [];
		const three = new Promise<void>((resolve) =>
			socket.addEventListener("message", (event) => {
				replies.push(String(event.data));
				if (replies.length === 3) resolve();
			}),
		);
		for (const text of ["hello", "two", "drei ✓"]) socket.send(text);
		await three;
		expect(replies).toEqual(["w1: hello", "w1: two", "w1: drei ✓"]);

		socket.binaryType = "arraybuffer";
		const binary = new Promise<ArrayBuffer>((resolve) =>
			socket.addEventListener("message", (event) => resolve(event.data as ArrayBuffer), { once: true }),
		);
		socket.send(new Uint8Array([0, 255]));
		expect([...new Uint8Array(await binary)]).toEqual([...Buffer.from("w1: "), 0, 255]);

		const originClosed = once(origin.events, "ws-close");
		const closed = new Promise<{ code: number }>((resolve) =>
			socket.addEventListener("close", (event) => resolve(event as unknown as { code: number }), { once: true }),
		);
		socket.close(1000, "bye");
		expect((await closed).code).toBe(1000);
		expect((await originClosed)[0]).toEqual({ url: "/ws?x=1", code: 1000 });
		expect(origin.openSockets()).toBe(0);
	});

	it("refuses an upgrade on any other path with 404", async () => {
		const origin = await start("w2");
		const socket = new WebSocket(`${origin.url.replace("http", "ws")}/elsewhere`);
		await expect(opened(socket)).rejects.toThrow();
		expect(origin.openSockets()).toBe(0);
	});

	it("closes open sockets when the origin closes", async () => {
		const origin = await start("w3");
		const socket = new WebSocket(`${origin.url.replace("http", "ws")}/ws`);
		await opened(socket);
		const closed = new Promise<{ code: number }>((resolve) =>
			socket.addEventListener("close", (event) => resolve(event as unknown as { code: number }), { once: true }),
		);
		const startedAt = performance.now();
		await origin.close();
		expect(performance.now() - startedAt).toBeLessThan(1000);
		await closed;
	});
});

describe("close", () => {
	it("resolves promptly even with an open keep-alive connection", async () => {
		const origin = await start("c");
		const response = await fetch(`${origin.url}/health`);
		await response.text();
		const startedAt = performance.now();
		await origin.close();
		expect(performance.now() - startedAt).toBeLessThan(1000);
		await expect(fetch(`${origin.url}/health`)).rejects.toThrow();
	});

	it("resolves promptly with a response still streaming and aborts it", async () => {
		const origin = await start("c2");
		const response = await fetch(`${origin.url}/stream?bytes=${1024 * 1024 * 1024}`);
		expect(response.status).toBe(200);
		const startedAt = performance.now();
		await origin.close();
		expect(performance.now() - startedAt).toBeLessThan(1000);
		await expect(response.arrayBuffer()).rejects.toThrow();
	});

	it("can be called more than once", async () => {
		const origin = await start("c3");
		await origin.close();
		await expect(origin.close()).resolves.toBeUndefined();
	});
});

describe("health-check test knobs", () => {
	it("answers /health on any path ending in /health, so path prefixes stand in for origins", async () => {
		const origin = await start("hp");
		const prefixed = await fetch(`${origin.url}/o17/health`);
		expect(prefixed.status).toBe(200);
		expect(await prefixed.json()).toEqual({ origin: "hp", healthy: true });
		origin.setHealthy(false);
		expect((await fetch(`${origin.url}/deep/er/health`, { method: "HEAD" })).status).toBe(503);
		// A path that merely contains "health" is echoed.
		expect(await (await fetch(`${origin.url}/healthy`)).json()).toMatchObject({ path: "/healthy" });
	});

	it("delays /health by health-delay ms, and counts how many were in flight at once, overall and per path", async () => {
		const origin = await start("hd");
		expect((await fetch(`${origin.url}/_origin/health-delay?ms=150`, { method: "POST" })).status).toBe(204);
		const startedAt = performance.now();
		const answers = await Promise.all(
			["/a/health", "/a/health", "/b/health"].map((path) => fetch(`${origin.url}${path}`)),
		);
		expect(performance.now() - startedAt).toBeGreaterThanOrEqual(140);
		expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
		await Promise.all(answers.map((answer) => answer.text()));
		const stats = (await (await fetch(`${origin.url}/_origin/health-stats`)).json()) as Record<string, unknown> & {
			spans: { path: string; start: number; end: number }[];
		};
		expect(stats).toMatchObject({
			count: 3,
			inFlight: 0,
			maxInFlight: 3,
			byPath: {
				"/a/health": { count: 2, inFlight: 0, maxInFlight: 2 },
				"/b/health": { count: 1, inFlight: 0, maxInFlight: 1 },
			},
		});
		expect(stats.spans).toHaveLength(3);
		for (const span of stats.spans) expect(span.end - span.start).toBeGreaterThanOrEqual(140);

		expect((await fetch(`${origin.url}/_origin/health-stats`, { method: "DELETE" })).status).toBe(204);
		expect(await (await fetch(`${origin.url}/_origin/health-stats`)).json()).toEqual({
			count: 0,
			inFlight: 0,
			maxInFlight: 0,
			byPath: {},
			spans: [],
		});
		expect((await fetch(`${origin.url}/_origin/health-delay?ms=0`, { method: "POST" })).status).toBe(204);
		const quick = performance.now();
		await (await fetch(`${origin.url}/health`)).text();
		expect(performance.now() - quick).toBeLessThan(140);
	});

	it("ends a delayed /health's span when the client goes away", async () => {
		const origin = await start("hg");
		await fetch(`${origin.url}/_origin/health-delay?ms=5000`, { method: "POST" });
		await expect(fetch(`${origin.url}/health`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
		const stats = async () => (await (await fetch(`${origin.url}/_origin/health-stats`)).json()) as HealthStats;
		await expect.poll(async () => (await stats()).inFlight).toBe(0);
		const [span] = (await stats()).spans;
		expect((span?.end ?? Number.POSITIVE_INFINITY) - (span?.start ?? 0)).toBeLessThan(2000);
	});

	it("fails the next N /health requests with fail-next, then answers as before", async () => {
		const origin = await start("hf");
		expect((await fetch(`${origin.url}/_origin/fail-next?count=2`, { method: "POST" })).status).toBe(204);
		const statuses: number[] = [];
		for (let i = 0; i < 3; i++) statuses.push((await fetch(`${origin.url}/health`)).status);
		expect(statuses).toEqual([503, 503, 200]);
	});

	it("answers every other request with traffic-status until it is deleted; /health is left alone", async () => {
		const origin = await start("ht");
		expect((await fetch(`${origin.url}/_origin/traffic-status?status=500`, { method: "POST" })).status).toBe(204);
		const broken = await fetch(`${origin.url}/items/1`);
		expect(broken.status).toBe(500);
		expect(await broken.json()).toEqual({ origin: "ht", status: 500 });
		expect((await fetch(`${origin.url}/work?ms=1`)).status).toBe(500);
		expect((await fetch(`${origin.url}/health`)).status).toBe(200);
		expect(origin.received.map((request) => request.url)).toEqual(["/items/1", "/work?ms=1", "/health"]);
		expect((await fetch(`${origin.url}/_origin/traffic-status`, { method: "DELETE" })).status).toBe(204);
		expect((await fetch(`${origin.url}/items/2`)).status).toBe(200);
	});

	it("holds every other request for traffic-delay ms until it is deleted; /health is left alone", async () => {
		const origin = await start("hd");
		expect((await fetch(`${origin.url}/_origin/traffic-delay?ms=300`, { method: "POST" })).status).toBe(204);
		let started = Date.now();
		expect((await fetch(`${origin.url}/health`)).status).toBe(200);
		expect(Date.now() - started).toBeLessThan(250);
		started = Date.now();
		expect((await fetch(`${origin.url}/items/1`, { method: "POST", body: "x" })).status).toBe(200);
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
		expect(origin.received.map((request) => request.url)).toEqual(["/health", "/items/1"]);
		expect((await fetch(`${origin.url}/_origin/traffic-delay`, { method: "DELETE" })).status).toBe(204);
		started = Date.now();
		expect((await fetch(`${origin.url}/items/2`)).status).toBe(200);
		expect(Date.now() - started).toBeLessThan(250);
		expect((await fetch(`${origin.url}/_origin/traffic-delay?ms=soon`, { method: "POST" })).status).toBe(400);
		expect((await fetch(`${origin.url}/_origin/traffic-delay`)).status).toBe(405);
	});

	it("refuses bad knob values and wrong methods", async () => {
		const origin = await start("hx");
		expect((await fetch(`${origin.url}/_origin/health-delay?ms=soon`, { method: "POST" })).status).toBe(400);
		expect((await fetch(`${origin.url}/_origin/traffic-status?status=99`, { method: "POST" })).status).toBe(400);
		expect((await fetch(`${origin.url}/_origin/fail-next?count=2`)).status).toBe(405);
		expect((await fetch(`${origin.url}/_origin/traffic-status`)).status).toBe(405);
		expect((await fetch(`${origin.url}/_origin/health-stats`, { method: "POST" })).status).toBe(405);
		expect((await fetch(`${origin.url}/health`)).status).toBe(200);
	});
});
