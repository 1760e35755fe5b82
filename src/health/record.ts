/**
 * One check result applied to an origin's health: rise/fall (state-machine.ts), the last check's
 * time, reason and round-trip time, and the RTT average steering reads. Pure.
 */
import type { Monitor } from "../config/schema";
import type { ProbeResult } from "./probe";
import { applyCheck, type HealthState } from "./state-machine";

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
