/**
 * Where counters live: one counter object per load balancer, named by `shardKeyFor`; lease ids
 * name the object that issued them, so a release finds its way back; replicas carry a mark that
 * only grows. The authority ("global") holds configuration and health and routes nothing.
 *
 * Pure: no `cloudflare:*` imports, time passed in.
 */

import type { CounterScope } from "../config/schema";
import type { ShardCounters } from "../contract/counters";
import type { OutcomeRecord } from "../contract/outcome";
import type { ReplicaMark } from "../contract/replica";
import { LOCAL_COLO, type OtherShard, type RoutePlan, type ShardRouteRequest } from "../contract/route";
import { toNoLoadBalancer } from "./plan";
import { findLoadBalancer, type Snapshot } from "./snapshot";
export const HUB_KEY_PREFIX = "colo:";

/** The hub of a data center: one per colo, created by that colo's traffic. */
export function hubKeyFor(colo: string): string {
	return `${HUB_KEY_PREFIX}${colo}`;
}

/** The name of the authority object. */
export const AUTHORITY = "global";

/** The global-scope counter object of a load balancer: one for the world. */
export function shardKeyFor(loadBalancerName: string): string {
	return `lb:${loadBalancerName}`;
}

/**
 * The counter object that plans (colo and global scope) or hears the outcomes of (isolate scope) a
 * load balancer's requests from data center `colo`: `lb:<name>@<colo>`, or `lb:<name>` for the
 * global scope. Load balancer names never contain "@".
 */
export function counterKeyFor(
	lb: { readonly name: string; readonly counter_scope: CounterScope },
	colo: string,
): string {
	return lb.counter_scope === "global" ? shardKeyFor(lb.name) : `${shardKeyFor(lb.name)}@${colo}`;
}

/** Which counter object plans for `hostname` from data center `colo`, at the authority's `state`. */
export function toOtherShard(
	snapshot: Snapshot,
	hostname: string,
	colo: string,
	state: number,
): OtherShard | RoutePlan {
	const lb = findLoadBalancer(snapshot, hostname);
	if (!lb) return toNoLoadBalancer(hostname);
	return { ok: false, problem: "other_shard", loadBalancer: lb.name, shard: counterKeyFor(lb, colo), state };
}

/** What a counter object's key says: its load balancer, scope and data center (null for the global scope). */
export function fromCounterKey(key: string): { loadBalancer: string; colo: string | null } {
	const name = key.slice("lb:".length);
	const at = name.lastIndexOf("@");
	return at === -1 ? { loadBalancer: name, colo: null } : { loadBalancer: name.slice(0, at), colo: name.slice(at + 1) };
}

/** Separates the shard key from the rest of a lease id; load balancer names never contain it. */
const LEASE_SEPARATOR = "~";

/** The prefix of a shard's lease ids: each lease names the shard that issued it, so its release finds it. */
export function toLeasePrefix(shardKey: string, instance: string): string {
	return `${shardKey}${LEASE_SEPARATOR}${instance}`;
}

/** Isolates plan in the isolate scope with leases of their own, marked so the counter object knows them. */
const ISOLATE_MARK = "iso-";

/** The lease-id instance of an isolate planning by itself (`id`: random per isolate). */
export function isolateLeaseInstance(id: string): string {
	return `${ISOLATE_MARK}${id}`;
}

/** Whether an isolate planning by itself issued the lease (so the counter object that hears of it did not). */
export function isIsolateLease(leaseId: string): boolean {
	return leaseId.startsWith(ISOLATE_MARK, leaseId.lastIndexOf(LEASE_SEPARATOR) + 1);
}

/** The shard shardOfLease found last. */
let lastShard = AUTHORITY;

/** The shard that issued a lease; the authority for leases that name none (issued before shards). */
export function shardOfLease(leaseId: string): string {
	const at = leaseId.lastIndexOf(LEASE_SEPARATOR);
	if (at === -1) return AUTHORITY;
	// An isolate's leases mostly name one object: the same string again, whose hash every map
	// looking it up knows already (a new one is hashed afresh by each).
	if (at === lastShard.length && leaseId.startsWith(lastShard)) return lastShard;
	lastShard = leaseId.slice(0, at);
	return lastShard;
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

/**
 * Whether an object answering a first try for `lb` should send the Worker on: only when the load
 * balancer's counters for the request's data center live in another object.
 */
export function isForOtherShard(
	request: ShardRouteRequest,
	objectShard: string,
	lb: { readonly name: string; readonly counter_scope: CounterScope },
): boolean {
	return request.shardTry === 1 && counterKeyFor(lb, request.colo ?? LOCAL_COLO) !== objectShard;
}

/**
 * Whether `copy` should replace the one marked `held`. `state` only grows (it starts from the clock
 * when the authority starts), so an older copy arriving late (a push overtaken by a pull) is ignored.
 */
export function isNewerReplica(copy: ReplicaMark, held: ReplicaMark | undefined): boolean {
	if (!held) return true;
	return copy.state > held.state || (copy.state === held.state && copy.checks > held.checks);
}

/** A shard asks the authority whether its copy is current at most this often (a push may be lost). */
export const REVALIDATE_MS = 5_000;

export function isDueForRevalidation(validatedAt: number, now: number): boolean {
	return now - validatedAt >= REVALIDATE_MS;
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
