import { beforeEach, describe, expect, inject, it } from "vitest";
import {
	admin,
	adminResult,
	clearReceived,
	dead,
	type Envelope,
	live,
	onePoolConfig,
	orderedPool,
	originUrl,
	putConfig,
	type Received,
	received,
	runCron,
	send,
	setOriginHealthy,
	startClean,
} from "./helpers";

beforeEach(startClean);

function header(request: Received, name: string): string | undefined {
	const value = request.headers[name];
	return Array.isArray(value) ? value.join(", ") : value;
}

describe("proxying", () => {
	it("rotates requests over the pool's origins and says which origin served each", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		const servedBy: string[] = [];
		for (let i = 0; i < 9; i++) {
			const response = await send(`https://app.test/items/${i}?q=${i}`);
			expect(response.status).toBe(200);
			servedBy.push(response.headers.get("x-switchyard-origin") ?? "?");
			await response.body?.cancel();
		}
		expect(servedBy.slice(0, 3).sort()).toEqual(["a", "b", "c"]);
		expect(servedBy.slice(3)).toEqual([...servedBy.slice(0, 3), ...servedBy.slice(0, 3)]);
		for (const name of ["a", "b", "c"]) {
			const got = await received(name);
			expect(got).toHaveLength(3);
			for (const request of got) expect(request.url).toMatch(/^\/items\/\d\?q=\d$/);
		}
	});

	it("forwards path, raw query, method, body and forwarding headers; strips hop-by-hop headers", async () => {
		await putConfig(onePoolConfig(["a"]));
		const response = await send("https://app.test/api/v1/things%2Fraw?x=1&x=2&sp=%20&semi=a;b", {
			method: "POST",
			headers: {
				"content-type": "application/json",
				"cf-connecting-ip": "203.0.113.7",
				"x-forwarded-for": "10.6.6.6",
				connection: "close, x-private-hop",
				"x-private-hop": "secret",
				"keep-alive": "timeout=5",
				"x-custom": "kept",
			},
			body: JSON.stringify({ hello: "world" }),
		});
		expect(response.status).toBe(200);
		const [got] = await received("a");
		expect(got?.method).toBe("POST");
		expect(got?.url).toBe("/api/v1/things%2Fraw?x=1&x=2&sp=%20&semi=a;b");
		expect(got?.body).toBe('{"hello":"world"}');
		const request = got as Received;
		expect(header(request, "x-forwarded-for")).toBe("203.0.113.7");
		expect(header(request, "x-forwarded-proto")).toBe("https");
		expect(header(request, "x-forwarded-host")).toBe("app.test");
		expect(header(request, "host")).toBe(new URL(originUrl("a")).host);
		expect(header(request, "x-custom")).toBe("kept");
		expect(header(request, "x-private-hop")).toBeUndefined();
		expect(header(request, "keep-alive")).toBeUndefined();
	});

	it("streams a large response body through untouched", async () => {
		await putConfig(onePoolConfig(["a"]));
		const bytes = 8 * 1024 * 1024;
		const response = await send(`https://app.test/stream?bytes=${bytes}`);
		expect(response.status).toBe(200);
		let total = 0;
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) total += chunk.value.byteLength;
		expect(total).toBe(bytes);
	});

	it("keeps the origin's own errors and redirects as they are", async () => {
		await putConfig(onePoolConfig(["a"]));
		const missing = await send("https://app.test/_origin/nope");
		expect(missing.status).toBe(404);
		expect(missing.headers.get("x-origin-name")).toBe("a");
		await missing.body?.cancel();
	});
});

