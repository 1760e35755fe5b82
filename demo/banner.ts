/**
 * What the demo's banner says about its origins, from the admin API's /status: each origin of the
 * demo pool with its state (healthy, unhealthy and why, pending, draining, ejected, disabled), so a
 * demo restarted on persisted state shows a drain it still holds. Pure.
 */

/** The fields of a /status origin the banner reads. */
export interface BannerOrigin {
	readonly name: string;
	readonly enabled: boolean;
	readonly healthy: boolean;
	readonly pending?: boolean;
	readonly draining: boolean;
	readonly draining_since: string | null;
	readonly ejected_until: string | null;
	readonly last_error: string | null;
}

/** One origin's state in a few words: "healthy", "draining since …", "unhealthy: status 503, …". */
export function toOriginState(origin: BannerOrigin): string {
	const states: string[] = [];
	if (!origin.enabled) states.push("disabled");
	if (origin.draining) states.push(`draining since ${origin.draining_since ?? "?"} (…/enable ends it)`);
	if (origin.ejected_until) states.push(`ejected until ${origin.ejected_until}`);
	else if (origin.pending) states.push("not checked yet");
	else if (!origin.healthy) states.push(`unhealthy: ${origin.last_error ?? "failed its check"}`);
	return states.length > 0 ? states.join(", ") : "healthy";
}

/** How many of the origins take no new traffic, and which, for the banner's first line; "" when none. */
export function toOriginSummary(origins: readonly BannerOrigin[]): string {
	const out = origins.filter((origin) => toOriginState(origin) !== "healthy");
	if (out.length === 0) return "";
	return ` — ${out.length} of ${origins.length} not taking new traffic: ${out.map((origin) => origin.name).join(", ")}`;
}
