/**
 * The registry object's persistence and the admin API's guard rails, inside workerd.
 */
import { abortAllDurableObjects, createExecutionContext, reset, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import {
	admin,
	adminResult,
	clearReceived,
	counterOf,
	onePoolConfig,
	putConfig,
	received,
	runCron,
	send,
	sendStreaming,
	setOriginHealthy,
} from "./helpers";
import { statsOf } from "./object-stats";

interface Status {
	version: number;
	pools: { id: string; healthy: boolean; origins: { name: string; healthy: boolean; changed_at: string | null }[] }[];
}

beforeEach(async () => {
	await reset();
	await Promise.all(["a", "b"].map((name) => setOriginHealthy(name, true)));
});

describe("the registry object", () => {
	it("keeps configuration, version and health transitions across a restart", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		await setOriginHealthy("b", false);
		await runCron(Date.now());

		await abortAllDurableObjects(); // memory gone, storage kept

		const status = await adminResult<Status>("/status");
		expect(status.version).toBe(1);
		const b = status.pools[0]?.origins.find((origin) => origin.name === "b");
		expect(b?.healthy).toBe(false);
		expect(b?.changed_at).not.toBeNull();
		for (let i = 0; i < 4; i++) {
			const response = await send("https://app.test/");
			expect(response.headers.get("x-switchyard-origin")).toBe("a");
			await response.body?.cancel();
		}
	});

	it("does not bump the version when the same configuration is PUT again", async () => {
		const first = await putConfig(onePoolConfig(["a"]));
		const again = await admin("PUT", "/config", onePoolConfig(["a"]));
		expect(await again.json()).toMatchObject({ result: { version: first.version, changed: false } });
	});

	it("reports kept-but-unused fields and IP origins in messages, and returns unknown fields in GET", async () => {
		const config = onePoolConfig(["a"]);
		const lb = config.load_balancers[0] as Record<string, unknown>;
		lb.location_strategy = { prefer_ecs: "always", mode: "resolver_ip" };
		lb.x_team = "payments";
		const { messages } = await putConfig(config);
		expect(messages).toEqual(
			expect.arrayContaining([
				expect.stringMatching(/^load_balancers\[0\]\.location_strategy: kept, but not acted on/),
				expect.stringMatching(/^load_balancers\[0\]\.x_team: unknown field/),
				expect.stringMatching(/^pools\[0\]\.origins\[0\]\.address: "127\.0\.0\.1" is an IP address/),
			]),
		);
		const document = await adminResult<{ load_balancers: Record<string, unknown>[] }>("/config");
		expect(document.load_balancers[0]).toMatchObject({
			location_strategy: { prefer_ecs: "always", mode: "resolver_ip" },
			x_team: "payments",
		});
	});
});

describe("admin API guard rails", () => {
	it("refuses everything when no ADMIN_TOKEN is configured", async () => {
		const noToken = { ...env, ADMIN_TOKEN: undefined };
		const response = await worker.fetch(
			new Request("http://admin.test/_lb/api/status", { headers: { authorization: "Bearer " } }) as Request<
				unknown,
				IncomingRequestCfProperties
			>,
			noToken,
			createExecutionContext(),
		);
		expect(response.status).toBe(503);
		expect(await response.json()).toMatchObject({ success: false, errors: [{ code: 1009 }] });
	});

	it("answers unknown admin routes with 404 problem JSON", async () => {
		const response = await admin("GET", "/nope");
		expect(response.status).toBe(404);
		expect(await response.json()).toMatchObject({ success: false, errors: [{ code: 1002 }] });
	});
});

describe("in-flight accounting", () => {
	it("counts a request in flight until its response body ends, then releases it", async () => {
		await putConfig(onePoolConfig(["a"]));
		const inFlight = async () =>
			(await adminResult<Status & { pools: { origins: { in_flight: number }[] }[] }>("/status")).pools[0]?.origins[0]
				?.in_flight;

		const { response, settled } = await sendStreaming("https://app.test/stream?bytes=4194304");
		expect(response.status).toBe(200);
		expect(await inFlight()).toBe(1);

		expect((await response.arrayBuffer()).byteLength).toBe(4194304);
		await settled;
		expect(await inFlight()).toBe(0);
	});

	it("releases a request whose client went away mid-body", async () => {
		await putConfig(onePoolConfig(["a"]));
		const { response, settled } = await sendStreaming("https://app.test/stream?bytes=67108864");
		const reader = (response.body as ReadableStream).getReader();
		await reader.read();
		await reader.cancel();
		await settled;
		const status = await adminResult<{ pools: { origins: { in_flight: number }[] }[] }>("/status");
		expect(status.pools[0]?.origins[0]?.in_flight).toBe(0);
	});
});

describe("preconditions", () => {
	it("answers 412, not 400, to a stale If-Match with an invalid body", async () => {
		await putConfig(onePoolConfig(["a"]));
		await putConfig(onePoolConfig(["a", "b"]));
		const response = await admin("PUT", "/config", { pools: "not a list" }, { "if-match": '"1"' });
		expect(response.status).toBe(412);
		expect(response.headers.get("etag")).toBe('"2"');
	});
});