describe("failures the client sees", () => {
	it("answers 502 problem JSON when the only origin refuses connections", async () => {
		await putConfig({
			pools: [{ id: "p", name: "p", origins: [{ name: "dead", address: inject("deadOrigin") }] }],
			load_balancers: [{ name: "app.test", default_pools: ["p"] }],
		});
		const response = await send("https://app.test/");
		expect(response.status).toBe(502);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		const problem = (await response.json()) as Record<string, unknown>;
		expect(problem).toMatchObject({ status: 502, load_balancer: "app.test", pool: "p" });
		// Origin names are internal: without debug_headers the client is not told which were tried.
		expect(JSON.stringify(problem)).not.toContain("dead");
		expect(JSON.stringify(problem)).not.toMatch(/\bat .*\.ts:\d+/);
	});

	it("retries an idempotent request on the next origin after a refused connection", async () => {
		await putConfig(orderedPool([dead(), live("a")]));
		for (let i = 0; i < 4; i++) {
			const response = await send("https://app.test/retry-me");
			expect(response.status).toBe(200);
			expect(response.headers.get("x-switchyard-origin")).toBe("a");
			await response.body?.cancel();
		}
		expect(await received("a")).toHaveLength(4);
	});

	it("does not retry a POST: the client gets the failure, the request is not sent twice", async () => {
		await putConfig(orderedPool([dead(), live("a")], { debug_headers: false }));
		const statuses: number[] = [];
		for (let i = 0; i < 2; i++) {
			const response = await send("https://app.test/order", { method: "POST", body: "x" });
			statuses.push(response.status);
			await response.body?.cancel();
		}
		expect(statuses.sort()).toEqual([200, 502]);
		expect(await received("a")).toHaveLength(1);
	});

	it("answers 504 when the origin does not send headers within timeout_ms", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { timeout_ms: 200, retries: 0 } }));
		const response = await send("https://app.test/work?ms=3000");
		expect(response.status).toBe(504);
		expect(await response.json()).toMatchObject({ status: 504, pool: "main" });
	});

	it("answers 503 with Retry-After when the pool has no enabled origin", async () => {
		const config = onePoolConfig(["a"]);
		const origin = config.pools[0]?.origins[0] as Record<string, unknown>;
		origin.enabled = false;
		const { messages } = await putConfig(config);
		expect(messages.join("\n")).toMatch(/no enabled origin/);
		const response = await send("https://app.test/");
		expect(response.status).toBe(503);
		expect(response.headers.get("retry-after")).toBeTruthy();
		expect(await received("a")).toHaveLength(0);
	});

	it("answers 404 for a host no load balancer answers, and 404 on /_lb/ off the admin hosts", async () => {
		await putConfig(onePoolConfig(["a"]));
		expect((await send("https://other.test/")).status).toBe(404);
		const sneaky = await send("https://app.test/_lb/api/config", {
			headers: { authorization: "Bearer test-admin-token" },
		});
		expect(sneaky.status).toBe(404);
		expect(await sneaky.text()).not.toContain("pools");
		expect(await received("a")).toHaveLength(0);
	});
});

