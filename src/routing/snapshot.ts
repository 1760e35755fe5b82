/**
 * A validated configuration compiled for routing: load balancers findable by hostname, pools
 * with their origins' parsed addresses. Built once per config version; pure, apart from a bounded
 * memo of which load balancer each hostname asked about resolves to.
 */
import { type OriginBase, toOriginBase } from "../config/origin-address";
import {
	type Config,
	type LoadBalancer,
	MONITOR_TYPES_RUN,
	type Monitor,
	type Origin,
	type Pool,
} from "../config/schema";
import type { DiscoveredOrigin, DiscoverySource } from "../contract/discovery";
import { BoundedMap } from "./bounded-map";

export interface OriginEntry {
	/** "<pool id>/<origin name>": the key of health and counters. */
	readonly key: string;
	readonly pool: string;
	readonly name: string;
	readonly base: OriginBase;
	readonly enabled: boolean;
	readonly weight: number;
	/**
	 * What its health is about: address, port and the pool's monitor. When it changes the origin is
	 * a new one to health (pending, probed at once), whatever its name; probes carry it, so a result
	 * about the old one is dropped.
	 */
	readonly identity: string;
	/** Found at run time (contract/discovery.ts), not configured: how, and its address as given. */
	readonly discovered?: DiscoverySource;
	readonly address?: string;
	/** Failover tier of a discovered origin (DNS SRV priority); absent: 0. */
	readonly tier?: number;
}

export interface PoolEntry {
	readonly pool: Pool;
	readonly monitor: Monitor | undefined;
	readonly origins: readonly OriginEntry[];
}

export interface Snapshot {
	readonly version: number;
	readonly config: Config;
	readonly pools: ReadonlyMap<string, PoolEntry>;
	readonly loadBalancers: ReadonlyMap<string, LoadBalancer>;
	/** Every origin by its key ("<pool>/<origin>"). */
	readonly origins: ReadonlyMap<string, OriginEntry>;
	/** findLoadBalancer's answers, by hostname as asked: the MAX_REMEMBERED_HOSTS used last. */
	readonly hostLookups: BoundedMap<string, LoadBalancer | null>;
	/** Some pool sheds load (load_shedding above 0): planning looks only then. */
	readonly shedding: boolean;
	/** Some enabled load balancer has rules: the Worker matches rules (and looks its load balancer up for them) only then. */
	readonly rules: boolean;
}

/**
 * Hostnames whose load balancer a snapshot remembers (anyone can send any Host, and a wildcard
 * answers them all); beyond this it forgets the one asked about least recently, which is looked up
 * again if it comes back: the memo only saves the wildcard search.
 */
export const MAX_REMEMBERED_HOSTS = 1024;

/** Pool ids cannot contain "/" (the schema says so), which keeps keys unambiguous. */
export function toOriginKey(poolId: string, originName: string): string {
	return `${poolId}/${originName}`;
}

/** An origin's identity to health: its address, port and its pool's monitor. */
export function toOriginIdentity(address: string, port: number | undefined, monitor: string | undefined): string {
	return JSON.stringify([address, port ?? 0, monitor ?? null]);
}

/** Origins in both snapshots whose identity changed (address, port or monitor): new origins to health. */
export function toRenewedOrigins(before: Snapshot, after: Snapshot): string[] {
	const renewed: string[] = [];
	for (const [key, origin] of after.origins) {
		const earlier = before.origins.get(key);
		if (earlier && earlier.identity !== origin.identity) renewed.push(key);
	}
	return renewed;
}

export function poolOfKey(originKey: string): string {
	return originKey.slice(0, originKey.indexOf("/"));
}

function isDiscovered(origin: Origin | DiscoveredOrigin): origin is DiscoveredOrigin {
	return "source" in origin;
}

/**
 * The discovered origins a pool takes: those of a source its `discovery` block turns on, whose
 * name no configured origin of the pool has (the configuration wins), each name once.
 */
