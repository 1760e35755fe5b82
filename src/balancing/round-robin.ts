/**
 * Round robin: strict rotation over the healthy candidates, ignoring weights. The cursor advances
 * once per pick, so a candidate leaving or joining the set shifts the rotation by at most one
 * place rather than resetting it. Reference: nginx's default upstream method,
 * https://nginx.org/en/docs/http/ngx_http_upstream_module.html
 */
import type { OriginPolicy } from "./policy";

export function roundRobin(): OriginPolicy {
	let cursor = 0;
	return {
		name: "round_robin",
		pick(candidates) {
			if (candidates.length === 0) return undefined;
			const chosen = candidates[cursor % candidates.length];
			cursor = (cursor + 1) % Number.MAX_SAFE_INTEGER;
			return chosen;
		},
	};
}
