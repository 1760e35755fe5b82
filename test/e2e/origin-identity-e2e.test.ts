/**
 * Issue 14, item 1, end to end: the real `wrangler dev`, two real origins on loopback, a real client
 * under steady load. Health follows what an origin is (its address, port and its pool's monitor),
 * not its name: PATCHing a healthy origin's address to one where nothing listens makes it a new
 * origin to health — pending, taking no traffic while its pool has a checked healthy origin, and
 * probed at once by the authority's alarm (the monitor's interval is a minute and no cron fires
 * after the change, so only that alarm can find it down). No client sees a 502 meanwhile, with
 * retries off, so a single request sent to the dead address would show. PATCHed back, it is pending
 * again, probed at once, and shares the traffic again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall, adminResult } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";
const POOL = "both";
/** Concurrent clients of the steady load. */
const LANES = 3;
/** How long a probe the alarm runs at once may take to show in /status (it is armed within ~1 s of the write). */
const PROBE_DEADLINE_MS = 6_000;
/** The load goes on this long after each change. */
const LOAD_AFTER_CHANGE_MS = 3_000;
/** How long west's /health takes to answer in the late-probe test (under the monitor's 2 s timeout). */
const SLOW_PROBE_MS = 1_500;
/** No run sends more than this many requests through the balancer. */
const MAX_REQUESTS = 5_000;

let wrangler: WranglerDev;
let east: OriginServer;
let west: OriginServer;
let stateDir: string;
/** The balancer as a client names it: the load balancer "localhost" on wrangler's port. */
let base: string;
/** When the configuration was written: the alarm that write armed (its origins were new) has run a little later. */
let configuredAt: number;

