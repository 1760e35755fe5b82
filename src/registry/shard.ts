/**
 * Counter shards. One object, the authority ("global"), owns configuration, active health, drains,
 * events, the audit log and alarms. The routing counters (in-flight leases, policy cursors,
 * latency EWMAs, passive health) live in counter shards: objects of the same class, addressed by
 * a shard key, that answer `route` and `release` from a copy of the authority's state. One
 * object serialises its calls, so splitting the counters is what lifts the ceiling; the policies
 * do not notice, because they are pure functions of a snapshot plus counters.
 *
 * Pure: no `cloudflare:*` imports, time passed in.
 */
import type { OutcomeRecord } from "../proxy/outcome";
import type { RouteRequest } from "../proxy/proxy";

/** The name of the authority object. */
export const AUTHORITY = "global";

/**
 * The shard that keeps the counters of a load balancer: one per load balancer. Splitting further
 * (per colo, say) changes only this function: the Worker passes the visitor's colo, unused today.
 */
export function shardKeyFor(loadBalancerName: string, _colo?: string): string {
	return `lb:${loadBalancerName}`;
}

/** An object's role, from the name it was addressed by (ctx.id.name; none for ids not made from a name). */
export function isAuthority(objectName: string | undefined): boolean {
	return objectName === undefined || objectName === AUTHORITY;
}

/** Separates the shard key from the rest of a lease id; load balancer names never contain it. */
const LEASE_SEPARATOR = "~";

/** The prefix of a shard's lease ids: each lease names the shard that issued it, so its release finds it. */
export function toLeasePrefix(shardKey: string, instance: string): string {
	return `${shardKey}${LEASE_SEPARATOR}${instance}`;
}

/** The shard that issued a lease; the authority for leases that name none (issued before shards). */
export function shardOfLease(leaseId: string): string {
	const at = leaseId.lastIndexOf(LEASE_SEPARATOR);
	return at === -1 ? AUTHORITY : leaseId.slice(0, at);
}

/** Outcome records grouped by the shard that issued their leases, in order: one release call per shard. */
export function groupByShard(records: readonly OutcomeRecord[]): Map<string, OutcomeRecord[]> {
	const groups = new Map<string, OutcomeRecord[]>();
	for (const record of records) {
		const key = shardOfLease(record.leaseId);
		const group = groups.get(key);
		if (group) group.push(record);
		else groups.set(key, [record]);
	}
	return groups;
}

/** A route request as Workers that know about shards send it. */
export interface ShardRouteRequest extends RouteRequest {
	/**
	 * 1: the Worker chose this object from its own copy, which may be stale; an object whose copy
	 * resolves the hostname to another shard answers `OtherShard` instead of planning, so counters
	 * stay in the right shard. 2: the Worker was sent here by such an answer; plan regardless.
	 * Absent (Workers from before shards): plan regardless.
	 */
	readonly shardTry?: 1 | 2;
}

/** "Ask that shard": the hostname belongs to another load balancer than the Worker's copy said. */
export interface OtherShard {
	readonly ok: false;
	readonly problem: "other_shard";
	readonly loadBalancer: string;
	readonly shard: string;
	readonly state: number;
}

export function isOtherShard(reply: { readonly ok: boolean; readonly problem?: string }): reply is OtherShard {
	return !reply.ok && reply.problem === "other_shard";
}

/**
 * Whether an object answering a first try for `loadBalancer` should send the Worker on: only when
 * the load balancer's counters live in another shard (the authority keeps none).
 */
export function isForOtherShard(request: ShardRouteRequest, objectShard: string, loadBalancer: string): boolean {
	return request.shardTry === 1 && shardKeyFor(loadBalancer) !== objectShard;
}

/** What a counter shard needs of the authority's state to route like it. */
export interface ShardCopy {
	/** The authority's state: moves on every change of configuration, health, drains or ejections. */
	readonly state: number;
	/** Moves with every round of health checks: RTT averages change without a transition. */
	readonly checks: number;
	/** Left out when the shard holds this `state` already: the configuration never changes without it moving. */
	readonly configJson?: string;
	readonly version: number;
	/** Origins of monitored pools that have been checked or loaded: up or down, since when, RTT average. */
	readonly health: readonly { key: string; healthy: boolean; changedAt: number; rttEwmaMs?: number }[];
	/** When an origin last became healthy or was added: the start of its slow start. */
	readonly healthySince: readonly { key: string; since: number }[];
	readonly drains: readonly { key: string; since: number }[];
	/** Passive-health ejections in force (reported by any shard), until when. */
	readonly ejections: readonly { key: string; until: number }[];
}

/** Where a copy stands: the authority's `state` and `checks` it was taken at. */
export interface CopyMark {
	readonly state: number;
	readonly checks: number;
}

/**
 * Whether `copy` should replace the one marked `held`. `state` only grows (it starts from the clock
 * when the authority starts), so an older copy arriving late (a push overtaken by a pull) is ignored.
 */
export function isNewerCopy(copy: CopyMark, held: CopyMark | undefined): boolean {
	if (!held) return true;
	return copy.state > held.state || (copy.state === held.state && copy.checks > held.checks);
}

/** An ejection a shard decided, as it tells the authority (which records the event and tells every shard). */
export interface ReportedEjection {
	readonly key: string;
	readonly until: number;
	readonly reason: string;
	/** When the shard ejected it. */
	readonly at: number;
}

/** A shard asks the authority whether its copy is current at most this often (a push may be lost). */
export const REVALIDATE_MS = 5_000;

export function isDueForRevalidation(validatedAt: number, now: number): boolean {
	return now - validatedAt >= REVALIDATE_MS;
}

/** A shard's counters as the authority's status shows them, per origin key. */
export interface ShardCounters {
	readonly inFlight: Record<string, number>;
	/** Failed requests in a row, as this shard counted them. */
	readonly passiveFailures: Record<string, number>;
	/** Ejections this shard honours, until when. */
	readonly ejectedUntil: Record<string, number>;
	/** Since the shard started: requests it planned, and the route calls they came in (fewer when shared). */
	readonly traffic?: { readonly routed: number; readonly routeCalls: number };
}

/**
 * The counters of several shards as one: requests in flight add up; for passive health, the shard
 * closest to ejecting an origin (most failures in a row) and the latest ejection are shown.
 */
export function mergeShardCounters(reports: readonly ShardCounters[]): ShardCounters {
	const inFlight: Record<string, number> = {};
	const passiveFailures: Record<string, number> = {};
	const ejectedUntil: Record<string, number> = {};
	for (const report of reports) {
		for (const [key, count] of Object.entries(report.inFlight)) inFlight[key] = (inFlight[key] ?? 0) + count;
		for (const [key, count] of Object.entries(report.passiveFailures))
			passiveFailures[key] = Math.max(passiveFailures[key] ?? 0, count);
		for (const [key, until] of Object.entries(report.ejectedUntil))
			ejectedUntil[key] = Math.max(ejectedUntil[key] ?? 0, until);
	}
	return { inFlight, passiveFailures, ejectedUntil };
}

/** The shards the authority pushes to and asks for counters: one per load balancer, each once. */
export function toShardKeys(loadBalancerNames: readonly string[]): Map<string, string[]> {
	const keys = new Map<string, string[]>();
	for (const name of loadBalancerNames) {
		const key = shardKeyFor(name);
		keys.set(key, [...(keys.get(key) ?? []), name]);
	}
	return keys;
}
