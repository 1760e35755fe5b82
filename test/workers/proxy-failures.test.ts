import { beforeEach, describe, expect, it } from "vitest";
import {
	admin,
	adminResult,
	clearReceived,
	dead,
	live,
	onePoolConfig,
	orderedPool,
	putConfig,
	received,
	runCron,
	send,
	sendStreaming,
	startClean,
} from "./helpers";

beforeEach(startClean);

interface Problem {
	type: string;
	status: number;
	load_balancer?: string;
	pool?: string;
}

async function inFlight(): Promise<number[]> {
	const status = await adminResult<{ pools: { origins: { in_flight: number }[] }[] }>("/status");
	return status.pools.flatMap((pool) => pool.origins.map((origin) => origin.in_flight));
}

/** Reads a body to its end; resolves to its length, or rejects when the stream errors. */
async function readAll(body: ReadableStream<Uint8Array>): Promise<number> {
	const reader = body.getReader();
	let bytes = 0;
	for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.byteLength;
	return bytes;
}

describe("timeouts", () => {
	it("answers 504 when the origin sends no headers within timeout_ms, without waiting for it", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { timeout_ms: 300 } }));
		const started = Date.now();
		const response = await send("https://app.test/work?ms=3000");
		const elapsed = Date.now() - started;
		expect(response.status).toBe(504);
		expect(await response.json()).toMatchObject({ status: 504, load_balancer: "app.test", pool: "main" });
		expect(elapsed).toBeGreaterThanOrEqual(290);
		expect(elapsed).toBeLessThan(2500);
		expect(await received("a")).toHaveLength(1);
	});

	it("does not cut a download that keeps sending for longer than timeout_ms", async () => {
		// 10 chunks 120 ms apart: ~1.1 s of body, nearly four times the header deadline.
		await putConfig(onePoolConfig(["a"], { proxy: { timeout_ms: 300, idle_timeout_ms: 2000 } }));
		const started = Date.now();
		const { response, settled } = await sendStreaming("https://app.test/stream?bytes=10240&chunk=1024&delayms=120");
		expect(response.status).toBe(200);
		expect(await readAll(response.body as ReadableStream<Uint8Array>)).toBe(10240);
		expect(Date.now() - started).toBeGreaterThan(900);
		await settled;
		expect(await inFlight()).toEqual([0]);
	});

	it("does not count a slow upload against timeout_ms: the deadline starts once the body is sent", async () => {
		// The client paces its own upload (8 chunks, 120 ms apart: ~1 s, over three times timeout_ms).
		await putConfig(onePoolConfig(["a"], { proxy: { timeout_ms: 300, retries: 0 } }));
		let sent = 0;
		const body = new ReadableStream<Uint8Array>({
			async pull(controller) {
				if (sent === 8) {
					controller.close();
					return;
				}
				if (sent > 0) await new Promise((resolve) => setTimeout(resolve, 120));
				controller.enqueue(new Uint8Array(1024).fill(0x30 + sent));
				sent++;
			},
		});
		const started = Date.now();
		const response = await send("https://app.test/upload", { method: "PUT", body });
		expect(Date.now() - started).toBeGreaterThan(800);
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ origin: "a", bytes: 8 * 1024 });
	});

	it("moves a GET on to the next origin after a timeout, but not a POST", async () => {
		// a serves /respond?delayms=3000 (too slow, any method); b, addressed under /fast, echoes the same path at once.
		await putConfig(orderedPool([live("a"), live("b", "/fast")], { timeout_ms: 300 }));
		const get = await send("https://app.test/respond?delayms=3000");
		expect(get.status).toBe(200);
		expect(get.headers.get("x-switchyard-origin")).toBe("b");
		expect((await received("b")).map((r) => r.url)).toEqual(["/fast/respond?delayms=3000"]);

		await putConfig(orderedPool([live("a"), live("b", "/fast")], { timeout_ms: 300 }));
		await clearReceived("a", "b");
		const post = await send("https://app.test/respond?delayms=3000", {
			method: "POST",
			headers: { "content-length": "1" },
			body: "x",
		});
		expect(post.status).toBe(504);
		expect(await received("a")).toHaveLength(1);
		expect(await received("b")).toEqual([]);
	});

	it("does not cut a body whose pauses stay under idle_timeout_ms", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { timeout_ms: 5000, idle_timeout_ms: 400 } }));
		const started = Date.now();
		const response = await send("https://app.test/stream?bytes=8192&chunk=1024&delayms=150");
		expect(response.status).toBe(200);
		expect((await response.arrayBuffer()).byteLength).toBe(8192);
		expect(Date.now() - started).toBeGreaterThan(1000); // longer than the idle timeout in total
	});

	it("cuts a body that stalls longer than idle_timeout_ms, and stops counting it in flight", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { timeout_ms: 5000, idle_timeout_ms: 300 } }));
		const { response, settled } = await sendStreaming("https://app.test/stall?afterBytes=1024");
		expect(response.status).toBe(200);
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		let bytes = 0;
		const started = Date.now();
		const failed = await (async () => {
			try {
				for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.byteLength;
				return false;
			} catch {
				return true;
			}
		})();
		expect(failed).toBe(true); // cut: an error, not a clean end that would pass for a whole body
		expect(bytes).toBe(1024);
		expect(Date.now() - started).toBeLessThan(3000);
		await settled;
		expect(await inFlight()).toEqual([0]);
	});
});

