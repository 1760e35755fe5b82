/**
 * `random`: spreads traffic over the healthy pools in proportion to `random_steering` weights
 * (`pool_weights[id]`, else `default_weight`, else 1). One pool is drawn by weight and tried first;
 * the other healthy pools follow in default order, for failover within the request. A pool of
 * weight 0 is never drawn unless every healthy pool weighs 0, when they are drawn alike.
 * Source: https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/steering-policies/standard-options/
 * Randomness comes from `input.random`; without it the draw is made at 0, i.e. the first pool
 * that weighs anything.
 */
import type { SteeringPolicy } from "./policy";

/** A usable weight: finite and positive, else 0. */
function toWeight(value?: number): number {
	return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

/** `random()` clamped into [0, 1); NaN counts as 0. */
function toUnit(value: number): number {
	return value > 0 ? Math.min(value, 1 - Number.EPSILON) : 0;
}

export const randomSteering: SteeringPolicy = {
	name: "random",
	order({ defaultPools, isHealthy, poolWeights, defaultWeight, random }) {
		const healthy = [...new Set(defaultPools)].filter(isHealthy);
		if (healthy.length < 2) return healthy;
		let weights = healthy.map((poolId) => toWeight(poolWeights?.[poolId] ?? defaultWeight ?? 1));
		let total = weights.reduce((sum, weight) => sum + weight, 0);
		if (total === 0) {
			weights = healthy.map(() => 1);
			total = healthy.length;
		}
		let point = toUnit(random?.() ?? 0) * total;
		let drawn = healthy.length - 1;
		for (let i = 0; i < healthy.length; i++) {
			const weight = weights[i] ?? 0;
			if (weight > 0 && point < weight) {
				drawn = i;
				break;
			}
			point -= weight;
		}
		// Rounding can leave the point just past the end: take the last pool with weight instead.
		while (drawn > 0 && (weights[drawn] ?? 0) === 0) drawn--;
		const first = healthy[drawn] as string;
		return [first, ...healthy.filter((poolId) => poolId !== first)];
	},
};
