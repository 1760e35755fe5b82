/**
 * Routing as a pure function: load balancer by hostname → pools in steering order (unhealthy ones
 * skipped, the fallback pool regardless of health when none is left; pools whose load shedding
 * sheds the request skipped too) → origins of the chosen pool in the order to try them. Counter objects (routing/counter.ts) and the Worker's fail-open planner
 * call it with their health and policy counters; nothing here does I/O.
 */

import { murmur3 } from "../balancing/hash";
import type { OriginPolicy, PickContext } from "../balancing/policy";
import { toAttemptOrder } from "../balancing/policy";
import { type LoadBalancer, POOL_MAP_FIELDS } from "../config/schema";
import type { Attempt, Pin, RoutePlan, ShardRouteRequest } from "../contract/route";
import { getSteeringPolicy } from "../steering";
import { applyLoadShedding, isShed, type ShedInput } from "../steering/load-shedding";
import { type SteeringInput, toPoolPlan } from "../steering/policy";
import { findLoadBalancer, type OriginEntry, type PoolEntry, type Snapshot } from "./snapshot";

export interface PlanContext extends PickContext {
	readonly isHealthy: (originKey: string) => boolean;
	/** Draining origins take no new requests (they finish what they have). None when absent. */
	readonly isDraining?: (originKey: string) => boolean;
	readonly policyFor: (poolId: string) => OriginPolicy;
	/** Slow start: the share (0.1–1) of new requests an origin warming up may take; 1 when absent. */
	readonly warmth?: (originKey: string) => number;
	/** Told of each pool load shedding steered this request away from (counters for /status). */
	readonly noteShed?: (poolId: string) => void;
}

const NOT_DRAINING = () => false;

/** Steering policies that read the visitor's location (dynamic_latency: its colo). */
const LOCATION_POLICIES = new Set(["geo", "proximity", "dynamic_latency"]);

/** Origins that can take new traffic at all: enabled, not draining, in an enabled pool, with a weight above zero. */
function usableOrigins(entry: PoolEntry, isDraining: (key: string) => boolean): OriginEntry[] {
	const usable: OriginEntry[] = [];
	if (!entry.pool.enabled) return usable;
	// Loops, not filter: every plan runs these, and a builtin calling a callback per origin costs
	// several times the loop (bench:instructions).
	for (const origin of entry.origins) if (isUsable(origin, isDraining)) usable.push(origin);
	return usable;
}

function isUsable(origin: OriginEntry, isDraining: (key: string) => boolean): boolean {
	return origin.enabled && origin.weight > 0 && !isDraining(origin.key);
}

/** The usable origins that are healthy. */
function healthyOf(usable: readonly OriginEntry[], isHealthy: (key: string) => boolean): OriginEntry[] {
	const healthy: OriginEntry[] = [];
	for (const origin of usable) if (isHealthy(origin.key)) healthy.push(origin);
	return healthy;
}

/**
 * DNS SRV priorities (RFC 2782): of these origins, only those of the lowest failover tier present;
 * the others are its failover. Configured origins are all tier 0, so this returns its input.
 */
export function toLowestTier(origins: OriginEntry[]): OriginEntry[] {
	let lowest = Number.POSITIVE_INFINITY;
	let mixed = false;
	for (const origin of origins) {
		const tier = origin.tier ?? 0;
		if (lowest !== Number.POSITIVE_INFINITY && tier !== lowest) mixed = true;
		if (tier < lowest) lowest = tier;
	}
	return mixed ? origins.filter((origin) => (origin.tier ?? 0) === lowest) : origins;
}

export function isPoolHealthy(
	entry: PoolEntry | undefined,
	isHealthy: (key: string) => boolean,
	isDraining: (key: string) => boolean = NOT_DRAINING,
): boolean {
	if (!entry?.pool.enabled) return false;
	let healthy = 0;
	for (const origin of entry.origins) if (isUsable(origin, isDraining) && isHealthy(origin.key)) healthy++;
	return healthy > 0 && healthy >= entry.pool.minimum_origins;
}

/**
 * Slow start as thinning: an origin warming up is left out of this pick with probability
 * 1 − warmth, so every policy gives it about its share without knowing. Only while some origin of
 * the pool is warm (a pool that is new as a whole has nobody to shield); not for `hash`, whose
 * clients must keep their origin; never leaves the pick without candidates.
 */
