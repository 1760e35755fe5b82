/**
 * Issue 15, "The authority, a hub and a counter object each aborted under load": many GETs through
 * the Worker's fetch handler (CLIENTS at once, each sending one after another, from data center
 * FRA in the default colo scope), and one object aborted a second in, through the pool's tool
 * (`state.abort()` inside runInDurableObject): its instance is gone, its memory with it, and calls
 * out to it fail. Passing: 0 failed GETs, p99 no more than the fail-open deadline (ROUTE_DEADLINE_MS)
 * + 100 ms, and no request left counted in flight after 10 s (/status: origins' and counter objects'
 * in_flight).
 *
 * Recovery, per object:
 * - the counter object (on every request's path): from the abort to the first request planned by
 *   it again (the isolate's planner is watched, not changed: which plans came back failOpen);
 * - the hub and the authority (on no request's path): from the abort to the first request planned
 *   with a change made right after it (origin c drained), i.e. until replication reaches the
 *   counter object again through the new instance, which knows none of the objects the old one
 *   pushed to: by design within one check of the counter object (5 s) after a hub's abort, two
 *   (the hub's, then the object's) after the authority's. It must arrive; its time is reported, not
 *   bounded here: this pool's one thread, saturated by the load, makes it 5–8.5 s.
 *
 * Aborted outright, an object breaks only the calls it is running at that moment (a counter
 * object's `route` runs without an await, so hardly any): its next call starts a new instance. The
 * second counter case makes calls queue first (the object stuck 1.5 s, then aborted), so they do
 * fail open. Measured here: the GETs in flight when it got stuck are answered after 1.0–1.5 s, not
 * 1.0 s, because this pool runs the test, the Worker and every object on one thread, which lags
 * under the load (a 10 ms timer fired up to 300 ms late after a second of 12 clients; with the load
 * settled first, the same wave took 1,010–1,030 ms). That is one GET per client, under 1% of the
 * load, so p99 is not moved by it; the notes give the max.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { RoutePlan } from "../../../src/contract/route";
import type { StatusReport } from "../../../src/contract/status";
import { type EdgePlanner, ROUTE_DEADLINE_MS } from "../../../src/edge/planner";
import { isolateOf } from "../../../src/isolate";
import { REVALIDATE_MS } from "../../../src/routing/shard-keys";
import { admin, adminResult, onePoolConfig, putConfig, sendStreaming, startClean } from "../../workers/helpers";
import { recordFigures } from "../figures";

beforeEach(startClean);

const COLO = "FRA";
const HOST = "app.test";
const COUNTER = `lb:${HOST}@${COLO}`;
const ORIGINS = ["a", "b", "c"];
/** Requests out at once, each client sending its next when the last one's body has been read. */
const CLIENTS = 12;
/** Load before the abort, and in all. */
const BEFORE_ABORT_MS = 1_000;
const LOAD_MS = 4_000;
/** The bound on p99: the fail-open deadline + 100 ms. */
const P99_BOUND_MS = ROUTE_DEADLINE_MS + 100;
/** How long the counter object is stuck before its abort, in the second counter case: past the deadline. */
const STUCK_MS = 1_500;
/** How long one more client, started with the change made after the abort, waits for it to arrive. */
const FOLLOW_UP_MS = 15_000;
/** Where a change made after the abort should reach the counter object, by design (docs/architecture.md). */
const DESIGN_HUB = `${REVALIDATE_MS / 1000} s (the counter object's next check)`;
const DESIGN_AUTHORITY = `${(2 * REVALIDATE_MS) / 1000} s (the hub's next check, then the counter object's)`;
/** No request may still be counted in flight this long after the load ends. */
const LEASES_SETTLE_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
	readonly path: string;
	readonly start: number;
	readonly ms: number;
	readonly status: number;
	readonly origin: string | null;
	readonly error?: string;
}

