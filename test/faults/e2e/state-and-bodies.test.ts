/**
 * Fault suite, state that must survive (issue 15), black box against the real `wrangler dev`:
 *
 * - An origin's address changed under steady load, with `retries: 0` so a single request sent to a
 *   wrong address would be a client's 502: moved to a live address, then to a dead one. No request
 *   fails; from the moment each PATCH answered, no request reaches the address it replaced (the old
 *   one keeps listening, so a stale plan would be served there, not hidden). Recovery: PATCH sent →
 *   the new address's first request (live), or → /status finding it down (dead).
 * - `wrangler dev` restarted on its persisted state: the configuration (document and ETag), health
 *   (an origin a check found down stays down, though it would answer traffic), and drains (a drained
 *   origin gets no traffic) are as before; requests after the restart succeed. Recovery: restart
 *   start → the first 200.
 *
 * Bodies and clients that go away are in bodies.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrigin } from "../../../demo/origin.ts";
import { freePort } from "../../support/ports.ts";
import { recordFigures } from "../figures.ts";
import {
	type Balancer,
	leasesLeftAfter,
	load,
	poolConfig,
	putConfig,
	type Sent,
	startBalancer,
	waitFor,
} from "./harness.ts";

/** Concurrent clients of the steady load. */
const LANES = 4;
/** No load in this file sends more than this many requests. */
const MAX_REQUESTS = 8_000;
/** How long the load goes on after each change has taken effect. */
const LOAD_AFTER_CHANGE_MS = 1_500;
/** Bound of every wait for /status or an origin. */
const WAIT_MS = 10_000;

interface OriginState {
	name: string;
	address: string;
	healthy: boolean;
	pending: boolean;
	draining: boolean;
	in_flight: number;
	passive_failures: number;
	ejected_until: string | null;
	last_check: string | null;
	last_check_at: string | null;
}
interface StatusReport {
	pools: { id: string; origins: OriginState[] }[];
}

let balancer: Balancer;

beforeAll(async () => {
	balancer = await startBalancer(["east", "west", "north"]);
});

afterAll(async () => {
	await balancer?.stop();
});

