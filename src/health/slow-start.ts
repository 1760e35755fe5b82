/**
 * Slow start: an origin that just became healthy (or was just added) takes a growing share of new
 * requests — from about 10% of its weight to all of it over slow_start_s — so a cold origin is not
 * flooded. Applied as "thinning": while warming, the origin is left out of a pick with probability
 * 1 − factor, which every policy honours without knowing about it (round robin included). Not for
 * `hash`, whose point is that a client keeps its origin. Pure.
 * Reference: Envoy's slow start mode, https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/slow_start
 */

export const SLOW_START_FLOOR = 0.1;

/** The share of its weight an origin healthy since `since` gets at `now`: 0.1 → 1 over `slowStartS`. */
export function toSlowStartFactor(since: number | undefined, now: number, slowStartS: number): number {
	if (since === undefined || slowStartS <= 0) return 1;
	const elapsedS = (now - since) / 1000;
	if (elapsedS >= slowStartS) return 1;
	return Math.max(SLOW_START_FLOOR, SLOW_START_FLOOR + (1 - SLOW_START_FLOOR) * (elapsedS / slowStartS));
}