/** A plan the isolate's planner returned: when, and whether it came from the replica (fail open). */
interface Planned {
	readonly at: number;
	readonly failOpen: boolean;
	readonly origin: string | undefined;
	readonly state: number | undefined;
}

/**
 * Watches the plans of the isolate's planner (wraps `for` on the instance; nothing in it changes)
 * until `stop`.
 */
function watchPlans(): { plans: Planned[]; stop: () => void } {
	const planner = isolateOf()?.planner as EdgePlanner | undefined;
	if (!planner) throw new Error("no isolate yet: send a request first");
	const original = planner.for;
	const plans: Planned[] = [];
	planner.for = (background, onLateLease) => {
		const inner = original.call(planner, background, onLateLease);
		return {
			route: async (request, timer) => {
				const plan: RoutePlan = await inner.route(request, timer);
				plans.push({
					at: Date.now(),
					failOpen: plan.ok && plan.failOpen === true,
					origin: plan.ok ? plan.attempts[0]?.origin : undefined,
					state: plan.ok ? plan.state : undefined,
				});
				return plan;
			},
		};
	};
	return {
		plans,
		stop: () => {
			// The prototype's method again.
			delete (planner as { for?: unknown }).for;
		},
	};
}

/** GETs from CLIENTS clients until `until`; every invocation's background work is awaited before it returns. */
async function load(until: number): Promise<Sample[]> {
	const samples: Sample[] = [];
	const settled: Promise<void>[] = [];
	let n = 0;
	const client = async (id: number) => {
		while (Date.now() < until) {
			const start = Date.now();
			const path = `/load/${id}/${n++}`;
			try {
				const sent = await sendStreaming(`https://${HOST}${path}`, { cf: { colo: COLO } } as RequestInit);
				await sent.response.arrayBuffer();
				samples.push({
					path,
					start,
					ms: Date.now() - start,
					status: sent.response.status,
					origin: sent.response.headers.get("x-switchyard-origin"),
				});
				settled.push(sent.settled.catch(() => {}));
			} catch (error) {
				samples.push({ path, start, ms: Date.now() - start, status: 0, origin: null, error: String(error) });
			}
		}
	};
	await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
	await Promise.all(settled);
	return samples;
}