async function originState(name: string): Promise<OriginState> {
	const report = await balancer.result<StatusReport>("/status");
	const origin = report.pools.find((pool) => pool.id === "main")?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name} in /status: ${JSON.stringify(report.pools)}`);
	return origin;
}

/** Polls /status until every named origin satisfies `check` (bounded). */
function originsWhen(names: readonly string[], check: (origin: OriginState) => boolean, what: string) {
	return waitFor(
		what,
		async () => {
			const states = await Promise.all(names.map(originState));
			return states.every(check) ? states : undefined;
		},
		{ timeoutMs: WAIT_MS, intervalMs: 50 },
	);
}

/** Fails when wrangler dev rebuilt since `mark` (someone edited src/): the run says nothing then, rerun. */
function expectNoReload(mark: number): void {
	expect(
		balancer.wrangler.output().slice(mark),
		"wrangler dev reloaded during the test (a file under src/ changed): rerun",
	).not.toMatch(/changed, restarting build|Reloading local server/);
}

async function patchAddress(name: string, address: string): Promise<{ sentAt: number; doneAt: number }> {
	const sentAt = Date.now();
	const response = await balancer.admin("PATCH", `/pools/main/origins/${name}`, { address });
	expect(response.status, await response.text()).toBe(200);
	return { sentAt, doneAt: Date.now() };
}

/** Waits until `ms` have passed, the load going on meanwhile. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("faults: state (wrangler dev, real origins)", () => {
	it("an origin's address changed under load: no 502 wave, traffic off the old address at once", async ({ task }) => {
		const mark = balancer.wrangler.output().length;
		const east = balancer.origins.get("east");
		const west = balancer.origins.get("west");
		if (!east || !west) throw new Error("origins missing");
		await putConfig(
			balancer,
			poolConfig(balancer, ["east", "west"], {
				monitor: { consecutive_down: 1, consecutive_up: 1 },
				// No retry: a request sent to a wrong address is the client's failure, not hidden by a retry.
				proxy: { retries: 0 },
			}),
		);
		await originsWhen(["east", "west"], (o) => o.healthy && !o.pending, "east and west checked healthy");
		// The new address: another server, so what reaches it is told apart from the old one.
		const moved = await startOrigin({ name: "west-moved" });
		balancer.origins.set("west-moved", moved);
		const deadAddress = `http://127.0.0.1:${await freePort()}`;

		let stop = false;
		const running = load(balancer, {
			count: MAX_REQUESTS,
			concurrency: LANES,
			until: () => stop,
			timeoutMs: 10_000,
		});
		let toLive: { sentAt: number; doneAt: number };
		let toDead: { sentAt: number; doneAt: number };
		let liveTakesTrafficAt: number;
		let deadFoundDownAt: number;
		try {
			await pause(1_000);
			// 1. To a live address: pending (no traffic while east is checked healthy), probed at once,
			// then it shares the traffic.
			toLive = await patchAddress("west", moved.url);
			liveTakesTrafficAt = await waitFor(
				"the new address's first request",
				async () => moved.received.find((request) => request.url.startsWith("/load/"))?.at,
				{ timeoutMs: WAIT_MS, intervalMs: 10 },
			);
			await pause(LOAD_AFTER_CHANGE_MS);
			// 2. To a dead address: pending, then found down by the probe its change arms.
			toDead = await patchAddress("west", deadAddress);
			deadFoundDownAt = await waitFor(
				"west found down at the dead address",
				async () => {
					const west = await originState("west");
					return west.address === deadAddress && !west.healthy && !west.pending ? Date.now() : undefined;
				},
				{ timeoutMs: WAIT_MS, intervalMs: 20 },
			);
			await pause(LOAD_AFTER_CHANGE_MS);
		} finally {
			stop = true;
		}
		const sent = await running;
		const leftover = await leasesLeftAfter(balancer);
		expectNoReload(mark);

		const urlsStartedAfter = (at: number) =>
			new Set(sent.filter((request) => request.startedAt >= at).map((request) => `/load/${request.i}`));
		const afterLive = urlsStartedAfter(toLive.doneAt);
		const afterDead = urlsStartedAfter(toDead.doneAt);
		const notOk = sent.filter((request) => request.status !== 200);
		// The old address after each change: west's original server after the first, the moved one after the second.
		const staleAtOld = west.received.filter((request) => afterLive.has(request.url));
		const staleAtMoved = moved.received.filter((request) => afterDead.has(request.url));
		const servedByMoved = sent.filter((request) => request.headers?.get("x-origin-name") === "west-moved").length;
		const whileDead = sent.filter((request) => request.startedAt >= toDead.doneAt);
		const liveRecoveryMs = liveTakesTrafficAt - toLive.sentAt;
		const deadRecoveryMs = deadFoundDownAt - toDead.sentAt;
		const p = (request: Sent) => `${request.i}: ${request.status} ${request.origin} ${request.error ?? ""}`;

		recordFigures(task, {
			case: "origin address changed under load (to a live address)",
			requests: sent.filter((request) => request.startedAt < toDead.sentAt).length,
			failed: notOk.filter((request) => request.startedAt < toDead.sentAt).length + staleAtOld.length,
			leasesLeft: leftover,
			recoveryMs: liveRecoveryMs,
			passing: "retries 0: every GET 200; none reaches the old address once the PATCH answered",
			notes: `recovery: PATCH → first request at the new address; ${servedByMoved} served there`,
		});
		recordFigures(task, {
			case: "origin address changed under load (to a dead address)",
			requests: whileDead.length,
			failed: notOk.filter((request) => request.startedAt >= toDead.sentAt).length + staleAtMoved.length,
			leasesLeft: leftover,
			recoveryMs: deadRecoveryMs,
			passing: "retries 0: every GET 200 (no 502 wave); none reaches the replaced address",
			notes: "recovery: PATCH → /status shows it down (alarm probe at once)",
		});
		console.info(
			`address change: ${sent.length} requests, ${notOk.length} not 200; live address takes traffic ` +
				`${liveRecoveryMs} ms after the PATCH (${servedByMoved} served there); dead address found down ` +
				`${deadRecoveryMs} ms after the PATCH; leases left ${leftover}`,
		);

		expect(notOk.map(p)).toEqual([]);
		expect(staleAtOld.map((request) => request.url)).toEqual([]);
		expect(staleAtMoved.map((request) => request.url)).toEqual([]);
		expect(servedByMoved).toBeGreaterThan(0);
		expect(whileDead.length).toBeGreaterThan(20);
		expect(whileDead.filter((request) => request.origin !== "east").map(p)).toEqual([]);
		expect(leftover).toBe(0);
	});

	it("wrangler dev restarted on its persisted state: configuration, health and drains intact", async ({ task }) => {
		const east = balancer.origins.get("east");
		const west = balancer.origins.get("west");
		const north = balancer.origins.get("north");
		if (!east || !west || !north) throw new Error("origins missing");
		// North fails its checks but would answer traffic: if its health were lost, it would get requests.
		north.setHealthy(false);
		await putConfig(balancer, poolConfig(balancer, ["east", "west", "north"], { monitor: { consecutive_down: 1 } }));
		await originsWhen(["east", "west"], (o) => o.healthy && !o.pending, "east and west checked healthy");
		await originsWhen(["north"], (o) => !o.healthy && !o.pending, "north checked down");
		const drain = await balancer.admin("POST", "/pools/main/origins/west/drain");
		expect(drain.status, await drain.text()).toBe(200);
		await originsWhen(["west"], (o) => o.draining, "west draining");

		const configBefore = await balancer.admin("GET", "/config");
		const etagBefore = configBefore.headers.get("etag");
		const documentBefore = ((await configBefore.json()) as { result: unknown }).result;
		const before = await load(balancer, { count: 30, request: (i) => ({ path: `/before-restart/${i}` }) });
		expect(before.filter((request) => request.status !== 200 || request.origin !== "east")).toEqual([]);

		// The restart: the old process gone (stop), then a new one on the same port and state. A client
		// polls from the moment the old one is gone until the first 200.
		const restartAt = Date.now();
		await balancer.wrangler.stop();
		let firstOkAt: number | undefined;
		let polls = 0;
		const poller = (async () => {
			while (firstOkAt === undefined && Date.now() - restartAt < 60_000) {
				polls++;
				try {
					const response = await fetch(`${balancer.url}/during-restart/${polls}`, {
						signal: AbortSignal.timeout(5_000),
					});
					await response.arrayBuffer();
					if (response.status === 200) firstOkAt = Date.now();
				} catch {
					// Nobody listening yet.
				}
				if (firstOkAt === undefined) await pause(25);
			}
		})();
		await balancer.restart();
		const readyAt = Date.now();
		await poller;
		const mark = balancer.wrangler.output().length;

		const configAfter = await balancer.admin("GET", "/config");
		const etagAfter = configAfter.headers.get("etag");
		const documentAfter = ((await configAfter.json()) as { result: unknown }).result;
		const [eastAfter, westAfter, northAfter] = await Promise.all(["east", "west", "north"].map(originState));
		const after = await load(balancer, {
			count: 200,
			concurrency: LANES,
			request: (i) => ({ path: `/after-restart/${i}` }),
		});
		const leftover = await leasesLeftAfter(balancer);
		const northAgain = await originState("north");
		expectNoReload(mark);

		const notOk = after.filter((request) => request.status !== 200);
		const notEast = after.filter((request) => request.origin !== "east");
		const atWest = west.received.filter((request) => request.url.startsWith("/after-restart/"));
		const atNorth = north.received.filter((request) => request.url.startsWith("/after-restart/"));
		const broken = [
			etagAfter === etagBefore ? [] : [`ETag ${etagBefore} → ${etagAfter}`],
			JSON.stringify(documentAfter) === JSON.stringify(documentBefore) ? [] : ["GET /config document changed"],
			northAfter?.healthy === false && !northAfter.pending ? [] : [`north after: ${JSON.stringify(northAfter)}`],
			westAfter?.draining ? [] : [`west after: ${JSON.stringify(westAfter)}`],
			eastAfter?.healthy ? [] : [`east after: ${JSON.stringify(eastAfter)}`],
		].flat();
		const recoveryMs = (firstOkAt ?? Number.NaN) - restartAt;
		recordFigures(task, {
			case: "wrangler dev restarted on its persisted state",
			requests: before.length + polls + after.length,
			failed: notOk.length + notEast.length + atWest.length + atNorth.length + broken.length,
			leasesLeft: leftover,
			recoveryMs,
			passing: "config + ETag, health (down stays down), drain kept; every request after it 200",
			notes: `restart → ready ${readyAt - restartAt} ms; ${polls} polls while it restarted`,
		});
		console.info(
			`restart: first 200 ${recoveryMs} ms after the restart began (ready after ${readyAt - restartAt} ms, ` +
				`${polls} polls); ${after.length} requests after it, ${notOk.length} not 200, ${notEast.length} not east`,
		);

		expect(firstOkAt).toBeDefined();
		expect(broken).toEqual([]);
		expect(etagAfter).toBe(etagBefore);
		expect(documentAfter).toEqual(documentBefore);
		expect(northAfter).toMatchObject({ healthy: false, pending: false, draining: false });
		expect(northAgain).toMatchObject({ healthy: false, pending: false });
		expect(westAfter).toMatchObject({ draining: true });
		expect(eastAfter).toMatchObject({ healthy: true, draining: false });
		expect(notOk).toEqual([]);
		expect(notEast).toEqual([]);
		expect(atWest).toEqual([]);
		expect(atNorth).toEqual([]);
		expect(leftover).toBe(0);
	});
});
