/**
 * Issue 4: counter shards. Each load balancer's counters live in their own object (shardKeyFor),
 * which routes from a copy of the authority's ("global") configuration, health and drains; the
 * authority pushes every change to the shards, records the ejections they report, and adds their
 * counters up in /status. Two load balancers, one.test and two.test, share the pool "main" here,
 * so a single set of counters would show in every test below.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EventEntry, OriginStatus, StatusReport } from "../../src/contract/status";
import type { Registry } from "../../src/registry/registry";
import { AUTHORITY } from "../../src/routing/shard-keys";
import { servedBy } from "./admin-helpers";
import {
	admin,
	adminResult,
	clearReceived,
	originControl as control,
	counterOf,
	ORIGINS,
	originUrl,
	putConfig,
	received,
	runCron,
	sendStreaming,
	setOriginHealthy,
	startClean,
} from "./helpers";
import { statsOf } from "./object-stats";

const authority = () => env.REGISTRY.getByName(AUTHORITY);
const shardOf = (host: string) => counterOf(host);

beforeEach(startClean);
afterEach(() => Promise.all(ORIGINS.map((name) => control(name, "traffic-status", "DELETE"))));

/** one.test and two.test over the same pool of `names` (round robin, monitored unless said otherwise). */
function twoBalancers(names: string[], options: { monitor?: boolean; outliers?: Record<string, number> } = {}) {
	const monitored = options.monitor ?? true;
	return {
		monitors: monitored ? [{ id: "health", path: "/health", expected_codes: "2xx", timeout: 2, retries: 0 }] : [],
		pools: [
			{
				id: "main",
				name: "main",
				...(monitored ? { monitor: "health" } : {}),
				origin_steering: { policy: "round_robin" },
				origins: names.map((name) => ({ name, address: originUrl(name) })),
			},
		],
		load_balancers: ["one.test", "two.test"].map((name) => ({
			name,
			default_pools: ["main"],
			proxy: { debug_headers: true, retries: 0 },
			slow_start_s: 0,
			...(options.outliers ? { outlier_detection: options.outliers } : {}),
		})),
	};
}

