/**
 * Sub-minute health checks from the registry object's own alarm, the cron trigger as the backstop
 * that re-arms a lost alarm, leases that keep the two paths from probing one origin at once, and
 * the per-invocation budget with 300 origins: at most 48 probes (PROBE_SUBREQUEST_BUDGET) and at
 * most 6 at once (MAX_CONCURRENT_PROBES) per run, and every origin checked within its interval.
 * Counted where it can be seen from outside: on the origins (the demo origin's /_origin/health-stats
 * keeps every /health request's span), and in /status.
 */
import { reset, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StatusReport } from "../../src/contract/status";
import {
	adminResult,
	clearReceived,
	originControl as control,
	onePoolConfig,
	originUrl,
	putConfig,
	runCron,
	setOriginHealthy,
} from "./helpers";

const ALL = ["a", "b", "c", "d", "e"];

interface HealthSpan {
	path: string;
	start: number;
	end: number | null;
}

interface HealthStats {
	count: number;
	inFlight: number;
	maxInFlight: number;
	byPath: Record<string, { count: number; inFlight: number; maxInFlight: number }>;
	spans: HealthSpan[];
}

async function healthStats(name: string): Promise<HealthStats> {
	const response = await fetch(`${originUrl(name)}/_origin/health-stats`);
	return (await response.json()) as HealthStats;
}

async function restoreOrigins(): Promise<void> {
	await Promise.all(
		ALL.map(async (name) => {
			await setOriginHealthy(name, true);
			await control(name, "health-delay?ms=0");
			await control(name, "health-stats", "DELETE");
		}),
	);
	await clearReceived(...ALL);
}

beforeEach(async () => {
	await reset();
	await restoreOrigins();
});

afterEach(restoreOrigins);

const registry = () => env.REGISTRY.getByName("global");
const alarmTime = () => runInDurableObject(registry(), (_, state) => state.storage.getAlarm());

/** The most spans open at one moment (an end and a start at the same instant do not overlap). */
function maxOverlap(spans: readonly HealthSpan[]): number {
	const points = spans.flatMap((span) => [
		{ at: span.start, delta: 1 },
		{ at: span.end ?? Number.POSITIVE_INFINITY, delta: -1 },
	]);
	points.sort((x, y) => x.at - y.at || x.delta - y.delta);
	let open = 0;
	let most = 0;
	for (const point of points) {
		open += point.delta;
		most = Math.max(most, open);
	}
	return most;
}

