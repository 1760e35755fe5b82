/**
 * Weighted random: each candidate is chosen with probability weight / total weight. Cloudflare's
 * default origin steering policy, https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/origin-level-steering/
 */
import type { OriginPolicy } from "./policy";

export function weightedRandom(): OriginPolicy {
	return {
		name: "random",
		pick(candidates, { random }) {
			let total = 0;
			for (const candidate of candidates) total += candidate.weight;
			if (!(total > 0)) return undefined;
			let point = random() * total;
			for (const candidate of candidates) {
				point -= candidate.weight;
				if (point < 0) return candidate;
			}
			return candidates.at(-1);
		},
	};
}
