/**
 * Issue 21: load shedding (a pool's `load_shedding`, Cloudflare's semantics) against real loopback
 * origins: what the origins of each pool received, and what /status reports.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { readStatus } from "./admin-helpers";
import { originUrl, putConfig, received, send, startClean } from "./helpers";

beforeEach(startClean);

/** primary [a] → secondary [b], fallback [c]; `primary` and `secondary` shed as given. */
function shedConfig(primary: Record<string, unknown>, secondary?: Record<string, unknown>, lb = {}) {
	return {
		pools: [
			{ id: "primary", name: "primary", load_shedding: primary, origins: [{ name: "a", address: originUrl("a") }] },
			{
				id: "secondary",
				name: "secondary",
				...(secondary ? { load_shedding: secondary } : {}),
				origins: [{ name: "b", address: originUrl("b") }],
			},
			{ id: "backup", name: "backup", origins: [{ name: "c", address: originUrl("c") }] },
		],
		load_balancers: [
			{
				name: "app.test",
				default_pools: ["primary", "secondary"],
				fallback_pool: "backup",
				counter_rtt_budget_ms: 0,
				...lb,
			},
		],
	};
}

async function sendMany(count: number, prefix: string): Promise<void> {
	for (let i = 0; i < count; i += 20) {
		const batch = Array.from({ length: Math.min(20, count - i) }, (_, j) => send(`https://app.test${prefix}/${i + j}`));
		for (const response of await Promise.all(batch)) expect(response.status).toBe(200);
	}
}

async function countOn(name: string, prefix: string): Promise<number> {
	return (await received(name)).filter((request) => request.url.startsWith(`${prefix}/`)).length;
}

const shedOf = async (pool: string) =>
	(await readStatus()).pools.find((entry) => entry.id === pool) as unknown as {
		load_shedding: Record<string, unknown> | null;
		shed: number;
	};

describe("load shedding", () => {
	it("at 100% (random) sends every request to the next pool, and /status counts them", async () => {
		await putConfig(shedConfig({ default_percent: 100, default_policy: "random" }));
		await sendMany(100, "/all");
		expect({ a: await countOn("a", "/all"), b: await countOn("b", "/all"), c: await countOn("c", "/all") }).toEqual({
			a: 0,
			b: 100,
			c: 0,
		});
		const primary = await shedOf("primary");
		expect(primary.load_shedding).toEqual({
			default_percent: 100,
			default_policy: "random",
			session_percent: 0,
			session_policy: "hash",
		});
		expect(primary.shed).toBe(100);
		expect((await shedOf("secondary")).load_shedding).toBeNull();
	});

	it("at 50% (random) sheds 50% ± 7% of 1,000 requests", { timeout: 60_000 }, async () => {
		await putConfig(shedConfig({ default_percent: 50 }));
		await sendMany(1000, "/half");
		const onA = await countOn("a", "/half");
		const onB = await countOn("b", "/half");
		expect(onA + onB).toBe(1000);
		expect(Math.abs(onB - 500)).toBeLessThanOrEqual(70);
		expect((await shedOf("primary")).shed).toBe(onB);
	});

	it("sends to the fallback pool what every pool sheds", async () => {
		await putConfig(shedConfig({ default_percent: 100 }, { default_percent: 100 }));
		await sendMany(20, "/every");
		expect([await countOn("a", "/every"), await countOn("b", "/every"), await countOn("c", "/every")]).toEqual([
			0, 0, 20,
		]);
		expect((await shedOf("secondary")).shed).toBe(20);
	});

	it("by hash of the client's IP, a client is shed every time or never", async () => {
		await putConfig(shedConfig({ default_percent: 50, default_policy: "hash" }));
		const clients = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
		const seen = new Map<string, Set<string>>();
		for (const ip of clients) {
			for (let i = 0; i < 3; i++) {
				const response = await send(`https://app.test/ip/${ip}/${i}`, { headers: { "cf-connecting-ip": ip } });
				expect(response.status).toBe(200);
			}
		}
		for (const name of ["a", "b"]) {
			for (const request of await received(name)) {
				const ip = request.url.split("/")[2] as string;
				seen.set(ip, (seen.get(ip) ?? new Set()).add(name));
			}
		}
		expect([...seen.values()].filter((origins) => origins.size > 1)).toEqual([]);
		const shedClients = [...seen.values()].filter((origins) => origins.has("b")).length;
		// Both halves are there: the hash spreads the clients.
		expect(shedClients).toBeGreaterThan(5);
		expect(shedClients).toBeLessThan(35);
	});
});