describe("sub-minute checks from the alarm", () => {
	it("arms the alarm when a 5 s monitor is PUT; running it probes every origin and re-arms it for the next interval", async () => {
		await putConfig(onePoolConfig(["a", "b"], { monitor: { interval: 5 } }));
		const armed = await alarmTime();
		expect(armed).not.toBeNull();
		expect(armed as number).toBeLessThanOrEqual(Date.now() + 5_000);

		const before = Date.now();
		expect(await runDurableObjectAlarm(registry())).toBe(true);
		for (const name of ["a", "b"]) expect((await healthStats(name)).count, name).toBeGreaterThanOrEqual(1);
		const report = await adminResult<StatusReport>("/status");
		for (const origin of report.pools[0]?.origins ?? []) {
			expect(origin).toMatchObject({ healthy: true, last_check: "200" });
			expect(Date.parse(origin.last_check_at as string)).toBeGreaterThanOrEqual(before);
		}
		// Re-armed for when the next check is due: one interval after this run, not sooner than 1 s.
		const next = (await alarmTime()) as number;
		expect(next).toBeGreaterThanOrEqual(before + 1_000);
		expect(next).toBeLessThanOrEqual(Date.now() + 5_000);
	});

	it("does not probe again when the alarm runs again right away (nothing is due yet)", async () => {
		await putConfig(onePoolConfig(["a", "b"], { monitor: { interval: 5 } }));
		expect(await runDurableObjectAlarm(registry())).toBe(true);
		expect((await healthStats("a")).count).toBeGreaterThanOrEqual(1);
		await control("a", "health-stats", "DELETE");
		await control("b", "health-stats", "DELETE");

		expect(await runDurableObjectAlarm(registry())).toBe(true);
		// Checked well under a second ago with a 5 s interval: not due.
		expect((await healthStats("a")).count).toBe(0);
		expect((await healthStats("b")).count).toBe(0);
	});

	it("never probes one origin from the cron and the alarm at once (probe leases), in either order", async () => {
		await putConfig(onePoolConfig(["a", "b"], { monitor: { interval: 5, timeout: 2 } }));
		// Slow checks, so one path's probes are still out when the other path runs.
		await control("a", "health-delay?ms=400");
		await control("b", "health-delay?ms=400");
		const inFlightOnBoth = async () => (await healthStats("a")).inFlight > 0 && (await healthStats("b")).inFlight > 0;

		// The alarm first (everything is due after the PUT), then the cron while its probes are out.
		const alarm = runDurableObjectAlarm(registry());
		await expect.poll(inFlightOnBoth, { interval: 10, timeout: 2_000 }).toBe(true);
		await runCron(Date.now());
		expect(await alarm).toBe(true);
		for (const name of ["a", "b"]) {
			const stats = await healthStats(name);
			expect(stats.byPath["/health"], name).toMatchObject({ count: 1, maxInFlight: 1 });
			await control(name, "health-stats", "DELETE");
		}

		// The cron first, then the alarm while its probes are out. (The cron's time is 5 s on, so the
		// origins are due for it whatever the alarm did.)
		const cron = runCron(Date.now() + 5_000);
		await expect.poll(inFlightOnBoth, { interval: 10, timeout: 2_000 }).toBe(true);
		await runDurableObjectAlarm(registry());
		await cron;
		for (const name of ["a", "b"]) {
			const stats = await healthStats(name);
			expect(stats.byPath["/health"], name).toMatchObject({ count: 1, maxInFlight: 1 });
		}
	});

	it("keeps the lease when the cron trigger runs late (scheduledTime 10 s before it actually ran)", async () => {
		await putConfig(onePoolConfig(["a", "b"], { monitor: { interval: 5, timeout: 2 } }));
		await control("a", "health-delay?ms=400");
		await control("b", "health-delay?ms=400");
		const inFlightOnBoth = async () => (await healthStats("a")).inFlight > 0 && (await healthStats("b")).inFlight > 0;

		// Cron invocations can start late; scheduledTime is when they were due, not when they run.
		const cron = runCron(Date.now() - 10_000);
		await expect.poll(inFlightOnBoth, { interval: 10, timeout: 2_000 }).toBe(true);
		await runDurableObjectAlarm(registry());
		await cron;
		for (const name of ["a", "b"]) {
			expect((await healthStats(name)).byPath["/health"], name).toMatchObject({ count: 1, maxInFlight: 1 });
		}
	});

	it("re-arms a lost alarm from the cron trigger (the backstop)", async () => {
		await putConfig(onePoolConfig(["a"], { monitor: { interval: 5 } }));
		await runInDurableObject(registry(), (_, state) => state.storage.deleteAlarm());
		expect(await alarmTime()).toBeNull();
		expect(await runDurableObjectAlarm(registry())).toBe(false);

		await runCron(Date.now());
		const armed = await alarmTime();
		expect(armed).not.toBeNull();
		expect(armed as number).toBeLessThanOrEqual(Date.now() + 5_000);
		await control("a", "health-stats", "DELETE");
		expect(await runDurableObjectAlarm(registry())).toBe(true);
	});

	it("leaves the alarm alone when no pool has a monitor", async () => {
		const config = onePoolConfig(["a"]);
		const unmonitored = { ...config, monitors: [], pools: config.pools.map(({ monitor: _, ...pool }) => pool) };
		await putConfig(unmonitored);
		await runCron(Date.now());
		expect(await alarmTime()).toBeNull();
		expect((await healthStats("a")).count).toBe(0);
	});
});

