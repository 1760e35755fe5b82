/**
 * Issue 15, "The alarm throwing; a probe hanging past its timeout: health still converges". Active
 * health runs in the authority's alarm (registry.ts): a round probes what is due, records the
 * results, and re-arms the alarm for the next due probe. Faults injected through the pool's tools
 * only:
 * - the alarm throwing: the authority instance's `recordProbes` patched (inside runInDurableObject)
 *   to throw once, as a storage write failing would, and that alarm run with runDurableObjectAlarm
 *   (which, like the runtime, removes the alarm before running it). Then nothing more is called:
 *   the runtime's own alarms must mark the origin that went down as down.
 * - a probe hanging: origin a's /health never answers within the monitor's 1 s timeout (the demo
 *   origin's health-delay knob), and the runtime's alarms run on their own. The origin must be
 *   marked down within consecutive_down rounds, for the timeout, while the other origins' checks
 *   in the same rounds go out and come back at once.
 */
import { reset, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OriginStatus, StatusReport } from "../../../src/contract/status";
import {
	adminResult,
	clearReceived,
	originControl as control,
	onePoolConfig,
	originUrl,
	putConfig,
	setOriginHealthy,
} from "../../workers/helpers";
import { recordFigures } from "../figures";

const ALL = ["a", "b", "c", "d", "e"];
/** The monitors' interval (the shortest allowed) and timeout, s. */
const INTERVAL_S = 5;
const TIMEOUT_S = 1;
/** How long a case waits for health to converge on its own before it gives up. */
const CONVERGE_LIMIT_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface HealthSpan {
	path: string;
	start: number;
	end: number | null;
}

async function healthSpans(name: string): Promise<HealthSpan[]> {
	const response = await fetch(`${originUrl(name)}/_origin/health-stats`);
	return ((await response.json()) as { spans: HealthSpan[] }).spans;
}

/**
 * The origin's spans once each has ended (the origin sees a probe's connection close a moment
 * after the registry has given up on it and recorded the result), or as they are after `limitMs`.
 */