describe("small response bodies of declared length (buffer_response_bytes)", () => {
	it("reads one whole under timeout_ms before answering: a GET whose body stalls goes to the next origin", async () => {
		// a declares 4096 bytes and sends 1024; b, addressed under /fast, echoes at once.
		await putConfig(orderedPool([live("a"), live("b", "/fast")], { timeout_ms: 400 }));
		const response = await send("https://app.test/stall?afterBytes=1024&length=4096");
		expect(response.status).toBe(200);
		expect(response.headers.get("x-switchyard-origin")).toBe("b");
		expect(await received("a")).toHaveLength(1);
		expect(await inFlight()).toEqual([0, 0]);
	});

	it("answers 504 when the last origin's body stalls, with nothing of it sent", async () => {
		await putConfig(orderedPool([live("a")], { timeout_ms: 400 }));
		const response = await send("https://app.test/stall?afterBytes=1024&length=4096");
		expect(response.status).toBe(504);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect(await inFlight()).toEqual([0]);
	});

	it("streams it when buffer_response_bytes is 0: the client gets what arrived", async () => {
		await putConfig(orderedPool([live("a")], { timeout_ms: 400, idle_timeout_ms: 0, buffer_response_bytes: 0 }));
		// 8 KiB of a declared 16 KiB, then silence: the body never ends.
		const { response, settled } = await sendStreaming("https://app.test/stall?afterBytes=8192&length=16384");
		expect(response.status).toBe(200);
		expect(response.headers.get("content-length")).toBe("16384");
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		const first = await reader.read();
		expect(first.done).toBe(false);
		expect(first.value?.byteLength).toBeGreaterThan(0);
		await reader.cancel(); // the client goes away: the request stops counting in flight
		await settled;
		expect(await inFlight()).toEqual([0]);
	});

	it("refuses a limit above 1 MiB", async () => {
		const response = await admin(
			"PUT",
			"/config",
			orderedPool([live("a")], { buffer_response_bytes: 2 * 1024 * 1024 }),
		);
		expect(response.status).toBe(400);
		expect(JSON.stringify(await response.json())).toContain("buffer_response_bytes");
	});
});

describe("502, 503", () => {
	it("answers 502 problem JSON when the origin refuses the connection", async () => {
		await putConfig(orderedPool([dead()], { debug_headers: false }));
		const response = await send("https://app.test/");
		expect(response.status).toBe(502);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect(await response.json()).toMatchObject({ status: 502, load_balancer: "app.test", pool: "p" });
	});

	it("issue 15: answers 503 with Retry-After when every origin is checked down and none can be reached", async () => {
		await putConfig({
			monitors: [{ id: "m", path: "/health", expected_codes: "200", retries: 0 }],
			pools: [{ id: "p", name: "p", monitor: "m", origins: [dead(), { ...dead(), name: "dead2" }] }],
			load_balancers: [{ name: "app.test", default_pools: ["p"], proxy: { debug_headers: false } }],
		});
		await runCron(Date.now());
		const report = await adminResult<{ pools: { healthy: boolean; origins: { healthy: boolean }[] }[] }>("/status");
		expect(report.pools[0]?.origins.map((origin) => origin.healthy)).toEqual([false, false]);
		// The fallback pool is tried regardless of health: both origins, and nobody answers.
		const response = await send("https://app.test/");
		expect(response.status).toBe(503);
		expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect(await response.json()).toMatchObject({ status: 503, load_balancer: "app.test", pool: "p" });
	});

	it("answers 503 with Retry-After when no origin is enabled, and sends nothing", async () => {
		await putConfig(orderedPool([{ ...live("a"), enabled: false } as { name: string; address: string }]));
		const response = await send("https://app.test/");
		expect(response.status).toBe(503);
		expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect(((await response.json()) as Problem).status).toBe(503);
		expect(await received("a")).toEqual([]);
	});
});

