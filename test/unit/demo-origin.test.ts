/** Unit tests for the demo origin server used by local demos and integration tests. */

import { afterEach, describe, expect, it } from "vitest";
import { type OriginServer, type ReceivedRequest, startOrigin } from "../../demo/origin.ts";

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
