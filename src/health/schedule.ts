/**
 * What is due: which origins a probe round checks now, and when the next one is due. An origin of
 * an enabled, monitored pool is due an interval after the round that last handed it out (measured
 * on rounds' times, not on when probes finished, so a slow check does not skip a round), oldest
 * first, within the subrequest budget of one invocation; the rest wait for the next round. Pure.
 */
import type { Monitor } from "../config/schema";
import type { ProbeTarget } from "./probe";
import { type ProbeOrigin, toProbeTarget } from "./targets";

/**
 * Subrequests one round may spend on probes: the Free plan's 50 per invocation, less a margin for the
 * round's own calls. The pushes a round's transitions cause come out of the same invocation (see
 * docs/architecture.md, "Known limits").
 */
export const PROBE_SUBREQUEST_BUDGET = 48;
/** A probe due within this much of its interval is run now: cron fires once a minute, give or take. */
export const DUE_SLACK_MS = 5_000;

/** A pool as the schedule sees it (routing/snapshot.ts `PoolEntry` is one). */
export interface MonitoredPool {
	/** A pool with check_regions is checked by its regions' probe objects (regions.ts), not here. */
	readonly pool: { readonly enabled: boolean; readonly check_regions?: readonly string[] };
	readonly monitor: Monitor | undefined;
	readonly origins: readonly ProbeOrigin[];
}

export interface ScheduleInput {
	readonly pools: Iterable<MonitoredPool>;
	/** The time of the round that last handed the origin out; undefined when none has. */
	readonly lastDueAt: (originKey: string) => number | undefined;
	/** Origins whose probe is out now (another round's): never handed out twice at once. */
	readonly probing?: (originKey: string) => boolean;
}

/** Every enabled origin of an enabled, monitored pool checked from here (no check_regions), with its monitor. */
function* monitored(pools: Iterable<MonitoredPool>): Generator<{ origin: ProbeOrigin; monitor: Monitor }> {
	for (const entry of pools) {
		const monitor = entry.monitor;
		if (!entry.pool.enabled || !monitor || (entry.pool.check_regions?.length ?? 0) > 0) continue;
		for (const origin of entry.origins) if (origin.enabled) yield { origin, monitor };
	}
}

/**
 * The probes due at `now` (a round's time: a cron's scheduledTime may be late), oldest first,
 * as many as `budgetSubrequests` allows (each costs `retries + 1`).
 */
export function toDueProbes(
	input: ScheduleInput,
	now: number,
	budgetSubrequests = PROBE_SUBREQUEST_BUDGET,
): ProbeTarget[] {
	const due: { target: ProbeTarget; dueAt: number; cost: number }[] = [];
	for (const { origin, monitor } of monitored(input.pools)) {
		if (input.probing?.(origin.key)) continue;
		const dueAt = input.lastDueAt(origin.key) ?? 0;
		// Slack for a cron that fires a little early, but never more than a fifth of the interval.
		const slackMs = Math.min(DUE_SLACK_MS, monitor.interval * 200);
		if (now - dueAt < monitor.interval * 1000 - slackMs) continue;
		due.push({ target: toProbeTarget(origin, monitor), dueAt, cost: monitor.retries + 1 });
	}
	due.sort((a, b) => a.dueAt - b.dueAt);
	const chosen: ProbeTarget[] = [];
	let spent = 0;
	for (const item of due) {
		if (spent + item.cost > budgetSubrequests) continue;
		spent += item.cost;
		chosen.push(item.target);
	}
	return chosen;
}

/** When the next probe is due: `now` for an origin never handed out; undefined when nothing is monitored. */
export function toNextDueAt(input: ScheduleInput, now: number): number | undefined {
	let next = Number.POSITIVE_INFINITY;
	for (const { origin, monitor } of monitored(input.pools)) {
		const dueAt = input.lastDueAt(origin.key);
		next = Math.min(next, dueAt === undefined ? now : dueAt + monitor.interval * 1000);
	}
	return next === Number.POSITIVE_INFINITY ? undefined : next;
}