describe("the hot path's budget", () => {
	it("makes about one registry call per proxied request and writes no row while health does not change", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		// The calls go to the load balancer's counter shard; the authority gets none per request.
		const shard = counterOf("app.test");
		const authority = env.REGISTRY.getByName("global");
		// The origins' first checks (they are pending) store their health: a change, made before counting,
		// and not by an alarm that falls inside the requests when they take more than a second.
		await runDurableObjectAlarm(authority);
		const before = await statsOf(shard);
		const authorityBefore = await statsOf(authority);
		const total = 1000;
		const concurrency = 50;
		let next = 0;
		// Clients do not wait for the Worker's background work: each lane sends its next request as
		// soon as it has read the body, as real traffic does; the background work is awaited at the end.
		const background: Promise<void>[] = [];
		const lane = async () => {
			while (next < total) {
				next++;
				const { response, settled } = await sendStreaming("https://app.test/budget");
				expect(response.status).toBe(200);
				await response.arrayBuffer();
				background.push(settled);
			}
		};
		await Promise.all(Array.from({ length: concurrency }, lane));
		await Promise.all(background);
		const after = await statsOf(shard);
		expect(after.routed - before.routed).toBe(total); // every request planned by the shard
		const callsPerRequest = (after.calls - before.calls) / total;
		// Routes that queue share a call, releases ride along or go batched: never more than about one.
		expect(callsPerRequest).toBeLessThanOrEqual(1.25);
		expect(after.rowsWritten - before.rowsWritten).toBe(0);
		expect(after.rowsWritten).toBe(0); // a shard has no storage to write
		const authorityAfter = await statsOf(authority);
		// A state copy for the isolate, a revalidation every 5 s: a handful, not one per request.
		expect(authorityAfter.calls - authorityBefore.calls).toBeLessThanOrEqual(5);
		expect(authorityAfter.rowsWritten - authorityBefore.rowsWritten).toBe(0);
		const status = await adminResult<{ pools: { origins: { in_flight: number }[] }[] }>("/status");
		expect(status.pools[0]?.origins.map((origin) => origin.in_flight)).toEqual([0, 0, 0]);
	});
});

describe("route requests that share a call", () => {
	it("plans queued requests in one call, one after another, as separate calls would be", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		await send("https://app.test/warm"); // the isolate's copy, and one request through
		await clearReceived("a", "b", "c");
		const shard = counterOf("app.test");
		const before = await statsOf(shard);
		const total = 30;
		const responses = await Promise.all(
			Array.from({ length: total }, (_, i) => send(`https://app.test/together/${i}`)),
		);
		expect(responses.map((response) => response.status)).toEqual(Array(total).fill(200));
		const after = await statsOf(shard);
		expect(after.routed - before.routed).toBe(total);
		const routeCalls = (name: string) => (after.callsByMethod[name] ?? 0) - (before.callsByMethod[name] ?? 0);
		expect(routeCalls("routeMany")).toBeGreaterThan(0);
		expect(routeCalls("route") + routeCalls("routeMany")).toBeLessThan(total);
		// What /status shows of it: more requests planned than calls made.
		const counters = (
			await adminResult<{ counters: { name: string; routed: number; route_calls: number }[] }>("/status")
		).counters;
		const seen = counters.find((entry) => entry.name === "lb:app.test@local");
		expect(seen?.routed).toBe(after.routed);
		expect(seen?.route_calls).toBe((after.callsByMethod.route ?? 0) + (after.callsByMethod.routeMany ?? 0));
		expect(seen?.route_calls).toBeLessThan(seen?.routed ?? 0);
		// Round robin saw every request in turn: exactly a third each.
		// (Only these requests: the origins' first health checks may fall in the middle on a busy machine.)
		const counts = await Promise.all(
			["a", "b", "c"].map(
				async (name) => (await received(name)).filter((request) => request.url.startsWith("/together/")).length,
			),
		);
		expect(counts).toEqual([10, 10, 10]);
		const status = await adminResult<{ pools: { origins: { in_flight: number }[] }[] }>("/status");
		expect(status.pools[0]?.origins.map((origin) => origin.in_flight)).toEqual([0, 0, 0]);
	});

	it("answers a request it cannot plan with its Error in its place, and plans the others of the call", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		const shard = counterOf("app.test");
		const good = { hostname: "app.test", shardTry: 1 as const };
		const broken = { shardTry: 1 } as unknown as typeof good; // no hostname
		const replies = (await shard.routeMany([good, broken, good])) as unknown[];
		expect(replies).toHaveLength(3);
		expect(replies[1]).toBeInstanceOf(Error);
		const origins = [replies[0], replies[2]].map((reply) => {
			if (!reply || typeof reply !== "object" || !("attempts" in reply))
				throw new Error(`not a plan: ${String(reply)}`);
			return (reply as { attempts: { origin: string }[] }).attempts[0]?.origin;
		});
		expect(origins).toEqual(["a", "b"]); // planned in turn, the broken one taking no turn
		expect((await statsOf(shard)).callsByMethod.routeMany).toBe(1);
	});
});