async function originOf(name: string): Promise<OriginStatus> {
	const report = await adminResult<StatusReport>("/status");
	const origin = report.pools[0]?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name}`);
	return origin;
}

describe("one counter shard per load balancer", () => {
	it("keeps round robin cursors apart: two requests to one.test for each to two.test, each rotates exactly", async () => {
		await putConfig(twoBalancers(["a", "b", "c"]));
		const one: string[] = [];
		const two: string[] = [];
		for (let i = 0; i < 6; i++) {
			one.push(...(await servedBy("one.test", 2)));
			two.push(...(await servedBy("two.test", 1)));
		}
		// One shared cursor would give one.test only a and b, and two.test only c.
		for (const sequence of [one, two]) {
			expect(new Set(sequence.slice(0, 3))).toEqual(new Set(["a", "b", "c"]));
			expect(sequence.slice(3)).toEqual(sequence.slice(0, sequence.length - 3));
		}
		const [oneStats, twoStats, authorityStats] = await Promise.all([
			statsOf(shardOf("one.test")),
			statsOf(shardOf("two.test")),
			statsOf(authority()),
		]);
		expect(oneStats.callsByMethod.route).toBe(12);
		expect(twoStats.callsByMethod.route).toBe(6);
		expect(authorityStats.callsByMethod.route).toBeUndefined();
		expect(oneStats.rowsWritten + twoStats.rowsWritten).toBe(0);
	});

	it("sends a request to the right shard even when the isolate's copy is stale (a load balancer was just added)", async () => {
		const config = twoBalancers(["a", "b"]);
		config.load_balancers[1] = { ...(config.load_balancers[1] as (typeof config.load_balancers)[0]), name: "*" };
		await putConfig(config);
		expect(await servedBy("new.test", 2)).toEqual(["a", "b"]); // by "*"; the isolate's copy is current now
		const added = await admin("POST", "/load_balancers", {
			name: "new.test",
			default_pools: ["main"],
			proxy: { debug_headers: true },
		});
		expect(added.status).toBe(201);
		// The isolate still resolves new.test to "*"; that shard knows better and sends it on.
		expect(await servedBy("new.test", 3)).toEqual(["a", "b", "a"]); // new.test's own rotation, from its start
		expect((await statsOf(shardOf("new.test"))).callsByMethod.route).toBe(3);
		expect((await statsOf(shardOf("*"))).callsByMethod.route).toBe(3); // 2 served, 1 sent on
	});
});

describe("changes reach the shards", () => {
	it("a drain and its end, made through the admin API, reach both load balancers' shards", async () => {
		await putConfig(twoBalancers(["a", "b", "c"]));
		await servedBy("one.test", 3);
		await servedBy("two.test", 3);
		expect((await admin("POST", "/pools/main/origins/b/drain")).status).toBe(200);
		await clearReceived("b");
		expect(await servedBy("one.test", 6)).not.toContain("b");
		expect(await servedBy("two.test", 6)).not.toContain("b");
		expect(await received("b")).toEqual([]);

		expect((await admin("POST", "/pools/main/origins/b/enable")).status).toBe(200);
		expect(await servedBy("one.test", 6)).toContain("b");
		expect(await servedBy("two.test", 6)).toContain("b");
	});

	it("a health transition found by the cron's checks reaches both shards, and so does the recovery", async () => {
		await putConfig(twoBalancers(["a", "b"]));
		// Only the cron runs checks here: drop the alarm the PUT armed.
		await runInDurableObject(authority(), (_, state) => state.storage.deleteAlarm());
		await servedBy("one.test", 2);
		await servedBy("two.test", 2);
		await setOriginHealthy("b", false);
		const t0 = Date.now();
		await runCron(t0);
		expect((await originOf("b")).healthy).toBe(false);
		expect(await servedBy("one.test", 4)).toEqual(["a", "a", "a", "a"]);
		expect(await servedBy("two.test", 4)).toEqual(["a", "a", "a", "a"]);

		await setOriginHealthy("b", true);
		await runCron(t0 + 60_000);
		expect(await servedBy("one.test", 4)).toContain("b");
		expect(await servedBy("two.test", 4)).toContain("b");
	});

	it("a configuration change reaches the shard: an origin removed gets no more requests", async () => {
		await putConfig(twoBalancers(["a", "b", "c"]));
		await servedBy("one.test", 3);
		const removed = await admin("DELETE", "/pools/main/origins/c");
		expect(removed.status).toBe(200);
		await clearReceived("c");
		expect(new Set(await servedBy("one.test", 6))).toEqual(new Set(["a", "b"]));
		expect(await received("c")).toEqual([]);
	});

	it("a shard that missed a push catches up when it next checks with the authority", async () => {
		await putConfig(twoBalancers(["a", "b"]));
		await servedBy("one.test", 2);
		// Lose the next push (the authority believes it is not started), and make the shard's check due.
		await runInDurableObject(authority(), (instance) => {
			(instance as unknown as { replication: { pushing: boolean } }).replication.pushing = false;
		});
		expect((await admin("POST", "/pools/main/origins/b/drain")).status).toBe(200);
		await runInDurableObject(shardOf("one.test"), (instance) => {
			(instance as unknown as { core: { validatedAt: number } }).core.validatedAt = 0;
		});
		// It checks through its data center's hub, which missed the push too and checks with the authority.
		await runInDurableObject(env.HUBS.getByName("colo:local"), (instance) => {
			(instance as unknown as { validatedAt: number }).validatedAt = 0;
		});
		// This request still uses the old copy (b may serve it) and starts the check in the background...
		await servedBy("one.test", 1);
		const stateOf = (stub: DurableObjectStub<Rpc.DurableObjectBranded>) =>
			runInDurableObject(stub as ReturnType<typeof authority>, (instance) => {
				// The authority's own state, or the one a counter object's replica was taken at.
				const object = instance as unknown as { state?: number; core?: { state: number } };
				return object.core?.state ?? object.state;
			});
		const current = await stateOf(authority());
		await expect.poll(() => stateOf(shardOf("one.test"))).toBe(current);
		// ...after which b is out.
		await clearReceived("b");
		expect(await servedBy("one.test", 4)).toEqual(["a", "a", "a", "a"]);
		expect(await received("b")).toEqual([]);
	});
});

describe("passive health across shards", () => {
	const outliers = { consecutive_failures: 3, base_ejection_s: 30, max_ejection_percent: 50 };

	it("an ejection by one.test's shard becomes a health event at the authority and is honoured by two.test's shard", async () => {
		await putConfig(twoBalancers(["a", "b", "c", "d"], { monitor: false, outliers }));
		await control("b", "traffic-status?status=500");
		let failures = 0;
		for (let i = 0; failures < 3; i++) {
			if (i > 30) throw new Error("b never answered 3 times");
			const response = await sendStreaming(`https://one.test/item/${i}`);
			if (response.response.headers.get("x-switchyard-origin") === "b") failures++;
			await response.response.arrayBuffer();
			await response.settled;
		}
		const b = await originOf("b");
		expect(b).toMatchObject({ healthy: false });
		expect(b.ejected_until).not.toBeNull();

		// two.test never saw b fail, yet sends it nothing.
		await clearReceived("b");
		const names = await servedBy("two.test", 8);
		expect(names).not.toContain("b");
		expect(await received("b")).toEqual([]);

		// The authority wrote the event (its alarm flushes what it was told).
		await runInDurableObject(authority(), (instance) => (instance as unknown as Registry).alarm());
		const events = (await adminResult<EventEntry[]>("/events?limit=10")).filter((event) => event.type === "health");
		expect(events).toEqual([
			expect.objectContaining({ pool: "main", origin: "b", healthy: false, reason: expect.stringMatching(/^ejected/) }),
		]);
	});

	it("the authority refuses an ejection that would take a pool's last available origin, whichever shard asks", async () => {
		await putConfig(twoBalancers(["a", "b"], { monitor: false, outliers: { ...outliers, max_ejection_percent: 100 } }));
		const now = Date.now();
		const ejection = (origin: string) => ({ key: `main/${origin}`, until: now + 30_000, reason: "test", at: now });
		// As two shards would each report one, having each seen the other origin still available.
		expect(await authority().recordEjections([ejection("a")])).toEqual({ refused: [] });
		expect(await authority().recordEjections([ejection("b")])).toEqual({ refused: ["main/b"] });
		expect(await servedBy("two.test", 4)).toEqual(["b", "b", "b", "b"]);
	});
});

