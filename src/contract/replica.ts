/**
 * The replica: the part of the authority's state that planning needs (configuration, health,
 * drains, ejections, slow starts), as counter objects and Worker isolates hold it. One type, one
 * way to fetch it (`Registry.replica`), pushed to counter objects as it changes.
 */
import type { DiscoveredOrigin } from "./discovery";

export interface Replica {
	/** The authority's state: moves on every change of configuration, health, drains or ejections. */
	readonly state: number;
	/** Moves with every round of health checks: RTT averages change without a transition. */
	readonly checks: number;
	/** Left out when the holder has this `state` already: the configuration never changes without it moving. */
	readonly configJson?: string;
	readonly version: number;
	/** Origins found at run time (registered, DNS SRV): sent with the configuration, part of the pools. */
	readonly discovered?: readonly DiscoveredOrigin[];
	/** Origins of monitored pools that have been checked or loaded: up or down, since when, RTT average. */
	readonly health: readonly { key: string; healthy: boolean; changedAt: number; rttEwmaMs?: number }[];
	/** When an origin last became healthy or was added: the start of its slow start. */
	readonly healthySince: readonly { key: string; since: number }[];
	readonly drains: readonly { key: string; since: number }[];
	/** Passive-health ejections in force (reported by any counter object), until when. */
	readonly ejections: readonly { key: string; until: number }[];
	/**
	 * The session affinity cookie keys the authority generated (when no AFFINITY_SECRET is set):
	 * the current one first (it seals), then earlier ones that still open cookies until `until`.
	 * Secret: carried only between the objects and the Worker isolates, never in an admin response,
	 * an event or a log line.
	 */
	readonly affinityKeys?: readonly AffinitySecret[];
}

/** One generated affinity key: 32 random bytes, base64url. */
export interface AffinitySecret {
	readonly secret: string;
	/** An earlier key opens cookies until then (ms since the epoch); the current key has none. */
	readonly until?: number;
}

/** The keys still of use at `now`: the current one, and earlier ones until their time is up. */
export function liveSecrets(keys: readonly AffinitySecret[], now: number): AffinitySecret[] {
	return keys.filter((key) => key.until === undefined || key.until > now);
}

/** Where a replica stands: the authority's `state` and `checks` it was taken at. */
export interface ReplicaMark {
	readonly state: number;
	readonly checks: number;
}
