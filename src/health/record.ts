/**
 * One check result applied to an origin's health: rise/fall (state-machine.ts), the last check's
 * time, reason and round-trip time, and the RTT average steering reads. Pure.
 */
import type { Monitor } from "../config/schema";
import type { ProbeResult } from "./probe";
import { applyCheck, type HealthState } from "./state-machine";

/** One region's view of one origin, with its own rise/fall (a pool's check_regions, health/regions.ts). */
export interface RegionView {
	readonly state: HealthState;
	readonly reason: string;
	readonly at: number;
	readonly rttMs: number;
}

/** What the authority knows of an origin's active health (replicas carry the state and RTT average). */
export interface OriginHealth {
	state: HealthState;
	lastCheckAt?: number;
	lastReason?: string;
	lastRttMs?: number;
	/** Moving average of successful checks' round-trip times. */
	rttEwmaMs?: number;
	/** The reason of the last failed check. */
	lastFailure?: string;
	/** The sweep time this origin was last handed out at: the clock its interval is measured on. */
	dueAt?: number;
	/** Checks applied since the authority started (or the origin's address changed), by result: /_lb/metrics. */
	checksPassed?: number;
	checksFailed?: number;
	/** Checked from several regions: each region's view, by region code (in memory; a restart starts them again). */
	regions?: Readonly<Record<string, RegionView>>;
}

/** Weight of a new round-trip time in an origin's health-check RTT average. */
export const RTT_EWMA_ALPHA = 0.3;

/** Applies `result` to `health` in place; true when the origin turned healthy or unhealthy. */
export function applyProbeResult(health: OriginHealth, result: ProbeResult, monitor: Monitor): boolean {
	const before = health.state.healthy;
	health.state = applyCheck(
		health.state,
		result.ok,
		{ consecutiveUp: monitor.consecutive_up, consecutiveDown: monitor.consecutive_down },
		result.at,
	);
	health.lastCheckAt = result.at;
	if (result.ok) health.checksPassed = (health.checksPassed ?? 0) + 1;
	else health.checksFailed = (health.checksFailed ?? 0) + 1;
	health.lastReason = result.reason;
	if (!result.ok) health.lastFailure = result.reason;
	health.lastRttMs = result.rttMs;
	if (result.ok) {
		health.rttEwmaMs =
			health.rttEwmaMs === undefined
				? result.rttMs
				: health.rttEwmaMs + RTT_EWMA_ALPHA * (result.rttMs - health.rttEwmaMs);
	}
	return health.state.healthy !== before;
}

/** What applying a round's results needs to know of the origins now. */
export interface ProbeBook {
	/** The origin's identity and its pool's monitor now; undefined when it is gone or unmonitored. */
	current(key: string): { readonly identity: string; readonly monitor: Monitor } | undefined;
	healthOf(key: string): OriginHealth;
	/**
	 * An origin a result found healthy: it recovered, or (`firstCheck`) a pending origin passed its
	 * first check; its slow start may begin `at`.
	 */
	warmFrom(key: string, at: number, firstCheck: boolean): void;
}

/**
 * A round's results applied: `changed` turned healthy or unhealthy (an event each); `settled` were
 * pending and their first check passed (stored, no event). A result about an origin since removed,
 * or whose identity changed while the probe was out, is dropped.
 */
export function applyProbeResults(
	results: readonly ProbeResult[],
	book: ProbeBook,
): { readonly changed: string[]; readonly settled: string[] } {
	const changed: string[] = [];
	const settled: string[] = [];
	for (const result of results) {
		const now = book.current(result.key);
		if (!now || (result.identity !== undefined && result.identity !== now.identity)) continue;
		const health = book.healthOf(result.key);
		const wasPending = health.state.pending === true;
		if (applyProbeResult(health, result, now.monitor)) changed.push(result.key);
		else if (wasPending) settled.push(result.key);
		else continue;
		if (health.state.healthy) book.warmFrom(result.key, result.at, wasPending);
	}
	return { changed, settled };
}
