/**
 * Rise/fall: an origin turns unhealthy after `consecutive_down` failed checks in a row and healthy
 * again after `consecutive_up` good ones, so one lost packet does not flap it. 0 behaves as 1, as
 * in Cloudflare's monitors. Reference: HAProxy's `rise`/`fall`,
 * https://docs.haproxy.org/3.0/configuration.html#5.2-rise
 */

export interface HealthState {
	readonly healthy: boolean;
	/** Good checks in a row (counts towards rise while unhealthy). */
	readonly upStreak: number;
	/** Failed checks in a row (counts towards fall while healthy). */
	readonly downStreak: number;
	/** When `healthy` last changed (ms since epoch); 0 while it never has. */
	readonly changedAt: number;
}

export interface RiseFall {
	readonly consecutiveUp: number;
	readonly consecutiveDown: number;
}

/** An origin nobody has checked yet is healthy, as in Cloudflare and HAProxy. */
export const UNCHECKED: HealthState = { healthy: true, upStreak: 0, downStreak: 0, changedAt: 0 };

export function applyCheck(state: HealthState, ok: boolean, rule: RiseFall, now: number): HealthState {
	const upStreak = ok ? state.upStreak + 1 : 0;
	const downStreak = ok ? 0 : state.downStreak + 1;
	let healthy = state.healthy;
	if (healthy && downStreak >= Math.max(1, rule.consecutiveDown)) healthy = false;
	else if (!healthy && upStreak >= Math.max(1, rule.consecutiveUp)) healthy = true;
	return { healthy, upStreak, downStreak, changedAt: healthy === state.healthy ? state.changedAt : now };
}
