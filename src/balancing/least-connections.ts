/**
 * Least connections: the candidate with the fewest requests in flight per unit of weight wins, so
 * a slow origin, whose requests pile up, gets fewer new ones. Ties, including the common case of
 * every origin idle, are broken by a rotating cursor rather than list order, so an idle pool is
 * served a, b, c, a… instead of sending everything to the first origin.
 * Source: nginx's `least_conn`, https://nginx.org/en/docs/http/ngx_http_upstream_module.html#least_conn
 * Cloudflare calls the same idea `least_outstanding_requests`,
 * https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/origin-level-steering/least-outstanding-requests-origin-steering/
 * and both names run this implementation. Without an `inFlight` counter every origin counts as idle.
 */
import { type OriginPolicy, TIE } from "./policy";

function make(name: string): OriginPolicy {
	let cursor = 0;
	return {
		name,
		pick(candidates, { inFlight }) {
			const scores: number[] = [];
			let best = Number.POSITIVE_INFINITY;
			for (const candidate of candidates) {
				// NaN and negative counts are idle; a candidate without a positive weight is never picked.
				const load = Math.max(inFlight?.(candidate.key) || 0, 0);
				const score = candidate.weight > 0 ? load / candidate.weight : Number.NaN;
				scores.push(score);
				if (score < best) best = score;
			}
			const tied: number[] = [];
			scores.forEach((score, at) => {
				if (score <= best * (1 + TIE) || score === best) tied.push(at);
			});
			if (tied.length === 0) return undefined;
			const chosen = candidates[tied[cursor % tied.length] as number];
			cursor = (cursor + 1) % Number.MAX_SAFE_INTEGER;
			return chosen;
		},
	};
}

export function leastConnections(): OriginPolicy {
	return make("least_connections");
}

/** Cloudflare's name for least connections. */
export function leastOutstandingRequests(): OriginPolicy {
	return make("least_outstanding_requests");
}