function thinForSlowStart(candidates: OriginEntry[], policy: OriginPolicy, ctx: PlanContext): OriginEntry[] {
	const warmth = ctx.warmth;
	if (!warmth || policy.name === "hash") return candidates;
	// Only beside origins that are warm already: when the whole pool is new, nobody is flooded.
	if (!candidates.some((origin) => warmth(origin.key) >= 1)) return candidates;
	const thinned = candidates.filter((origin) => {
		const share = warmth(origin.key);
		return share >= 1 || ctx.random() < share;
	});
	return thinned.length > 0 ? thinned : candidates;
}

export interface AffinityContext {
	readonly pin?: Pin;
	/** What affinity hashes when there is no (honoured) pin: header values or the client's IP. */
	readonly key?: string;
	/** Draining origins still take pinned requests until this long after their drain began. */
	readonly drainingSince?: (originKey: string) => number | undefined;
	readonly hashPolicyFor?: (poolId: string) => OriginPolicy;
}

export function toAttempt(origin: OriginEntry): Attempt {
	return { key: origin.key, pool: origin.pool, origin: origin.name, base: origin.base };
}

/** The answer for a hostname no load balancer answers (the Worker gives it without asking a shard, too). */
export function toNoLoadBalancer(hostname: string): RoutePlan {
	return { ok: false, problem: "no_load_balancer", detail: `no load balancer answers the host "${hostname}"` };
}

/** What steering reads besides the load balancer's own settings: the visitor's location, the pools' facts. */
export type SteeringContext = Omit<SteeringInput, "defaultPools" | "fallbackPool" | "isHealthy">;

export function planRoute(
	snapshot: Snapshot,
	hostname: string,
	ctx: PlanContext & {
		steering?: SteeringContext;
		affinity?: AffinityContext;
	},
	/** The load balancer `hostname` resolves to, when the caller has looked it up already. */
	lb: LoadBalancer | undefined = findLoadBalancer(snapshot, hostname),
): RoutePlan {
	if (!lb) return toNoLoadBalancer(hostname);
	if (!lb.enabled) {
		return {
			ok: false,
			problem: "load_balancer_disabled",
			loadBalancer: lb.name,
			detail: `load balancer "${lb.name}" is disabled`,
		};
	}
	const fallbackPool = lb.fallback_pool ?? (lb.default_pools.at(-1) as string);
	const isDraining = ctx.isDraining ?? NOT_DRAINING;
	// Every field named, none spread in: one shape for every plan (see CounterCore.context).
	const steered = toPoolPlan(getSteeringPolicy(lb.steering_policy), {
		location: ctx.steering?.location,
		facts: ctx.steering?.facts,
		defaultPools: lb.default_pools,
		fallbackPool,
		isHealthy: (poolId) => isPoolHealthy(snapshot.pools.get(poolId), ctx.isHealthy, isDraining),
		regionPools: lb.region_pools,
		countryPools: lb.country_pools,
		popPools: lb.pop_pools,
		poolWeights: lb.random_steering?.pool_weights,
		defaultWeight: lb.random_steering?.default_weight,
		random: ctx.random,
	});
	const mode = lb.session_affinity;
	const affinity = mode === "none" ? undefined : ctx.affinity;

	// A valid pin wins while its origin is healthy (a draining one: only within drain_duration).
	let pinned = affinity?.pin ? findPinned(snapshot, lb, affinity, ctx) : undefined;
	let pools: readonly string[] = steered.pools;
	let fallback = steered.fallback;
	// Load shedding: the pinned pool may shed the session, then steering's pools new traffic, in
	// order; what every pool sheds goes to the fallback pool. Not when no pool is healthy.
	if (!fallback && snapshot.shedding) {
		const shedInput: ShedInput = {
			settingsOf: (poolId) => snapshot.pools.get(poolId)?.pool.load_shedding,
			random: ctx.random,
			hashKey: ctx.hashKey ?? affinity?.key,
			hash: murmur3,
		};
		if (pinned && isShed(pinned.pool, true, { ...shedInput, hashKey: shedInput.hashKey ?? pinned.key })) {
			ctx.noteShed?.(pinned.pool);
			const from = pinned.pool;
			pinned = undefined;
			pools = pools.filter((poolId) => poolId !== from);
		}
		if (!pinned) {
			const left = applyLoadShedding(pools, shedInput);
			for (const poolId of left.shed) ctx.noteShed?.(poolId);
			pools = left.pools.length > 0 ? left.pools : [fallbackPool];
			// The fallback pool takes what every pool shed: regardless of health only when it has none.
			if (left.pools.length === 0)
				fallback = !isPoolHealthy(snapshot.pools.get(fallbackPool), ctx.isHealthy, isDraining);
		}
	}
	const poolId = pinned?.pool ?? (pools[0] as string);
	const entry = snapshot.pools.get(poolId);
	const usable = entry ? usableOrigins(entry, isDraining) : [];
	const healthy = toLowestTier(healthyOf(usable, ctx.isHealthy));
	// In the fallback pool health is ignored when nothing in it is healthy (Cloudflare's rule).
	const candidates = healthy.length > 0 || !fallback ? healthy : usable;
	let ordered: OriginEntry[];
	if (pinned) {
		ordered = [pinned, ...candidates.filter((origin) => origin !== pinned)];
	} else {
		const byAffinity = affinity?.key !== undefined && affinity.hashPolicyFor !== undefined;
		const policy = byAffinity
			? (affinity.hashPolicyFor as (id: string) => OriginPolicy)(poolId)
			: ctx.policyFor(poolId);
		const pickContext = byAffinity ? { ...ctx, hashKey: affinity.key } : ctx;
		ordered = toAttemptOrder(candidates, policy.pick(thinForSlowStart(candidates, policy, ctx), pickContext));
	}
	if (ordered.length === 0) {
		return {
			ok: false,
			problem: "no_origin",
			loadBalancer: lb.name,
			pool: poolId,
			detail: `pool "${poolId}" has no enabled origin to send the request to`,
		};
	}
	const attempts = ordered.map(toAttempt);
	// Cloudflare's adaptive_routing.failover_across_pools: when every origin of the chosen pool
	// failed, the request may go on to the next pools in steering order.
	if (lb.adaptive_routing?.failover_across_pools) {
		for (const nextPool of pools) {
			if (nextPool === poolId) continue;
			const nextEntry = snapshot.pools.get(nextPool);
			if (!nextEntry) continue;
			for (const origin of usableOrigins(nextEntry, isDraining))
				if (ctx.isHealthy(origin.key)) attempts.push(toAttempt(origin));
		}
	}
	const attributes = lb.session_affinity_attributes;
	return {
		ok: true,
		loadBalancer: lb.name,
		pool: poolId,
		fallback,
		attempts,
		proxy: lb.proxy,
		needsLocation: LOCATION_POLICIES.has(lb.steering_policy),
		affinity:
			mode === "none"
				? undefined
				: {
						mode,
						ttlS: lb.session_affinity_ttl,
						samesite: attributes.samesite,
						secure: attributes.secure,
						zeroDowntimeFailover: attributes.zero_downtime_failover,
						pinned: pinned !== undefined,
						pinPresent: affinity?.pin !== undefined,
						headers: mode === "header" ? attributes.headers : [],
					},
	};
}

