/**
 * The account and zone ids in Cloudflare's API paths. Switchyard has one registry, so an id names
 * nothing of its own; when ACCOUNT_ID or ZONE_ID is set, a path naming another id answers 404, as
 * Cloudflare's API does for an account or zone the token cannot see. A load balancer made under a
 * zone keeps its `zone_id`; a zone's paths see its own load balancers and those with no zone.
 */
import { AdminError, ERROR_CODES } from "./envelope";

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

/**
 * A load balancer body's `zone_id`, on any write: 400 when it is not the zone of the path (`zone`,
 * on a zone's path) or, when ZONE_ID is set, not that zone. (On an update the stored zone_id stays
 * whatever the body says: config/operations.ts refuses a body naming another.)
 */
export function checkBodyZone(env: ScopeEnv, body: Record<string, unknown>, zone?: string, field = "zone_id"): void {
	const sent = body.zone_id;
	if (sent === undefined) return;
	const refuse = (message: string) => {
		throw new AdminError("invalid_request", `${field}: ${message}`, {
			errors: [{ code: ERROR_CODES.invalid_request, message: `${field}: ${message}`, field }],
		});
	};
	if (zone !== undefined && sent !== zone) {
		refuse(`${JSON.stringify(sent)} is not the zone of the path ("${zone}"); a load balancer cannot move zones`);
	}
	if (env.ZONE_ID && sent !== env.ZONE_ID) {
		refuse(`${JSON.stringify(sent)} is not this Switchyard's zone (ZONE_ID is "${env.ZONE_ID}")`);
	}
}