export function toPoolDiscovered(pool: Pool, discovered: readonly DiscoveredOrigin[]): DiscoveredOrigin[] {
	const discovery = pool.discovery;
	if (!discovery || discovered.length === 0) return [];
	const names = new Set(pool.origins.map((origin) => origin.name));
	const taken: DiscoveredOrigin[] = [];
	for (const origin of discovered) {
		if (origin.pool !== pool.id || names.has(origin.name)) continue;
		const on = origin.source === "registration" ? discovery.self_registration : discovery.dns_srv !== undefined;
		if (!on || typeof toOriginBase(origin.address, origin.port) === "string") continue;
		names.add(origin.name);
		taken.push(origin);
	}
	return taken;
}

/**
 * Compiles a config that validateConfig accepted (addresses are known to parse), with the origins
 * discovered at run time appended to the pools that take them.
 */
export function toSnapshot(config: Config, version: number, discovered: readonly DiscoveredOrigin[] = []): Snapshot {
	const monitors = new Map(config.monitors.map((monitor) => [monitor.id, monitor]));
	const pools = new Map<string, PoolEntry>();
	const originsByKey = new Map<string, OriginEntry>();
	for (const pool of config.pools) {
		const found = toPoolDiscovered(pool, discovered);
		const members: readonly (Origin | DiscoveredOrigin)[] =
			found.length === 0 ? pool.origins : [...pool.origins, ...found];
		// Cloudflare writes weights from 0 to 1; whole numbers (5, 1, 1) are scaled into that range.
		const maxWeight = Math.max(1, ...members.map((origin) => origin.weight));
		const origins = members.map((origin): OriginEntry => {
			const base = toOriginBase(origin.address, origin.port || undefined);
			if (typeof base === "string") throw new Error(`pool "${pool.id}": ${base}`);
			return {
				key: toOriginKey(pool.id, origin.name),
				pool: pool.id,
				name: origin.name,
				base,
				enabled: isDiscovered(origin) || origin.enabled,
				weight: origin.weight / maxWeight,
				identity: toOriginIdentity(origin.address, origin.port, pool.monitor),
				...(isDiscovered(origin)
					? { discovered: origin.source, address: origin.address, ...(origin.tier ? { tier: origin.tier } : {}) }
					: {}),
			};
		});
		// A monitor of a type this build does not run checks nothing: the pool is as if unmonitored (validation says so).
		const monitor = pool.monitor ? monitors.get(pool.monitor) : undefined;
		const runnable = monitor && MONITOR_TYPES_RUN.includes(monitor.type) ? monitor : undefined;
		pools.set(pool.id, { pool, monitor: runnable, origins });
		for (const origin of origins) if (!originsByKey.has(origin.key)) originsByKey.set(origin.key, origin);
	}
	const loadBalancers = new Map(config.load_balancers.map((lb) => [lb.name, lb]));
	const hostLookups = new BoundedMap<string, LoadBalancer | null>(MAX_REMEMBERED_HOSTS);
	const shedding = config.pools.some(
		(pool) => (pool.load_shedding?.default_percent ?? 0) > 0 || (pool.load_shedding?.session_percent ?? 0) > 0,
	);
	const rules = config.load_balancers.some((lb) => lb.enabled && (lb.rules?.length ?? 0) > 0);
	return { version, config, pools, loadBalancers, origins: originsByKey, hostLookups, shedding, rules };
}

/**
 * The load balancer answering `hostname`: an exact name first, then the most specific wildcard
 * ("*.example.com" answers "a.example.com" and "a.b.example.com"), then the catch-all "*".
 */
export function findLoadBalancer(snapshot: Snapshot, hostname: string): LoadBalancer | undefined {
	const remembered = snapshot.hostLookups.get(hostname);
	if (remembered !== undefined) return remembered ?? undefined;
	const found = lookUp(snapshot, hostname);
	snapshot.hostLookups.set(hostname, found ?? null);
	return found;
}

function lookUp(snapshot: Snapshot, hostname: string): LoadBalancer | undefined {
	const host = hostname.toLowerCase().replace(/\.$/, "");
	const exact = snapshot.loadBalancers.get(host);
	if (exact) return exact;
	for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
		const wildcard = snapshot.loadBalancers.get(`*${host.slice(dot)}`);
		if (wildcard) return wildcard;
	}
	return snapshot.loadBalancers.get("*");
}