/** Every pool a load balancer may send traffic to. */
export function poolsOf(lb: LoadBalancer): Set<string> {
	const pools = new Set(lb.default_pools);
	if (lb.fallback_pool) pools.add(lb.fallback_pool);
	for (const field of POOL_MAP_FIELDS) {
		for (const list of Object.values(lb[field])) for (const poolId of list ?? []) pools.add(poolId);
	}
	return pools;
}

/** The pinned origin, when it may still take this request. */
function findPinned(
	snapshot: Snapshot,
	lb: LoadBalancer,
	affinity: AffinityContext,
	ctx: PlanContext,
): OriginEntry | undefined {
	const pin = affinity.pin as Pin;
	if (!poolsOf(lb).has(pin.pool)) return undefined;
	const entry = snapshot.pools.get(pin.pool);
	if (!entry?.pool.enabled) return undefined;
	const origin = entry.origins.find((candidate) => candidate.name === pin.origin);
	if (!origin?.enabled || origin.weight <= 0 || !ctx.isHealthy(origin.key)) return undefined;
	const since = affinity.drainingSince?.(origin.key);
	if (since !== undefined) {
		const drainMs = lb.session_affinity_attributes.drain_duration * 1000;
		if ((ctx.now ?? Date.now()) - since >= drainMs) return undefined;
	}
	return origin;
}

/** What affinity hashes for a request: header values (`header`), the client's IP (`ip_cookie`), else nothing. */
export function toAffinityKey(lb: LoadBalancer, request: ShardRouteRequest): string | undefined {
	if (lb.session_affinity === "ip_cookie") return request.clientIp;
	if (lb.session_affinity !== "header") return undefined;
	const attributes = lb.session_affinity_attributes;
	const values = attributes.headers.map((name) => request.headers?.[name.toLowerCase()]);
	const missing = values.filter((value) => value === undefined).length;
	if (attributes.require_all_headers ? missing > 0 : missing === values.length) return undefined;
	return values.map((value) => value ?? "").join("\u0000");
}