describe("retries", () => {
	it("sends a GET to the next origin after a refused connection", async () => {
		await putConfig(orderedPool([dead(), live("a")]));
		const response = await send("https://app.test/get-me");
		expect(response.status).toBe(200);
		expect(response.headers.get("x-switchyard-origin")).toBe("a");
		expect((await received("a")).map((r) => r.url)).toEqual(["/get-me"]);
	});

	it("does not retry a POST after a local connection failure: it may have reached the origin", async () => {
		// Locally a refused and a reset connection throw the same error, so the failure is ambiguous.
		// With a Content-Length the small body is kept and could be replayed: only the method stops it.
		await putConfig(orderedPool([dead(), live("a")]));
		const response = await send("https://app.test/order", {
			method: "POST",
			headers: { "content-length": "8" },
			body: "pay once",
		});
		expect(response.status).toBe(502);
		expect(await received("a")).toEqual([]);
	});

	it("does not retry a PUT whose body is larger than max_retry_body_bytes", async () => {
		await putConfig(orderedPool([dead(), live("a")], { max_retry_body_bytes: 64 * 1024 }));
		const body = new Uint8Array(128 * 1024).fill(0x61);
		const response = await send("https://app.test/big", {
			method: "PUT",
			headers: { "content-length": String(body.byteLength) },
			body,
		});
		expect(response.status).toBe(502);
		expect(await received("a")).toEqual([]);

		// The same body under the limit is retried: the size alone made the difference.
		await putConfig(orderedPool([dead(), live("a")], { max_retry_body_bytes: 256 * 1024 }));
		const retried = await send("https://app.test/big", {
			method: "PUT",
			headers: { "content-length": String(body.byteLength) },
			body,
		});
		expect(retried.status).toBe(200);
		expect((await received("a")).map((r) => r.bodyBytes)).toEqual([body.byteLength]);
	});

	it("does not retry a small PUT of unknown length (no Content-Length): it was streamed, not kept", async () => {
		await putConfig(orderedPool([dead(), live("a")]));
		const response = await send("https://app.test/chunked", { method: "PUT", body: "small" });
		expect(response.status).toBe(502);
		expect(await received("a")).toEqual([]);
	});

	it("retries a PUT with a small body, and the next origin receives the identical body", async () => {
		await putConfig(orderedPool([dead(), live("a")]));
		const body = JSON.stringify({ id: 42, text: "ünïcödé ✓", pad: "z".repeat(1000) });
		const length = new TextEncoder().encode(body).byteLength;
		const response = await send("https://app.test/small", {
			method: "PUT",
			headers: { "content-type": "application/json", "content-length": String(length) },
			body,
		});
		expect(response.status).toBe(200);
		const [got] = await received("a");
		expect(got?.method).toBe("PUT");
		expect(got?.body).toBe(body);
		expect(got?.bodyBytes).toBe(new TextEncoder().encode(body).byteLength);
		expect(got?.headers["content-length"]).toBe(String(got?.bodyBytes));
	});

	it("moves a GET on after a 503 listed in retry_on, but not a POST", async () => {
		// a serves /respond?status=503 as a 503; b, addressed under /ok, answers the same path with 200.
		await putConfig(orderedPool([live("a"), live("b", "/ok")], { retry_on: ["connect_failure", "503"] }));
		const get = await send("https://app.test/respond?status=503");
		expect(get.status).toBe(200);
		expect(get.headers.get("x-switchyard-origin")).toBe("b");
		expect(await received("a")).toHaveLength(1);
		expect((await received("b")).map((r) => r.url)).toEqual(["/ok/respond?status=503"]);

		await putConfig(orderedPool([live("a"), live("b", "/ok")], { retry_on: ["connect_failure", "502"] }));
		await clearReceived("a", "b");
		const notListed = await send("https://app.test/respond?status=503");
		expect(notListed.status).toBe(503);
		expect(notListed.headers.get("x-origin-name")).toBe("a");
		expect(await received("b")).toEqual([]);

		await putConfig(orderedPool([live("a"), live("b", "/ok")], { retry_on: ["connect_failure", "503"] }));
		await clearReceived("a", "b");
		const post = await send("https://app.test/respond?status=503", {
			method: "POST",
			headers: { "content-length": "4" },
			body: "once",
		});
		expect(post.status).toBe(503);
		expect(post.headers.get("x-origin-name")).toBe("a");
		expect(await received("a")).toHaveLength(1);
		expect(await received("b")).toEqual([]);
	});

	it("makes one attempt only with retries: 0", async () => {
		await putConfig(orderedPool([dead(), live("a")], { retries: 0 }));
		const response = await send("https://app.test/once");
		expect(response.status).toBe(502);
		expect(await received("a")).toEqual([]);
	});

	it("tries at most 1 + retries origins", async () => {
		await putConfig(orderedPool([dead(), { ...dead(), name: "dead2" }, live("a")], { retries: 1 }));
		const response = await send("https://app.test/twice");
		expect(response.status).toBe(502);
		expect(await response.json()).toMatchObject({ origins_tried: ["dead", "dead2"] });
		expect(await received("a")).toEqual([]);
	});
});
