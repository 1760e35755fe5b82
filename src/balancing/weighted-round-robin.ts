/**
 * Smooth weighted round robin, exactly as nginx does it: on every pick each candidate's `current`
 * grows by its weight, the candidate with the largest `current` wins (the first on ties) and gives
 * back the total weight. Weights 5, 1, 1 give a, a, b, a, c, a, a: the heavy origin gets its share
 * without the bursts of plain weighted round robin (a, a, a, a, a, b, c).
 * Source: nginx's `ngx_http_upstream_get_peer`,
 * https://github.com/nginx/nginx/blob/master/src/http/ngx_http_upstream_round_robin.c, and the
 * `weight` parameter, https://nginx.org/en/docs/http/ngx_http_upstream_module.html#server
 *
 * State is keyed by candidate key, so origins joining or leaving the healthy set leave the others'
 * `current` untouched; an absent origin's value is frozen until it returns, as nginx skips a down
 * peer. Weights (0–1, or any positive number) are turned into whole micro-units so that the
 * arithmetic is exact and ties stay ties however many rounds have gone by.
 */
import type { OriginPolicy } from "./policy";

/** Weight resolution: 1 = 1,000,000 units; capped so sums stay exact integers. */
const UNITS = 1_000_000;
const MAX_UNITS = 1_000_000_000;

function toUnits(weight: number): number {
	if (!(weight > 0)) return 0;
	return Math.min(MAX_UNITS, Math.max(1, Math.round(weight * UNITS)));
}

export function weightedRoundRobin(): OriginPolicy {
	const currents = new Map<string, number>();
	return {
		name: "weighted_round_robin",
		pick(candidates) {
			let total = 0;
			let best: (typeof candidates)[number] | undefined;
			let bestCurrent = 0;
			for (const candidate of candidates) {
				const weight = toUnits(candidate.weight);
				if (weight === 0) continue;
				const current = (currents.get(candidate.key) ?? 0) + weight;
				currents.set(candidate.key, current);
				total += weight;
				if (best === undefined || current > bestCurrent) {
					best = candidate;
					bestCurrent = current;
				}
			}
			if (best === undefined) return undefined;
			currents.set(best.key, bestCurrent - total);
			return best;
		},
	};
}
