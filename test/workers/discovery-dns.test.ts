/**
 * Pools filled from DNS SRV (issue 22, item 2), in the Workers runtime: the authority asks a DoH
 * responder on loopback (test/support/doh-responder.ts, JSON and wire format); the SRV records'
 * targets and ports become the pool's origins (weight from the SRV weight, the lowest priority
 * taking the traffic and the next as failover), a changed answer changes them at the next refresh,
 * and a failing resolver keeps the last set with an event.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import type { StatusReport } from "../../src/contract/status";
import { type ConfigDoc, readEvents } from "./admin-helpers";
import { adminResult, originUrl, putConfig, runCron, send, setOriginHealthy, startClean } from "./helpers";

const registry = () => env.REGISTRY.getByName("global");
const doh = () => inject("doh");
const SRV_NAME = "_http._tcp.web.test";

async function answer(records: { priority: number; weight: number; port: number; target: string }[]) {
	const response = await fetch(`${doh().control}/records`, { method: "PUT", body: JSON.stringify(records) });
	expect(response.status).toBe(204);
}

async function failResolver(status: number) {
	const response = await fetch(`${doh().control}/fail?status=${status}`, { method: "POST" });
	expect(response.status).toBe(204);
}

async function lookups(): Promise<number> {
	return ((await (await fetch(`${doh().control}/lookups`)).json()) as { lookups: number }).lookups;
}

const portOf = (name: string) => Number(new URL(originUrl(name)).port);
/** An SRV record on loopback for demo origin `name`. */
const srv = (name: string, priority: number, weight: number) => ({
	priority,
	weight,
	port: portOf(name),
	target: "127.0.0.1",
});
/** The origin name a record for demo origin `name` becomes. */
const nameOf = (name: string) => `127.0.0.1:${portOf(name)}`;

let configs = 0;

function srvConfig(format: "json" | "wire" = "json") {
	return {
		monitors: [{ id: "health", path: "/health", expected_codes: "2xx", timeout: 2, retries: 0, interval: 60 }],
		pools: [
			{
				id: "srv",
				name: "srv",
				description: `config ${++configs}`,
				monitor: "health",
				origin_steering: { policy: "round_robin" },
				origins: [],
				discovery: { dns_srv: SRV_NAME, resolver: doh().url, resolver_format: format, refresh_s: 5 },
			},
		],
		load_balancers: [
			{ name: "app.test", default_pools: ["srv"], proxy: { debug_headers: true }, counter_rtt_budget_ms: 0 },
		],
	};
}

async function srvOrigins() {
	const status = await adminResult<StatusReport>("/status");
	return (status.pools.find((pool) => pool.id === "srv")?.origins ?? []).map((origin) => ({
		name: origin.name,
		tier: origin.tier,
		healthy: origin.healthy,
	}));
}

async function servedBy(count: number): Promise<string[]> {
	const names: string[] = [];
	for (let i = 0; i < count; i++) {
		const response = await send(`http://app.test/served/${i}`);
		expect(response.status).toBe(200);
		names.push(response.headers.get("x-switchyard-origin") ?? "?");
	}
	return names;
}

beforeEach(async () => {
	await startClean();
	await failResolver(0);
});

describe("a pool filled from DNS SRV", () => {
	it.each(["json", "wire"] as const)(
		"takes the records (%s format) as its origins: the lowest priority serves, the next is failover",
		async (format) => {
			await answer([srv("a", 10, 10), srv("b", 10, 30), srv("c", 20, 5)]);
			await putConfig(srvConfig(format));
			await runDurableObjectAlarm(registry()); // the lookup, and the new origins' first checks
			expect(await srvOrigins()).toEqual([
				{ name: nameOf("a"), tier: 0, healthy: true },
				{ name: nameOf("b"), tier: 0, healthy: true },
				{ name: nameOf("c"), tier: 1, healthy: true },
			]);
			expect(new Set(await servedBy(6))).toEqual(new Set([nameOf("a"), nameOf("b")]));
			// Not in the configuration document.
			expect((await adminResult<ConfigDoc>("/config")).pools[0]?.origins).toEqual([]);

			// The lowest priority down: the next takes over.
			await setOriginHealthy("a", false);
			await setOriginHealthy("b", false);
			await runCron(Date.now() + 60_000); // the next round of checks

			expect(await servedBy(3)).toEqual([nameOf("c"), nameOf("c"), nameOf("c")]);
		},
	);

	it("a changed answer changes the origins at the next refresh; a failing resolver keeps the last set, with an event", async () => {
		await answer([srv("a", 1, 1), srv("b", 1, 1)]);
		await putConfig(srvConfig());
		await runDurableObjectAlarm(registry());
		expect((await srvOrigins()).map((origin) => origin.name)).toEqual([nameOf("a"), nameOf("b")]);

		const asked = await lookups();
		await answer([srv("c", 1, 1)]);
		// The authority's own alarm looks up again refresh_s (5 s) after the last lookup.
		await expect
			.poll(async () => (await srvOrigins()).map((origin) => origin.name), { interval: 200, timeout: 8_000 })
			.toEqual([nameOf("c")]);
		expect(await lookups()).toBe(asked + 1);
		const [changed] = await readEvents(1);
		expect(changed).toMatchObject({ type: "config", actor: "dns" });
		expect((changed as { action: string }).action).toContain(nameOf("c"));

		await failResolver(500);
		const failedFrom = await lookups();
		await expect.poll(lookups, { interval: 200, timeout: 8_000 }).toBeGreaterThan(failedFrom);
		expect((await srvOrigins()).map((origin) => origin.name)).toEqual([nameOf("c")]);
		expect(new Set(await servedBy(2))).toEqual(new Set([nameOf("c")]));
		const events = await readEvents(5);
		expect(events).toContainEqual(
			expect.objectContaining({
				type: "config",
				actor: "dns",
				action: `DNS SRV lookup of ${SRV_NAME} for pool "srv" failed: the resolver answered HTTP 500; keeping the last 1 origin(s)`,
			}),
		);
	}, 30_000);
});