function percentile(values: readonly number[], p: number): number {
	const sorted = [...values].sort((x, y) => x - y);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Aborts the object behind `stub` (its instance and memory gone); the call that does it fails by design. */
async function abort(stub: DurableObjectStub, why: string): Promise<number> {
	const at = Date.now();
	const outcome = await runInDurableObject(stub, (_, state) => state.abort(why)).then(
		() => "returned",
		(error: unknown) => String(error),
	);
	console.log(`aborted: ${why} (${outcome})`);
	return at;
}

/**
 * Keeps the object behind `stub` busy for `ms` (calls queue at it, as at an overloaded object),
 * then aborts it: the queued calls fail. Returns when the abort happened. (The object sets a plain
 * variable: resolving a test's promise from inside blockConcurrencyWhile crashes the test runtime,
 * see test/workers/fail-open-scopes.test.ts.)
 */
async function stuckThenAbort(stub: DurableObjectStub, ms: number, why: string): Promise<number> {
	let abortedAt = 0;
	const outcome = await runInDurableObject(stub, (_, state) =>
		state.blockConcurrencyWhile(async () => {
			await sleep(ms);
			abortedAt = Date.now();
			state.abort(why);
		}),
	).then(
		() => "returned",
		(error: unknown) => String(error),
	);
	console.log(`stuck ${ms} ms, then aborted: ${why} (${outcome})`);
	return abortedAt;
}

/** Requests counted in flight in /status: by origin, and by counter object (those that answered). */
async function inFlight(): Promise<{ origins: number; counters: number; unanswered: number }> {
	const report = await adminResult<StatusReport>("/status");
	const origins = report.pools.flatMap((pool) => pool.origins).reduce((sum, origin) => sum + origin.in_flight, 0);
	const counters = report.counters.reduce((sum, counter) => sum + counter.in_flight, 0);
	return { origins, counters, unanswered: report.counters.filter((counter) => !counter.answered).length };
}

/** Polls /status until nothing is counted in flight, at most LEASES_SETTLE_MS; what was left, and when it was clear. */
async function leasesLeft(): Promise<{ left: number; clearAfterMs: number | undefined; unanswered: number }> {
	const started = Date.now();
	let last = await inFlight();
	while (last.origins + last.counters > 0 || last.unanswered > 0) {
		if (Date.now() - started > LEASES_SETTLE_MS) {
			return { left: last.origins + last.counters, clearAfterMs: undefined, unanswered: last.unanswered };
		}
		await sleep(100);
		last = await inFlight();
	}
	return { left: 0, clearAfterMs: Date.now() - started, unanswered: 0 };
}

/** The configuration under test, the counter object, the hub and the isolate's replica warm. */
async function warm(): Promise<void> {
	await putConfig(onePoolConfig(ORIGINS, { host: HOST }));
	// Until a request is planned by the counter object with the authority's current state.
	const state = await runInDurableObject(
		env.REGISTRY.getByName("global"),
		(instance) => (instance as unknown as { state: number }).state,
	);
	for (let i = 0; i < 50; i++) {
		const sent = await sendStreaming(`https://${HOST}/warm/${i}`, { cf: { colo: COLO } } as RequestInit);
		await sent.response.arrayBuffer();
		await sent.settled;
		expect(sent.response.status).toBe(200);
		const planner = isolateOf()?.planner as unknown as { replicas: { state: number | undefined } } | undefined;
		// At least that state: the authority's first probe round may have moved it since.
		if ((planner?.replicas.state ?? 0) >= state) return;
		await sleep(20);
	}
	throw new Error("the isolate's replica never caught up with the authority");
}

interface Run {
	readonly samples: Sample[];
	readonly plans: Planned[];
	readonly abortedAt: number;
	/** The change made after the abort (hub and authority cases): when, and the authority's state after it. */
	readonly change?: Change;
}

/**
 * The load, with `fault` a second in (it returns when the abort happened); `afterFault` runs right
 * after it, while the load goes on.
 */
async function underLoad(fault: () => Promise<number>, afterFault?: () => Promise<Change>): Promise<Run> {
	await warm();
	const watch = watchPlans();
	try {
		const end = Date.now() + LOAD_MS;
		const traffic = load(end);
		await sleep(BEFORE_ABORT_MS);
		const abortedAt = await fault();
		const change = afterFault ? await afterFault() : undefined;
		// A change made after the abort: one more client, from now on, until the counter object plans
		// with it (it checks its replica only while requests come).
		const following = change ? untilChanged(watch.plans, change) : Promise.resolve([]);
		const samples = [...(await traffic), ...(await following)];
		return { samples, plans: watch.plans, abortedAt, ...(change ? { change } : {}) };
	} finally {
		watch.stop();
	}
}

interface Change {
	readonly at: number;
	/** The authority's state once it was made: plans at this state or later have it. */
	readonly state: number;
}

const authorityState = () =>
	runInDurableObject(env.REGISTRY.getByName("global"), (instance) => (instance as unknown as { state: number }).state);

/** Drains origin c: a change the new instance must get to the counter object. */
async function drainC(): Promise<Change> {
	const at = Date.now();
	const response = await admin("POST", "/pools/main/origins/c/drain");
	expect(response.status, "drain c").toBe(200);
	return { at, state: await authorityState() };
}

/**
 * One client's GETs until the counter object plans with `change` (a plan at its state), at most
 * FOLLOW_UP_MS; their background work is awaited at the end, not between them, so the requests
 * keep coming (the object checks its replica only when one does).
 */
async function untilChanged(plans: readonly Planned[], change: Change): Promise<Sample[]> {
	const samples: Sample[] = [];
	const settled: Promise<void>[] = [];
	const started = Date.now();
	let i = 0;
	while (Date.now() - started < FOLLOW_UP_MS && !plans.some((plan) => (plan.state ?? 0) >= change.state)) {
		const start = Date.now();
		const path = `/follow-up/${i++}`;
		const sent = await sendStreaming(`https://${HOST}${path}`, { cf: { colo: COLO } } as RequestInit);
		await sent.response.arrayBuffer();
		samples.push({
			path,
			start,
			ms: Date.now() - start,
			status: sent.response.status,
			origin: sent.response.headers.get("x-switchyard-origin"),
		});
		settled.push(sent.settled.catch(() => {}));
		await sleep(20);
	}
	await Promise.all(settled);
	return samples;
}

interface Verdict {
	readonly requests: number;
	readonly failed: number;
	readonly p50: number;
	readonly p99: number;
	readonly max: number;
	readonly failOpen: number;
	/** GETs slower than the p99 bound. */
	readonly overBound: number;
}

function judge(run: Run): Verdict {
	const { samples, plans } = run;
	const failures = samples.filter((sample) => sample.status !== 200 || !ORIGINS.includes(sample.origin ?? ""));
	for (const failure of failures.slice(0, 5)) console.error("failed GET", failure);
	const slow = samples.filter((sample) => sample.ms > P99_BOUND_MS);
	if (slow.length > 0) {
		const from = Math.min(...slow.map((sample) => sample.start - run.abortedAt));
		console.log(`${slow.length} slower than ${P99_BOUND_MS} ms, sent from ${from} ms after the abort`);
	}
	const latencies = samples.map((sample) => sample.ms);
	return {
		requests: samples.length,
		failed: failures.length,
		p50: percentile(latencies, 50),
		p99: percentile(latencies, 99),
		max: Math.max(...latencies),
		failOpen: plans.filter((plan) => plan.failOpen).length,
		overBound: slow.length,
	};
}

function notesOf(verdict: Verdict, extra: string): string {
	return `p50 ${verdict.p50} ms, p99 ${verdict.p99} ms (bound ${P99_BOUND_MS}), max ${verdict.max} ms (${verdict.overBound} over the bound); ${verdict.failOpen} planned from the replica (fail open); ${CLIENTS} clients for ${LOAD_MS / 1000} s; ${extra}`;
}

describe("objects aborted under load", () => {
	it("the counter object aborted: 0 failed GETs, p99 within the fail-open deadline + 100 ms, no lease left", async ({
		task,
	}) => {
		const run = await underLoad(() => abort(env.COUNTERS.getByName(COUNTER), "fault: counter object aborted"));
		const verdict = judge(run);
		// Recovery: the first plan the (new) counter object made after the abort.
		const again = run.plans.find((plan) => plan.at > run.abortedAt && !plan.failOpen);
		const recoveryMs = again && again.at - run.abortedAt;
		const leases = await leasesLeft();
		console.log("counter object aborted", verdict, { recoveryMs, leases });
		recordFigures(task, {
			case: "counter object aborted under load (colo scope)",
			requests: verdict.requests,
			failed: verdict.failed,
			leasesLeft: leases.left,
			...(recoveryMs !== undefined ? { recoveryMs } : {}),
			passing: `0 failed GETs, p99 ≤ ${P99_BOUND_MS} ms, nothing in flight ${LEASES_SETTLE_MS / 1000} s after`,
			notes: notesOf(verdict, `in flight clear ${leases.clearAfterMs ?? "never"} ms after the load`),
		});
		expect(verdict.failed).toBe(0);
		expect(verdict.p99).toBeLessThanOrEqual(P99_BOUND_MS);
		expect(leases).toMatchObject({ left: 0, unanswered: 0 });
		expect(recoveryMs, "the counter object planned again").toBeDefined();
	});

	it("the counter object stuck 1.5 s, then aborted: the calls queued at it fail open within the deadline", async ({
		task,
	}) => {
		const run = await underLoad(() =>
			stuckThenAbort(env.COUNTERS.getByName(COUNTER), STUCK_MS, "fault: counter object stuck, then aborted"),
		);
		const verdict = judge(run);
		const again = run.plans.find((plan) => plan.at > run.abortedAt && !plan.failOpen);
		const recoveryMs = again && again.at - run.abortedAt;
		const leases = await leasesLeft();
		console.log("counter object stuck, then aborted", verdict, { recoveryMs, leases });
		recordFigures(task, {
			case: `counter object stuck ${STUCK_MS / 1000} s, then aborted, under load`,
			requests: verdict.requests,
			failed: verdict.failed,
			leasesLeft: leases.left,
			...(recoveryMs !== undefined ? { recoveryMs } : {}),
			passing: `0 failed GETs, p99 ≤ ${P99_BOUND_MS} ms, nothing in flight ${LEASES_SETTLE_MS / 1000} s after`,
			notes: notesOf(
				verdict,
				`recovery from the abort; in flight clear ${leases.clearAfterMs ?? "never"} ms after the load`,
			),
		});
		expect(verdict.failed).toBe(0);
		// Requests did wait for the object, then were planned from the replica.
		expect(verdict.failOpen).toBeGreaterThan(0);
		expect(verdict.p99).toBeLessThanOrEqual(P99_BOUND_MS);
		expect(leases).toMatchObject({ left: 0, unanswered: 0 });
		expect(recoveryMs, "the counter object planned again").toBeDefined();
	});

	// A new hub knows no counter object, a new authority no hub: a drain made right after either
	// waits for the next checks (the counter object's, REVALIDATE_MS after its last, made by its
	// next request; after an authority restart, the hub's first). Measured 3.7–9 s here: this pool's
	// one thread, saturated by the load and its background work, runs late.
	it.for([
		{ name: "hub", stub: () => env.HUBS.getByName(`colo:${COLO}`), design: DESIGN_HUB },
		{ name: "authority", stub: () => env.REGISTRY.getByName("global"), design: DESIGN_AUTHORITY },
	])(
		"the $name aborted: 0 failed GETs, p99 within the fail-open deadline + 100 ms, no lease left; a change after it arrives",
		async ({ name, stub, design }, { task }) => {
			const run = await underLoad(() => abort(stub(), `fault: ${name} aborted`), drainC);
			const verdict = judge(run);
			// The drain reached the counter object: its first plan with it.
			const recoveryMs = changedAfter(run);
			const leases = await leasesLeft();
			console.log(`${name} aborted`, verdict, { recoveryMs, leases });
			recordFigures(task, {
				case: `${name} aborted under load`,
				requests: verdict.requests,
				failed: verdict.failed,
				leasesLeft: leases.left,
				...(recoveryMs !== undefined ? { recoveryMs } : {}),
				passing: `0 failed GETs, p99 ≤ ${P99_BOUND_MS} ms, nothing in flight ${LEASES_SETTLE_MS / 1000} s after`,
				notes: notesOf(
					verdict,
					`recovery: abort → a drain made right after it planned by the counter object (design: within ${design}); in flight clear ${leases.clearAfterMs ?? "never"} ms after the load`,
				),
			});
			expect(verdict.failed).toBe(0);
			expect(verdict.p99).toBeLessThanOrEqual(P99_BOUND_MS);
			expect(leases).toMatchObject({ left: 0, unanswered: 0 });
			expect(recoveryMs, "the drain reached the counter object").toBeDefined();
		},
	);
});

/**
 * From the abort to the first plan the counter object made with the change (at its state or
 * later); undefined when none did. Such plans never chose c (drained).
 */
function changedAfter(run: Run): number | undefined {
	const change = run.change as Change;
	const withIt = run.plans.filter((plan) => !plan.failOpen && (plan.state ?? 0) >= change.state);
	expect(
		withIt.filter((plan) => plan.origin === "c"),
		"plans with the drain chose c",
	).toEqual([]);
	const first = withIt[0];
	return first && first.at - run.abortedAt;
}