describe("health checks from the cron trigger", () => {
	it("takes a failing origin out of rotation and brings it back when it recovers", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		const t0 = Date.now();
		await setOriginHealthy("b", false);
		await runCron(t0);

		const status = await adminResult<{
			pools: { origins: { name: string; healthy: boolean; last_check: string }[] }[];
		}>("/status");
		const b = status.pools[0]?.origins.find((origin) => origin.name === "b");
		expect(b).toMatchObject({ healthy: false, last_check: "status 503, expected 2xx" });

		await clearReceived("a", "b", "c");
		for (let i = 0; i < 6; i++) await (await send("https://app.test/")).body?.cancel();
		const probesAndTraffic = (name: string) => received(name).then((all) => all.filter((r) => r.url !== "/health"));
		expect(await probesAndTraffic("b")).toHaveLength(0);
		expect(await probesAndTraffic("a")).toHaveLength(3);
		expect(await probesAndTraffic("c")).toHaveLength(3);

		await setOriginHealthy("b", true);
		await runCron(t0 + 60_000);
		await clearReceived("a", "b", "c");
		for (let i = 0; i < 6; i++) await (await send("https://app.test/")).body?.cancel();
		expect(await probesAndTraffic("b")).toHaveLength(2);
	});

	it("probes with the monitor's method, path and headers, and only when due", async () => {
		await putConfig(
			onePoolConfig(["a"], { monitor: { path: "/health", header: { "X-Probe": ["yes"] }, interval: 60 } }),
		);
		const t0 = Date.now();
		await runCron(t0);
		await runCron(t0 + 10_000); // not due yet: interval is 60 s
		const probes = (await received("a")).filter((r) => r.url === "/health");
		expect(probes).toHaveLength(1);
		expect(probes[0]?.method).toBe("GET");
		expect(header(probes[0] as Received, "x-probe")).toBe("yes");
		expect(header(probes[0] as Received, "user-agent")).toMatch(/Switchyard-Health-Check/);
	});

	it("sends traffic to the fallback pool, regardless of its health, when no pool is healthy", async () => {
		await putConfig({
			monitors: [{ id: "health", path: "/health", expected_codes: "200", retries: 0, timeout: 2 }],
			pools: [
				{ id: "primary", name: "primary", monitor: "health", origins: [{ name: "a", address: originUrl("a") }] },
				{ id: "standby", name: "standby", monitor: "health", origins: [{ name: "b", address: originUrl("b") }] },
			],
			load_balancers: [
				{ name: "app.test", default_pools: ["primary"], fallback_pool: "standby", proxy: { debug_headers: true } },
			],
		});
		await setOriginHealthy("a", false);
		await setOriginHealthy("b", false);
		await runCron(Date.now());
		const response = await send("https://app.test/still-served");
		expect(response.status).toBe(200);
		expect(response.headers.get("x-switchyard-pool")).toBe("standby");
		expect(response.headers.get("x-switchyard-origin")).toBe("b");
		expect((await received("b")).some((r) => r.url === "/still-served")).toBe(true);
	});
});

describe("admin API", () => {
	it("refuses calls without the token", async () => {
		const response = await send("http://admin.test/_lb/api/config");
		expect(response.status).toBe(401);
		expect(response.headers.get("www-authenticate")).toMatch(/Bearer/);
		const wrong = await send("http://admin.test/_lb/api/config", { headers: { authorization: "Bearer nope" } });
		expect(wrong.status).toBe(401);
	});

	it("versions the configuration: ETag, If-Match, dry runs, field errors", async () => {
		const first = await admin("PUT", "/config", onePoolConfig(["a"]));
		expect(first.status).toBe(200);
		const etag = first.headers.get("etag") as string;

		const read = await admin("GET", "/config");
		expect(read.headers.get("etag")).toBe(etag);
		const document = ((await read.json()) as Envelope<{ pools: { origins: { weight: number }[] }[] }>).result;
		expect(document.pools[0]?.origins[0]?.weight).toBe(1);

		const dry = await admin("PUT", "/config?dry_run=1", onePoolConfig(["a", "b"]), { "if-match": etag });
		expect(await dry.json()).toMatchObject({
			success: true,
			result: {
				dry_run: true,
				changed: true,
				changes: [
					{ kind: "pool", id: "main", change: "changed", fields: ["origins"] },
					{ kind: "origin", id: "main/b", change: "added" },
				],
			},
		});
		expect((await admin("GET", "/config")).headers.get("etag")).toBe(etag);

		const second = await admin("PUT", "/config", onePoolConfig(["a", "b"]), { "if-match": etag });
		expect(second.status).toBe(200);
		const stale = await admin("PUT", "/config", onePoolConfig(["c"]), { "if-match": etag });
		expect(stale.status).toBe(412);
		await stale.body?.cancel();

		const bad = onePoolConfig(["a"]);
		(bad.pools[0]?.origins[0] as Record<string, unknown>).weight = 1.5;
		const invalid = await admin("PUT", "/config", bad);
		expect(invalid.status).toBe(400);
		expect(await invalid.json()).toMatchObject({ success: false, errors: [{ field: "pools[0].origins[0].weight" }] });

		const garbage = await send("http://admin.test/_lb/api/config", {
			method: "PUT",
			headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
			body: "{not json",
		});
		expect(garbage.status).toBe(400);
	});
});