describe("/status with shards", () => {
	it("adds up the requests in flight counted in each load balancer's shard", async () => {
		await putConfig(twoBalancers(["a"]));
		const one = await sendStreaming("https://one.test/stream?bytes=4194304");
		const two = await sendStreaming("https://two.test/stream?bytes=4194304");
		const during = await adminResult<StatusReport>("/status");
		expect(during.pools[0]?.origins[0]?.in_flight).toBe(2);
		const counter = (name: string) => ({
			name: `lb:${name}@local`,
			load_balancer: name,
			scope: "colo",
			colo: "local",
			// One request each so far, planned in one call each, still in flight.
			routed: 1,
			route_calls: 1,
			planned_over_budget: 0,
			in_flight: 1,
			answered: true,
		});
		expect(during.counters).toEqual([counter("one.test"), counter("two.test")]);
		await Promise.all([one, two].map(async ({ response, settled }) => [await response.arrayBuffer(), await settled]));
		expect((await originOf("a")).in_flight).toBe(0);
	});

	it("releases each lease in the shard that issued it: concurrent requests to both load balancers leave nothing in flight", async () => {
		await putConfig(twoBalancers(["a", "b", "c"], { monitor: false }));
		const responses = await Promise.all(
			Array.from({ length: 40 }, (_, i) => sendStreaming(`https://${i % 2 ? "one" : "two"}.test/mixed/${i}`)),
		);
		for (const { response } of responses) expect(response.status).toBe(200);
		await Promise.all(responses.map(async ({ response, settled }) => [await response.arrayBuffer(), await settled]));
		const report = await adminResult<StatusReport>("/status");
		expect(report.pools[0]?.origins.map((origin) => origin.in_flight)).toEqual([0, 0, 0]);
		const stats = await Promise.all([statsOf(shardOf("one.test")), statsOf(shardOf("two.test"))]);
		// Each request planned once, by its own load balancer's shard (in calls of their own or shared).
		for (const shard of stats) expect(shard.routed).toBe(20);
	});
});

describe("compact route replies (src/routing/wire.ts)", () => {
	it("are what a shard answers a Worker whose copy is the shard's state; any other copy gets the whole plan", async () => {
		await putConfig(twoBalancers(["a", "b"], { monitor: false }));
		const shard = shardOf("one.test");
		type Reply = { ok: boolean; state?: number; leaseId?: string } | (string | number)[];
		// Inside the object, as the runtime delivers a Worker's call.
		const ask = (known?: number) =>
			runInDurableObject(
				shard,
				async (instance) =>
					(await instance.route({
						hostname: "one.test",
						shardTry: 1,
						...(known === undefined ? {} : { known }),
					})) as Reply,
			);
		const whole = await ask();
		if (Array.isArray(whole) || whole.state === undefined) throw new Error("expected a whole plan");
		const compact = await ask(whole.state);
		expect(compact).toEqual([
			"plan",
			whole.state,
			expect.any(String),
			"main",
			0,
			expect.any(String),
			expect.any(String),
		]);
		const stale = await ask(whole.state - 1);
		expect(stale).toMatchObject({ ok: true, loadBalancer: "one.test", pool: "main", state: whole.state });
		// Hand the three leases back: nothing stays in flight.
		const leases = [whole.leaseId, (compact as string[])[2], (stale as { leaseId: string }).leaseId] as string[];
		await shard.release(leases.map((leaseId) => ({ leaseId, attempts: 0, retried: false, totalMs: 0, aborted: true })));
		const status = await adminResult<StatusReport>("/status");
		expect(status.pools.flatMap((pool) => pool.origins.map((origin: OriginStatus) => origin.in_flight))).toEqual([
			0, 0,
		]);
	});
});
