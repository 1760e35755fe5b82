/**
 * The account and zone ids in Cloudflare's API paths. Switchyard has one registry, so an id names
 * nothing of its own; when ACCOUNT_ID or ZONE_ID is set, a path naming another id answers 404, as
 * Cloudflare's API does for an account or zone the token cannot see. A load balancer made under a
 * zone keeps its `zone_id`; a zone's paths see its own load balancers and those with no zone.
 */
import { AdminError } from "./envelope";

export interface ScopeEnv {
	readonly ACCOUNT_ID?: string;
	readonly ZONE_ID?: string;
}

export function checkAccount(env: ScopeEnv, accountId: string): void {
	if (env.ACCOUNT_ID && env.ACCOUNT_ID !== accountId) {
		throw new AdminError(
			"not_found",
			`no account "${accountId}" here (this Switchyard serves account ${env.ACCOUNT_ID})`,
		);
	}
}

export function checkZone(env: ScopeEnv, zoneId: string): void {
	if (env.ZONE_ID && env.ZONE_ID !== zoneId) {
		throw new AdminError("not_found", `no zone "${zoneId}" here (this Switchyard serves zone ${env.ZONE_ID})`);
	}
}

/** Whether a zone's paths see a load balancer: one made under that zone, or under none. */
export function isInZone(lb: Record<string, unknown>, zoneId: string): boolean {
	return lb.zone_id === undefined || lb.zone_id === zoneId;
}