beforeAll(async () => {
	[east, west] = (await Promise.all(["east", "west"].map((name) => startOrigin({ name })))) as [
		OriginServer,
		OriginServer,
	];
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-origin-identity-e2e-"));
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	base = wrangler.url.replace("127.0.0.1", "localhost");
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		// A minute between checks: after the first ones, only the cron (fired below, once) and the
		// alarm a write arms probe within this test.
		monitors: [
			{
				id: "m",
				path: "/health",
				expected_codes: "200",
				interval: 60,
				timeout: 2,
				retries: 0,
				consecutive_down: 1,
				consecutive_up: 1,
			},
		],
		pools: [
			{
				id: POOL,
				name: POOL,
				monitor: "m",
				origin_steering: { policy: "round_robin" },
				origins: [east, west].map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		load_balancers: [
			{
				name: "localhost",
				default_pools: [POOL],
				// No ramp after west comes back: its share is even at once, so "shared again" is plain.
				slow_start_s: 0,
				// No retry: a request sent to the dead address is the client's 502, not hidden by a retry on east.
				proxy: { retries: 0, debug_headers: true },
			},
		],
	});
	expect(response.status, await response.text()).toBe(200);
	configuredAt = Date.now();
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all([east, west].filter(Boolean).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

interface OriginState {
	name: string;
	address: string;
	healthy: boolean;
	pending: boolean;
	last_check: string | null;
	last_check_at: string | null;
	last_error: string | null;
}

/** One look at an origin in /status, with when it was asked and answered. */
interface Observation extends OriginState {
	askedAt: number;
	answeredAt: number;
}

async function observe(name: string): Promise<Observation> {
	const askedAt = Date.now();
	const report = await adminResult<{ pools: { id: string; origins: OriginState[] }[] }>(wrangler.url, TOKEN, "/status");
	const origin = report.pools.find((pool) => pool.id === POOL)?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name} in /status: ${JSON.stringify(report.pools)}`);
	return { ...origin, askedAt, answeredAt: Date.now() };
}

/** Polls /status (no fixed sleep: one look right after another) until `done`, or throws at the deadline. */
async function observeUntil(
	name: string,
	done: (origin: OriginState) => boolean,
	deadlineMs: number,
): Promise<Observation[]> {
	const until = Date.now() + deadlineMs;
	const seen: Observation[] = [];
	while (Date.now() < until) {
		const origin = await observe(name);
		seen.push(origin);
		if (done(origin)) return seen;
	}
	throw new Error(`${name} did not get there within ${deadlineMs} ms; /status said:\n${history(seen)}`);
}

function history(seen: readonly Observation[]): string {
	const start = seen[0]?.askedAt ?? 0;
	return seen
		.map(
			(origin) =>
				`+${origin.askedAt - start} ms: healthy=${origin.healthy} pending=${origin.pending} ` +
				`address=${origin.address} last_check=${origin.last_check} last_error=${origin.last_error}`,
		)
		.join("\n");
}

async function patchWest(address: string): Promise<{ sentAt: number; doneAt: number }> {
	const sentAt = Date.now();
	const response = await adminCall(wrangler.url, TOKEN, "PATCH", `/pools/${POOL}/origins/${west.name}`, { address });
	expect(response.status, await response.text()).toBe(200);
	return { sentAt, doneAt: Date.now() };
}

/** Fires the cron trigger, a minute on: every origin is due (miniflare's endpoint takes the scheduled time). */
async function fireCron(time: number): Promise<void> {
	const response = await fetch(`${wrangler.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${time}`);
	expect(response.status).toBe(200);
	expect(await response.text()).toBe("ok");
}

/**
 * Other engineers edit src/ while tests run, and `wrangler dev` rebuilds and reloads on every change:
 * requests then fail for reasons that are not the behaviour under test. Call at a test's start; the
 * returned check fails with that reason, and wrangler's output, when it happened meanwhile.
 */
function watchForReload(): () => void {
	const from = wrangler.output().length;
	onTestFailed(() => console.error(`wrangler dev said:\n${wrangler.output().slice(from).slice(-30_000)}`));
	return () => {
		const since = wrangler.output().slice(from);
		expect(since, "wrangler dev reloaded during the test (a file it watches changed): rerun").not.toMatch(
			/changed, restarting build|Reloading local server/,
		);
	};
}

/** Makes every /health of `origin` wait `ms` before answering (the demo origin's knob). */
async function setHealthDelay(origin: OriginServer, ms: number): Promise<void> {
	const response = await fetch(`${origin.url}/_origin/health-delay?ms=${ms}`, { method: "POST" });
	expect(response.status).toBe(204);
	await response.arrayBuffer();
}

interface Outcome {
	/** The request's `i` query parameter, as the origin saw it. */
	i: number;
	status: number;
	origin: string | null;
	startedAt: number;
	endedAt: number;
	error?: string;
}

/** Concurrent GETs in a loop until stopped (or MAX_REQUESTS were sent); every outcome as it completed. */
function steadyLoad(lanes: number) {
	const outcomes: Outcome[] = [];
	let running = true;
	let sent = 0;
	const lane = async () => {
		while (running && sent < MAX_REQUESTS) {
			const i = sent++;
			const startedAt = Date.now();
			try {
				const response = await fetch(`${base}/load?i=${i}`, { signal: AbortSignal.timeout(10_000) });
				await response.arrayBuffer();
				outcomes.push({
					i,
					status: response.status,
					origin: response.headers.get("x-switchyard-origin"),
					startedAt,
					endedAt: Date.now(),
				});
			} catch (error) {
				outcomes.push({ i, status: 0, origin: null, startedAt, endedAt: Date.now(), error: String(error) });
			}
		}
	};
	const done = Promise.all(Array.from({ length: lanes }, lane));
	return {
		outcomes,
		/** Resolves once `count` more requests have completed. */
		async more(count: number): Promise<Outcome[]> {
			const from = outcomes.length;
			const until = Date.now() + 30_000;
			while (outcomes.length < from + count) {
				if (Date.now() > until || (!running && sent >= MAX_REQUESTS)) throw new Error("the load stalled");
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
			return outcomes.slice(from, from + count);
		},
		/** Resolves at `at`, the load going on meanwhile. */
		async until(at: number): Promise<void> {
			while (Date.now() < at) await new Promise((resolve) => setTimeout(resolve, Math.min(50, at - Date.now())));
		},
		async stop(): Promise<void> {
			running = false;
			await done;
		},
	};
}

const servedBy = (outcomes: readonly Outcome[], name: string) => outcomes.filter((o) => o.origin === name).length;
const failures = (outcomes: readonly Outcome[]) => outcomes.filter((o) => o.status !== 200);

describe("wrangler dev: an origin whose address changes is a new origin to health (issue 14, item 1)", () => {
	it("PATCHed to a dead address it is pending, takes no traffic, and is found down by the alarm at once; back, it shares again", async () => {
		const noReload = watchForReload();
		const testStart = Date.now();
		const deadAddress = `http://127.0.0.1:${await freePort()}`;

		// 1. Both checked healthy (the write's alarm probes them, then the cron does too).
		await fireCron(Date.now() + 60_000);
		for (const name of [east.name, west.name]) {
			const seen = await observeUntil(name, (o) => o.healthy && !o.pending && o.last_check === "200", 5_000);
			expect(seen.at(-1)?.pending).toBe(false);
		}

		const load = steadyLoad(LANES);
		let toDead: { sentAt: number; doneAt: number };
		let back: { sentAt: number; doneAt: number };
		let deadSeen: Observation[];
		let backSeen: Observation[];
		let shared: Outcome[];
		const westHealthChecksBefore = west.received.filter((request) => request.url === "/health").length;
		try {
			// Both serve, round robin. The load goes on until the alarm the configuration's write armed has
			// run, so the next probe of west is the one its own change arms.
			const before = await load.more(40);
			await load.until(configuredAt + 2_000);
			expect(failures(before)).toEqual([]);
			expect(servedBy(before, "east")).toBeGreaterThan(0);
			expect(servedBy(before, "west")).toBeGreaterThan(0);

			// 2. Under load, west's address becomes one where nothing listens.
			toDead = await patchWest(deadAddress);
			// 3. Right away west is pending (or already found down, if the alarm ran first), never
			// "healthy" on the strength of its old address's checks; then the alarm's probe finds it down.
			deadSeen = await observeUntil(west.name, (o) => !o.healthy && !o.pending, PROBE_DEADLINE_MS);
			await load.until(toDead.doneAt + LOAD_AFTER_CHANGE_MS);

			// 4. Back to its real address: pending again, then healthy after its own probe.
			back = await patchWest(west.url);
			backSeen = await observeUntil(west.name, (o) => o.healthy && !o.pending, PROBE_DEADLINE_MS);
			await load.until(back.doneAt + LOAD_AFTER_CHANGE_MS);
			shared = await load.more(40);
		} finally {
			await load.stop();
		}
		noReload();
		const outcomes = load.outcomes;

		// Not one failed request, before, during or after either change.
		expect(outcomes.length).toBeGreaterThan(100);
		expect(failures(outcomes)).toEqual([]);

		// West, PATCHed to the dead address: first look pending (or already down by the new address's
		// probe), never a healthy non-pending west, and last_check never the old address's "200".
		const [first] = deadSeen;
		expect(first?.address).toBe(deadAddress);
		expect(
			first?.pending === true || (first?.healthy === false && first?.last_check !== "200"),
			history(deadSeen),
		).toBe(true);
		for (const origin of deadSeen) {
			expect(origin.healthy && !origin.pending, history(deadSeen)).toBe(false);
			if (!origin.pending) expect(origin.last_check, history(deadSeen)).not.toBe("200");
			// While pending, it takes no traffic: its pool has a checked healthy origin (east).
			if (origin.pending) expect(origin.healthy, history(deadSeen)).toBe(false);
		}
		const down = deadSeen.at(-1) as Observation;
		expect(down.last_error, history(deadSeen)).toMatch(/^unreachable/);
		expect(down.last_check, history(deadSeen)).toMatch(/^unreachable/);
		expect(Date.parse(down.last_check_at ?? "")).toBeGreaterThanOrEqual(toDead.sentAt);
		// It was the alarm, at once: the monitor's interval is a minute and no cron fired since.
		const toDown = down.answeredAt - toDead.doneAt;
		expect(toDown).toBeLessThan(PROBE_DEADLINE_MS);

		// From the moment the PATCH answered until west was back, every request went to east.
		const whileDead = outcomes.filter((o) => o.startedAt >= toDead.doneAt && o.endedAt <= back.sentAt);
		expect(whileDead.length).toBeGreaterThan(20);
		expect(whileDead.filter((o) => o.origin !== "east")).toEqual([]);
		// Not one of them reached the old address either (it still listens: a stale plan would be served there).
		const sentWhileDead = new Set(whileDead.map((o) => `/load?i=${o.i}`));
		expect(west.received.filter((request) => sentWhileDead.has(request.url))).toEqual([]);

		// West, PATCHed back: pending (or already healthy after its probe of the real address), then
		// healthy by a check of that address, made at once.
		const [firstBack] = backSeen;
		expect(firstBack?.address).toBe(west.url);
		expect(firstBack?.pending === true || firstBack?.last_check === "200", history(backSeen)).toBe(true);
		for (const origin of backSeen) {
			// Not the dead address's failure carried over as its state once checked.
			if (!origin.pending && !origin.healthy) expect.fail(`west down after the PATCH back:\n${history(backSeen)}`);
		}
		const up = backSeen.at(-1) as Observation;
		expect(up.last_check).toBe("200");
		expect(up.last_error).toBeNull();
		expect(Date.parse(up.last_check_at ?? "")).toBeGreaterThanOrEqual(back.sentAt);
		// Its probe reached the real address after the PATCH back.
		const probesAfterBack = west.received.filter((request) => request.url === "/health" && request.at >= back.sentAt);
		expect(probesAfterBack.length).toBeGreaterThanOrEqual(1);
		expect(west.received.filter((request) => request.url === "/health").length).toBeGreaterThan(westHealthChecksBefore);
		const toUp = up.answeredAt - back.doneAt;

		// While pending (the PATCH back answered, /status still said pending), only east served.
		const lastPending = backSeen.filter((o) => o.pending).at(-1);
		if (lastPending) {
			const whilePending = outcomes.filter((o) => o.startedAt >= back.doneAt && o.endedAt <= lastPending.askedAt);
			expect(whilePending.filter((o) => o.origin !== "east")).toEqual([]);
		}

		// Shared again, round robin.
		expect(servedBy(shared, "east")).toBeGreaterThanOrEqual(10);
		expect(servedBy(shared, "west")).toBeGreaterThanOrEqual(10);
		expect(servedBy(shared, "east") + servedBy(shared, "west")).toBe(shared.length);

		console.info(
			`origin-identity e2e: ${outcomes.length} requests, all 200; PATCH to dead → west down in ${toDown} ms ` +
				`(PATCH took ${toDead.doneAt - toDead.sentAt} ms; ${deadSeen.length} looks, first pending=${first?.pending}); ` +
				`PATCH back → healthy in ${toUp} ms (PATCH took ${back.doneAt - back.sentAt} ms; ${backSeen.length} looks, ` +
				`first pending=${firstBack?.pending}); test ${Date.now() - testStart} ms`,
		);
	});

	it("drops a probe of the old address that answers 200 after the change, and the alarm finds the new address down", async () => {
		const noReload = watchForReload();
		const testStart = Date.now();
		const deadAddress = `http://127.0.0.1:${await freePort()}`;
		// As the test above leaves it: west checked healthy at its real address.
		const start = await observeUntil(west.name, (o) => o.healthy && !o.pending && o.address === west.url, 5_000);
		expect(start.at(-1)?.last_check).toBe("200");

		await setHealthDelay(west, SLOW_PROBE_MS);
		const load = steadyLoad(LANES);
		let change: { sentAt: number; doneAt: number };
		let probeArrivedAt: number;
		let seen: Observation[];
		try {
			const before = await load.more(20);
			expect(failures(before)).toEqual([]);
			expect(servedBy(before, "west")).toBeGreaterThan(0);

			// The cron's round: a scheduled time every origin is due at (the earlier cron ran "a minute on").
			const firedAt = Date.now();
			const cron = fireCron(firedAt + 3 * 60_000);
			// Its probe of west's old address is out (answering 200 in SLOW_PROBE_MS) when west's address changes.
			const until = Date.now() + 5_000;
			let probe = west.received.find((request) => request.url === "/health" && request.at >= firedAt);
			while (!probe && Date.now() < until) {
				await new Promise((resolve) => setTimeout(resolve, 5));
				probe = west.received.find((request) => request.url === "/health" && request.at >= firedAt);
			}
			if (!probe) throw new Error("the cron did not probe west");
			probeArrivedAt = probe.at;
			change = await patchWest(deadAddress);
			// Looks until west is down and the old probe's 200 has had time to come back and be recorded.
			const settledAfter = probeArrivedAt + SLOW_PROBE_MS + 500;
			seen = await observeUntil(
				west.name,
				(o) => !o.healthy && !o.pending && Date.now() > settledAfter,
				SLOW_PROBE_MS + PROBE_DEADLINE_MS,
			);
			await cron;
			await load.until(Math.max(change.doneAt + LOAD_AFTER_CHANGE_MS, Date.now()));
		} finally {
			await load.stop();
			await setHealthDelay(west, 0);
		}
		noReload();
		const outcomes = load.outcomes;

		// The change came while the old address's probe was still out.
		expect(change.doneAt).toBeLessThan(probeArrivedAt + SLOW_PROBE_MS);
		// Its 200 was dropped: west never looked checked healthy, and never showed that check.
		for (const origin of seen) {
			expect(origin.address, history(seen)).toBe(deadAddress);
			expect(origin.healthy && !origin.pending, history(seen)).toBe(false);
			expect(origin.last_check, history(seen)).not.toBe("200");
		}
		const down = seen.at(-1) as Observation;
		expect(down.last_error, history(seen)).toMatch(/^unreachable/);
		expect(seen.some((o) => o.askedAt > probeArrivedAt + SLOW_PROBE_MS)).toBe(true);

		// No client saw a failure, and from the change on only east served.
		expect(failures(outcomes)).toEqual([]);
		const afterChange = outcomes.filter((o) => o.startedAt >= change.doneAt);
		expect(afterChange.length).toBeGreaterThan(20);
		expect(afterChange.filter((o) => o.origin !== "east")).toEqual([]);

		console.info(
			`origin-identity e2e (late probe): ${outcomes.length} requests, all 200; PATCH ${change.doneAt - probeArrivedAt} ms ` +
				`after the old probe arrived; west down ${down.answeredAt - change.doneAt} ms after the PATCH ` +
				`(${seen.length} looks, first pending=${seen[0]?.pending}); test ${Date.now() - testStart} ms`,
		);
	});
});
