// Issue 11: which origins a probe round checks, moved out of the authority into health/schedule.ts.
import { describe, expect, it } from "vitest";
import { DUE_SLACK_MS, PROBE_SUBREQUEST_BUDGET, toDueProbes, toNextDueAt } from "../../../src/health/schedule";
import type { PoolEntry } from "../../../src/routing/snapshot";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool, aSnapshot, type PoolInput } from "../../fixtures/config";

/** A round's time: a clock far from zero, as Date.now() is. */
const T0 = Date.UTC(2025, 0, 1);

function poolsOf(pools: PoolInput[], monitors = [aMonitor("mon")]): PoolEntry[] {
	return [
		...aSnapshot(
			aConfig({
				monitors,
				pools,
				load_balancers: [aLoadBalancer("app.example.com", pools.map((pool) => pool.id).slice(0, 1))],
			}),
		).pools.values(),
	];
}

const origins = (...names: string[]) => names.map((name) => anOrigin(name));
const keysOf = (targets: { key: string }[]) => targets.map((target) => target.key);
/** lastDueAt from a table of origin key → time; undefined (never handed out) for the rest. */
const handedOut =
	(times: Record<string, number> = {}) =>
	(key: string) =>
		times[key];

describe("toDueProbes", () => {
	it.each([
		{ interval: 60, slackMs: DUE_SLACK_MS },
		{ interval: 10, slackMs: 2000 },
		{ interval: 5, slackMs: 1000 },
	])("an origin on a $interval s interval is due $slackMs ms early, not sooner", ({ interval, slackMs }) => {
		const pools = poolsOf([aPool("p", origins("a"), { monitor: "mon" })], [aMonitor("mon", { interval })]);
		const dueAt = (elapsed: number) =>
			keysOf(toDueProbes({ pools, lastDueAt: handedOut({ "p/a": T0 }) }, T0 + elapsed));
		expect(dueAt(interval * 1000 - slackMs - 1)).toEqual([]);
		expect(dueAt(interval * 1000 - slackMs)).toEqual(["p/a"]);
	});

	it("hands out the oldest first, origins never handed out before all others", () => {
		const pools = poolsOf([aPool("p", origins("a", "b", "c", "d"), { monitor: "mon" })]);
		const lastDueAt = handedOut({ "p/a": T0 - 60_000, "p/c": T0 - 120_000, "p/d": T0 - 1000 });
		expect(keysOf(toDueProbes({ pools, lastDueAt }, T0))).toEqual(["p/b", "p/c", "p/a"]);
	});

	it("spends the budget at retries + 1 per probe, skipping what does not fit and taking cheaper ones after it", () => {
		const pools = poolsOf(
			[aPool("costly", origins("a", "b"), { monitor: "three" }), aPool("cheap", origins("c", "d"), { monitor: "one" })],
			[aMonitor("three", { retries: 2 }), aMonitor("one", { retries: 0 })],
		);
		// Oldest first: costly/a (3), costly/b (3), cheap/c (1), cheap/d (1), within 5.
		const lastDueAt = handedOut({
			"costly/a": T0 - 400_000,
			"costly/b": T0 - 300_000,
			"cheap/c": T0 - 200_000,
			"cheap/d": T0 - 100_000,
		});
		expect(keysOf(toDueProbes({ pools, lastDueAt }, T0, 5))).toEqual(["costly/a", "cheap/c", "cheap/d"]);
	});

	it(`stays within ${PROBE_SUBREQUEST_BUDGET} subrequests by default`, () => {
		const names = Array.from({ length: 20 }, (_, i) => `o${i}`);
		const pools = poolsOf([aPool("p", origins(...names), { monitor: "mon" })], [aMonitor("mon", { retries: 2 })]);
		expect(toDueProbes({ pools, lastDueAt: handedOut() }, T0)).toHaveLength(Math.floor(PROBE_SUBREQUEST_BUDGET / 3));
	});

	it("never hands out origins of disabled or unmonitored pools, disabled origins, or origins being probed", () => {
		const pools = poolsOf([
			aPool("p", [anOrigin("a"), anOrigin("off", undefined, { enabled: false }), anOrigin("busy")], { monitor: "mon" }),
			aPool("disabled", origins("a"), { monitor: "mon", enabled: false }),
			aPool("unmonitored", origins("a")),
		]);
		const due = toDueProbes({ pools, lastDueAt: handedOut(), probing: (key) => key === "p/busy" }, T0);
		expect(keysOf(due)).toEqual(["p/a"]);
	});

	it("describes each probe from its pool's monitor", () => {
		const pools = poolsOf(
			[aPool("p", origins("a"), { monitor: "mon" })],
			[aMonitor("mon", { path: "/health", retries: 1 })],
		);
		expect(toDueProbes({ pools, lastDueAt: handedOut() }, T0)).toEqual([
			expect.objectContaining({ key: "p/a", url: "http://a.example.com/health", retries: 1 }),
		]);
	});
});

describe("toNextDueAt", () => {
	it("is the earliest time an origin's interval ends after the round that last handed it out", () => {
		const pools = poolsOf(
			[aPool("slow", origins("a"), { monitor: "slow" }), aPool("fast", origins("b"), { monitor: "fast" })],
			[aMonitor("slow", { interval: 60 }), aMonitor("fast", { interval: 10 })],
		);
		const lastDueAt = handedOut({ "slow/a": T0, "fast/b": T0 - 5000 });
		expect(toNextDueAt({ pools, lastDueAt }, T0)).toBe(T0 + 5000);
	});

	it("is now while an origin has never been handed out", () => {
		const pools = poolsOf([aPool("p", origins("a", "b"), { monitor: "mon" })]);
		expect(toNextDueAt({ pools, lastDueAt: handedOut({ "p/a": T0 - 10_000 }) }, T0)).toBe(T0);
	});

	it("is undefined when nothing is monitored (disabled pools and origins do not count)", () => {
		const pools = poolsOf([
			aPool("unmonitored", origins("a")),
			aPool("disabled", origins("a"), { monitor: "mon", enabled: false }),
			aPool("p", [anOrigin("off", undefined, { enabled: false })], { monitor: "mon" }),
		]);
		expect(toNextDueAt({ pools, lastDueAt: handedOut() }, T0)).toBeUndefined();
	});
});