async function endedSpans(name: string, limitMs = 2000): Promise<HealthSpan[]> {
	const since = Date.now();
	for (;;) {
		const spans = await healthSpans(name);
		if (spans.every((span) => typeof span.end === "number") || Date.now() - since >= limitMs) return spans;
		await sleep(50);
	}
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

// The origins are shared with the other files of this layer: leave them as they were.
afterEach(restoreOrigins);

const registry = () => env.REGISTRY.getByName("global");
const alarmAt = () => runInDurableObject(registry(), (_, state) => state.storage.getAlarm());

async function originStatus(name: string): Promise<OriginStatus> {
	const report = await adminResult<StatusReport>("/status");
	const origin = report.pools[0]?.origins.find((entry) => entry.name === name);
	if (!origin) throw new Error(`no origin ${name} in /status`);
	return origin;
}

/** Polls /status until `name` is unhealthy, at most CONVERGE_LIMIT_MS; how long it took (undefined: never). */
async function untilDown(name: string, since: number): Promise<number | undefined> {
	while (Date.now() - since < CONVERGE_LIMIT_MS) {
		if (!(await originStatus(name)).healthy) return Date.now() - since;
		await sleep(100);
	}
	return undefined;
}

/** The first round after a PUT: every origin checked once and healthy; returns when it ran. */
async function firstRound(names: readonly string[]): Promise<number> {
	const at = Date.now();
	expect(await runDurableObjectAlarm(registry())).toBe(true);
	for (const name of names) expect(await originStatus(name), name).toMatchObject({ healthy: true, pending: false });
	return at;
}

describe("health faults", () => {
	it("the alarm's probe round throws: the alarm stays armed and an origin that went down is marked down", async ({
		task,
	}) => {
		const names = ["a", "b", "c"];
		await putConfig(onePoolConfig(names, { monitor: { interval: INTERVAL_S, timeout: TIMEOUT_S, retries: 0 } }));
		const first = await firstRound(names);
		// Park the alarm so that the runtime does not run the next round before the faulty one.
		await runInDurableObject(registry(), (_, state) => state.storage.setAlarm(Date.now() + 3_600_000));
		await setOriginHealthy("a", false);
		await control("a", "health-stats", "DELETE");
		const downAt = Date.now();
		// Until the origins are due again (an interval after the first round, less a fifth of it as slack).
		await sleep(Math.max(0, first + INTERVAL_S * 800 + 300 - Date.now()));

		// The next round's results cannot be recorded: the alarm throws.
		await runInDurableObject(registry(), (instance) => {
			const authority = instance as unknown as { recordProbes?: (results: unknown) => Promise<void> };
			authority.recordProbes = async () => {
				delete authority.recordProbes; // once: the class's own method from now on
				throw new Error("fault: recording the probe round failed");
			};
		});
		const faultAt = Date.now();
		const thrown = await runDurableObjectAlarm(registry()).then(
			() => "nothing",
			(error: unknown) => String(error),
		);
		expect(thrown).toContain("fault: recording the probe round failed");
		expect((await healthSpans("a")).length, "the faulty round probed a").toBe(1);
		const armed = await alarmAt();
		console.log(`alarm after the throw: ${armed === null ? "none" : `in ${armed - Date.now()} ms`}`);
		expect(armed, "the alarm is still armed after the round threw").not.toBeNull();
		expect(armed as number).toBeLessThanOrEqual(Date.now() + INTERVAL_S * 1000);
		expect((await originStatus("a")).healthy, "the lost round decided nothing").toBe(true);

		// Nothing more is called: the runtime's alarms take it from here.
		const convergedAfter = await untilDown("a", faultAt);
		const rounds = (await healthSpans("a")).length;
		const a = await originStatus("a");
		console.log(`a marked down ${convergedAfter} ms after the fault, ${rounds} rounds probed it`, a.last_error);
		recordFigures(task, {
			case: "the alarm throws (a probe round's results not recorded)",
			requests: rounds,
			failed: convergedAfter === undefined ? 1 : 0,
			...(convergedAfter !== undefined ? { recoveryMs: convergedAfter } : {}),
			passing: "the alarm stays armed; the origin that went down is marked down by the next round",
			notes: `a went down ${faultAt - downAt} ms before the throw; ${rounds} rounds probed it (the first lost); marked down ${convergedAfter ?? "never"} ms after the throw (monitor interval ${INTERVAL_S} s); requests = probe rounds of a; failed = 1 if it never converged`,
		});
		expect(convergedAfter, "a marked down").toBeDefined();
		expect(rounds).toBeLessThanOrEqual(2);
		expect(a.last_error).toContain("503");
		expect(await alarmAt(), "still armed").not.toBeNull();
	}, 40_000);

	it("the runtime's own alarm throws: the next alarms still run, and an origin that went down is marked down", async ({
		task,
	}) => {
		const names = ["a", "b", "c"];
		await putConfig(onePoolConfig(names, { monitor: { interval: INTERVAL_S, timeout: TIMEOUT_S, retries: 0 } }));
		await firstRound(names);
		await setOriginHealthy("a", false);
		await control("a", "health-stats", "DELETE");
		const downAt = Date.now();
		// The next alarm the runtime runs cannot record its round; its runs are watched (not changed).
		const runs: { at: number; threw: boolean }[] = [];
		await runInDurableObject(registry(), (instance) => {
			const authority = instance as unknown as {
				recordProbes?: (results: unknown) => Promise<void>;
				alarm: () => Promise<void>;
			};
			authority.recordProbes = async () => {
				delete authority.recordProbes;
				throw new Error("fault: recording the probe round failed");
			};
			const alarm = authority.alarm;
			authority.alarm = async () => {
				const at = Date.now();
				try {
					await alarm.call(authority);
					runs.push({ at, threw: false });
				} catch (error) {
					runs.push({ at, threw: true });
					throw error;
				}
			};
		});
		const convergedAfter = await untilDown("a", downAt);
		const thrownAt = runs.find((run) => run.threw)?.at;
		const rounds = (await healthSpans("a")).length;
		const a = await originStatus("a");
		const timeline = runs.map((run) => `${run.at - downAt}${run.threw ? " (threw)" : ""}`).join(", ");
		console.log(`alarms ran at ${timeline} ms; a marked down after ${convergedAfter} ms, ${rounds} rounds probed it`);
		const afterThrow =
			convergedAfter !== undefined && thrownAt !== undefined ? downAt + convergedAfter - thrownAt : undefined;
		recordFigures(task, {
			case: "the runtime's own alarm throws",
			requests: rounds,
			failed: convergedAfter === undefined ? 1 : 0,
			...(afterThrow !== undefined ? { recoveryMs: afterThrow } : {}),
			passing: "later alarms run; the origin that went down is marked down by the next round",
			notes: `alarms ran ${timeline} ms after a went down; marked down ${convergedAfter ?? "never"} ms after it went down (monitor interval ${INTERVAL_S} s); requests = probe rounds of a; failed = 1 if it never converged`,
		});
		expect(thrownAt, "an alarm threw").toBeDefined();
		expect(convergedAfter, "a marked down").toBeDefined();
		expect(rounds).toBeLessThanOrEqual(2);
		expect(a.last_error).toContain("503");
		expect(await alarmAt(), "still armed").not.toBeNull();
	}, 40_000);

	it("a probe hanging past its timeout: marked down for the timeout, the other origins' checks not held up", async ({
		task,
	}) => {
		const names = ["a", "b", "c", "d"];
		const consecutiveDown = 2;
		await putConfig(
			onePoolConfig(names, {
				monitor: { interval: INTERVAL_S, timeout: TIMEOUT_S, retries: 0, consecutive_down: consecutiveDown },
			}),
		);
		await firstRound(names);
		await Promise.all(names.map((name) => control(name, "health-stats", "DELETE")));
		// a's /health now answers after 30 s, long past the monitor's 1 s timeout.
		await control("a", "health-delay?ms=30000");
		const hungAt = Date.now();

		// The runtime's alarms alone.
		const convergedAfter = await untilDown("a", hungAt);
		const a = await originStatus("a");
		const spans = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await endedSpans(name)])));
		const aSpans = spans.a as HealthSpan[];
		const rounds = aSpans.length;
		// Each of a's probes was given up on at the timeout (its connection closed then).
		const aHeld = aSpans.map((span) => (span.end ?? Number.POSITIVE_INFINITY) - span.start);
		// In each round, b, c and d were probed when a was, and answered at once.
		const others = names.filter((name) => name !== "a");
		const othersHeld: number[] = [];
		const othersLate: number[] = [];
		for (const span of aSpans) {
			for (const name of others) {
				const same = (spans[name] as HealthSpan[]).find((other) => Math.abs(other.start - span.start) < 500);
				if (!same) {
					othersLate.push(Number.POSITIVE_INFINITY);
					continue;
				}
				othersLate.push(Math.abs(same.start - span.start));
				othersHeld.push((same.end ?? Number.POSITIVE_INFINITY) - same.start);
			}
		}
		const othersStatus = await Promise.all(others.map(originStatus));
		console.log(
			`a marked down ${convergedAfter} ms after it hung, in ${rounds} rounds: ${a.last_error}; a held ${aHeld.map(Math.round).join(", ")} ms; others answered in ≤ ${Math.round(Math.max(...othersHeld))} ms, started ≤ ${Math.round(Math.max(...othersLate))} ms from a's`,
		);
		recordFigures(task, {
			case: "a health probe hanging past its timeout",
			requests: rounds,
			failed: convergedAfter === undefined ? 1 : 0,
			...(convergedAfter !== undefined ? { recoveryMs: convergedAfter } : {}),
			passing: `marked down in consecutive_down (${consecutiveDown}) rounds with a timeout reason; the other origins' checks not held up`,
			notes: `monitor timeout ${TIMEOUT_S} s, interval ${INTERVAL_S} s; a's probes given up after ${aHeld.map(Math.round).join(", ")} ms; b, c, d probed in the same rounds (≤ ${Math.round(Math.max(...othersLate))} ms apart), answered in ≤ ${Math.round(Math.max(...othersHeld))} ms and stayed healthy; requests = probe rounds of a; failed = 1 if it never converged`,
		});
		expect(convergedAfter, "a marked down").toBeDefined();
		expect(rounds).toBe(consecutiveDown);
		expect(a.last_error).toBe(`timeout after ${TIMEOUT_S * 1000} ms`);
		for (const held of aHeld) {
			expect(held).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
			expect(held).toBeLessThan(TIMEOUT_S * 1000 + 500);
		}
		expect(othersLate.length).toBe(rounds * others.length);
		for (const late of othersLate) expect(late).toBeLessThan(100);
		for (const held of othersHeld) expect(held).toBeLessThan(200);
		for (const origin of othersStatus) expect(origin, origin.name).toMatchObject({ healthy: true, last_check: "200" });
		expect(await alarmAt(), "still armed").not.toBeNull();
	}, 40_000);
});