describe("300 origins", () => {
	const ORIGINS = 300;
	const SERVERS = ["a", "b", "c"];
	/** Pool origin i is the path prefix /o<i> on one of three real servers: 300 distinct origins. */
	const config = () => ({
		monitors: [{ id: "m", path: "/health", expected_codes: "200", interval: 60, timeout: 2, retries: 0 }],
		pools: [
			{
				id: "big",
				name: "big",
				monitor: "m",
				origins: Array.from({ length: ORIGINS }, (_, i) => ({
					name: `o${i}`,
					address: `${originUrl(SERVERS[i % SERVERS.length] as string)}/o${i}`,
				})),
			},
		],
		load_balancers: [{ name: "big.test", default_pools: ["big"] }],
	});

	/** The /health requests the three servers saw since their stats were last cleared, and clears them. */
	async function takeSpans(): Promise<HealthSpan[]> {
		const spans = (await Promise.all(SERVERS.map(healthStats))).flatMap((stats) => stats.spans);
		await Promise.all(SERVERS.map((name) => control(name, "health-stats", "DELETE")));
		return spans;
	}

	it("probes at most 48 origins per invocation, at most 6 at once, and every origin within its 60 s interval", async () => {
		await putConfig(config());
		// Checks take a while (20 ms each), so the probes of one invocation overlap as much as they may.
		await Promise.all(SERVERS.map((name) => control(name, "health-delay?ms=20")));
		// The runtime fires alarms on its own too; park ours an hour away so that only the runs below
		// probe (the cron's ensureAlarm leaves an armed alarm alone; runDurableObjectAlarm runs it anyway).
		const park = () =>
			runInDurableObject(registry(), async (_, state) => {
				const at = await state.storage.getAlarm();
				await state.storage.setAlarm(Date.now() + 3_600_000);
				return at;
			});
		await park();
		const started = Date.now();

		const probed = new Map<string, number>();
		const runs: { probes: number; atOnce: number }[] = [];
		const tally = (spans: HealthSpan[]) => {
			for (const span of spans) probed.set(span.path, (probed.get(span.path) ?? 0) + 1);
			runs.push({ probes: spans.length, atOnce: maxOverlap(spans) });
		};

		await runCron(started);
		tally(await takeSpans());
		for (let run = 0; run < 6; run++) {
			expect(await runDurableObjectAlarm(registry())).toBe(true);
			tally(await takeSpans());
			const next = (await park()) as number;
			// While origins are still due, the alarm comes back within about a second; once all were
			// checked, a whole interval later.
			if (probed.size < ORIGINS) expect(next - Date.now(), `run ${run}`).toBeLessThanOrEqual(1_500);
			else expect(next - Date.now(), `run ${run}`).toBeGreaterThanOrEqual(50_000);
		}

		expect(runs.map((run) => run.probes)).toEqual([48, 48, 48, 48, 48, 48, 12]);
		for (const run of runs) {
			expect(run.atOnce).toBeLessThanOrEqual(6);
			if (run.probes >= 12) expect(run.atOnce).toBeGreaterThanOrEqual(2);
		}
		// Each of the 300 origins was checked exactly once, all of them within one 60 s interval.
		expect(probed.size).toBe(ORIGINS);
		expect([...probed.values()].every((count) => count === 1)).toBe(true);
		expect(Date.now() - started).toBeLessThan(60_000);
		const report = await adminResult<StatusReport>("/status");
		const origins = report.pools[0]?.origins ?? [];
		expect(origins).toHaveLength(ORIGINS);
		expect(origins.filter((origin) => origin.last_check === "200" && origin.last_check_at !== null)).toHaveLength(
			ORIGINS,
		);

		// A further run right away has nothing due.
		expect(await runDurableObjectAlarm(registry())).toBe(true);
		expect(await takeSpans()).toEqual([]);
	}, 30_000);

	it("spends at most 48 subrequests per invocation also when each check may take 3 attempts (retries 2)", async () => {
		const withRetries = config();
		(withRetries.monitors[0] as Record<string, unknown>).retries = 2;
		await putConfig(withRetries);
		await Promise.all(SERVERS.map((name) => setOriginHealthy(name, false))); // every attempt fails
		await runInDurableObject(registry(), (_, state) => state.storage.setAlarm(Date.now() + 3_600_000));
		await runCron(Date.now());
		const spans = await takeSpans();
		expect(spans).toHaveLength(48); // 16 origins × 3 attempts
		expect(new Set(spans.map((span) => span.path)).size).toBe(16);
		expect(maxOverlap(spans)).toBeLessThanOrEqual(6);
	}, 30_000);
});
