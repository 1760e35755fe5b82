/**
 * Origins a pool finds at run time rather than in its configuration (issue 22): ones that register
 * themselves with a lease, and ones a DNS SRV lookup returns. The authority holds them beside the
 * configuration, like drains: they are never written into the document, and they travel in the
 * replica so every planner builds the same pools.
 */

export type DiscoverySource = "registration" | "dns";

export interface DiscoveredOrigin {
	readonly pool: string;
	readonly name: string;
	/** A hostname, an IP address or an absolute http(s) URL, as a configured origin's `address`. */
	readonly address: string;
	readonly port?: number;
	/** As a configured origin's weight: 0–1, or a whole number scaled with the pool's others. */
	readonly weight: number;
	readonly source: DiscoverySource;
	/**
	 * Failover tier (DNS SRV priority): 0 for the lowest priority value, 1 for the next, and so on.
	 * A tier takes traffic only while no origin of a lower tier can. Absent: 0.
	 */
	readonly tier?: number;
}

/** One registration as the admin API answers it. */
export interface RegistrationView {
	readonly pool: string;
	readonly name: string;
	readonly address: string;
	readonly port: number | null;
	readonly weight: number;
	readonly ttl_s: number;
	readonly registered_at: string;
	readonly expires_at: string;
}

export type RegistrationResult =
	| { readonly ok: true; readonly created: boolean; readonly registration: RegistrationView }
	| { readonly ok: false; readonly status: 400 | 403 | 404 | 409; readonly message: string; readonly field?: string };
