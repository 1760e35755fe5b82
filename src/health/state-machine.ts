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
	/**
	 * No check has spoken since the origin was added or its address, port or monitor changed. A
	 * pending origin takes traffic only when no checked origin of its pool can (fail open); its first
	 * result decides its health at once.
	 */
	readonly pending?: boolean;
}

export interface RiseFall {
	readonly consecutiveUp: number;
	readonly consecutiveDown: number;
}

/** Healthy, with no streak: where rise/fall starts (a pending origin's first result decides instead). */
export const UNCHECKED: HealthState = { healthy: true, upStreak: 0, downStreak: 0, changedAt: 0 };

/** An origin no check has spoken for yet, in a monitored pool: see `pending`. */
export const PENDING: HealthState = { ...UNCHECKED, pending: true };

export function applyCheck(state: HealthState, ok: boolean, rule: RiseFall, now: number): HealthState {
	// The first result since the origin's identity began decides: it was no state to rise or fall
	// from. A pending origin counted as healthy, so only a failure is a change of `healthy`.
	if (state.pending) {
		return { healthy: ok, upStreak: ok ? 1 : 0, downStreak: ok ? 0 : 1, changedAt: ok ? state.changedAt : now };
	}
	const upStreak = ok ? state.upStreak + 1 : 0;
	const downStreak = ok ? 0 : state.downStreak + 1;
	let healthy = state.healthy;
	if (healthy && downStreak >= Math.max(1, rule.consecutiveDown)) healthy = false;
	else if (!healthy && upStreak >= Math.max(1, rule.consecutiveUp)) healthy = true;
	return { healthy, upStreak, downStreak, changedAt: healthy === state.healthy ? state.changedAt : now };
}
