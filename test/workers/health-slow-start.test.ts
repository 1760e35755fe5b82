/**
 * Slow start: an origin that just became healthy (through active checks) or was just added, in a
 * pool whose other origins are warm, takes about 10% of its share at first and ramps to all of it
 * over slow_start_s. Round robin and least connections both honour it; slow_start_s 0 turns it off;
 * a pool that is new as a whole is not slowed (nobody to shield).
 *
 * "Warm" means healthy for longer than slow_start_s. Origins the registry loads at start-up count as
 * warm (only origins added by a change begin with a slow start), so instead of waiting 30 s after the
 * PUT these tests restart the registry object (storage kept) to make the pool's origins warm.
 *
 * Bound: with a share of ~0.1–0.2 while 200 sequential requests run (they take a second or two of
 * the 30 s ramp), the recovered origin's expected count is about 200 × 0.15 / 4 ≈ 8; its fair share
 * is 50. It must get at most 25 (half its fair share) and each warm origin more than 50.
 */
import { abortAllDurableObjects, reset, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { OriginStatus, StatusReport } from "../../src/contract/status";
import { admin, adminResult, onePoolConfig, originUrl, putConfig, runCron, send, setOriginHealthy } from "./helpers";

const FOUR = ["a", "b", "c", "d"];
const REQUESTS = 200;
const FAIR = REQUESTS / FOUR.length;
/** 200 proxied requests take a few seconds on a busy machine. */
const TIMEOUT_MS = 30_000;

beforeEach(async () => {
	await reset();
	await Promise.all([...FOUR, "e"].map((name) => setOriginHealthy(name, true)));
});

function config(names: string[], policy: string, slowStartS: number) {
	const document = onePoolConfig(names, { policy, monitor: { interval: 60, consecutive_down: 1, consecutive_up: 1 } });
	(document.load_balancers[0] as Record<string, unknown>).slow_start_s = slowStartS;
	return document;
}

async function originsByName(): Promise<Record<string, OriginStatus>> {
	const report = await adminResult<StatusReport>("/status");
	return Object.fromEntries((report.pools[0]?.origins ?? []).map((origin) => [origin.name, origin]));
}

/** `count` sequential GETs; how many each origin served. */
async function spread(count: number): Promise<Record<string, number>> {
	const counts: Record<string, number> = {};
	for (let i = 0; i < count; i++) {
		const response = await send(`https://app.test/load/${i}`);
		expect(response.status).toBe(200);
		const origin = response.headers.get("x-switchyard-origin") ?? "?";
		counts[origin] = (counts[origin] ?? 0) + 1;
	}
	return counts;
}

/** Restarts the registry object: memory gone, storage kept; its configured origins are warm now. */
async function restartRegistry(): Promise<void> {
	await abortAllDurableObjects();
	// Only the cron runs checks here: drop the alarm the stored configuration left armed.
	await runInDurableObject(env.REGISTRY.getByName("global"), (_, state) => state.storage.deleteAlarm());
}

/** a, b, c warm and d unhealthy; then d passes a check and is healthy again. */
async function recoverOneOfFour(policy: string, slowStartS: number): Promise<void> {
	await putConfig(config(FOUR, policy, slowStartS));
	await setOriginHealthy("d", false);
	const t0 = Date.now();
	await runCron(t0);
	expect((await originsByName()).d?.healthy).toBe(false);
	await restartRegistry();
	await setOriginHealthy("d", true);
	await runCron(t0 + 60_000);
}

describe.each(["round_robin", "least_connections"])("slow start with %s", (policy) => {
	it(
		"gives an origin that just recovered ~10% of its weight, and clearly fewer requests than its fair share",
		async () => {
			await recoverOneOfFour(policy, 30);
			const before = await originsByName();
			expect(before.d).toMatchObject({ healthy: true, last_check: "200" });
			expect(before.d?.slow_start).toBeGreaterThanOrEqual(0.1);
			expect(before.d?.slow_start).toBeLessThanOrEqual(0.15);
			for (const name of ["a", "b", "c"]) expect(before[name]?.slow_start, name).toBeNull();

			const counts = await spread(REQUESTS);
			expect(counts.d ?? 0).toBeLessThanOrEqual(FAIR / 2);
			for (const name of ["a", "b", "c"]) expect(counts[name], name).toBeGreaterThan(FAIR);
			// Still ramping, and further along than before.
			const after = (await originsByName()).d?.slow_start as number;
			expect(after).toBeLessThan(1);
			expect(after).toBeGreaterThanOrEqual(before.d?.slow_start as number);
		},
		TIMEOUT_MS,
	);

	it(
		"gives it its fair share with slow_start_s 0",
		async () => {
			await recoverOneOfFour(policy, 0);
			expect((await originsByName()).d).toMatchObject({ healthy: true, slow_start: null });
			expect(await spread(REQUESTS)).toEqual({ a: FAIR, b: FAIR, c: FAIR, d: FAIR });
		},
		TIMEOUT_MS,
	);

	it(
		"does not slow a brand-new pool: every origin is new, none is shielded",
		async () => {
			await putConfig(config(FOUR, policy, 30));
			const origins = await originsByName();
			for (const name of FOUR) expect(origins[name]?.slow_start, name).toBeNull();
			expect(await spread(REQUESTS)).toEqual({ a: FAIR, b: FAIR, c: FAIR, d: FAIR });
		},
		TIMEOUT_MS,
	);
});

describe("slow start of an added origin", () => {
	it(
		"starts an origin added to a warm pool at ~10%",
		async () => {
			await putConfig(config(["a", "b", "c"], "round_robin", 30));
			await restartRegistry();
			const added = await admin("POST", "/pools/main/origins", { name: "e", address: originUrl("e") });
			expect(added.status).toBe(201);
			const origins = await originsByName();
			expect(origins.e?.slow_start).toBeGreaterThanOrEqual(0.1);
			expect(origins.e?.slow_start).toBeLessThanOrEqual(0.15);
			const counts = await spread(REQUESTS);
			expect(counts.e ?? 0).toBeLessThanOrEqual(FAIR / 2);
		},
		TIMEOUT_MS,
	);
});
