/**
 * A validated configuration compiled for routing: load balancers findable by hostname, pools
 * with their origins' parsed addresses. Built once per config version; pure, apart from a bounded
 * memo of which load balancer each hostname asked about resolves to.
 */
import { type OriginBase, toOriginBase } from "../config/origin-address";
import type { Config, LoadBalancer, Monitor, Pool } from "../config/schema";

export interface OriginEntry {
	/** "<pool id>/<origin name>": the key of health and counters. */
	readonly key: string;
	readonly pool: string;
	readonly name: string;
	readonly base: OriginBase;
	readonly enabled: boolean;
	readonly weight: number;
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
	/** findLoadBalancer's answers so far, by hostname as asked (at most MAX_REMEMBERED_HOSTS). */
	readonly hostLookups: Map<string, LoadBalancer | null>;
}

/** Hostnames whose load balancer a snapshot remembers; beyond this it forgets them all and starts again. */
export const MAX_REMEMBERED_HOSTS = 1024;

/** Pool ids cannot contain "/" (the schema says so), which keeps keys unambiguous. */
export function toOriginKey(poolId: string, originName: string): string {
	return `${poolId}/${originName}`;
}

export function poolOfKey(originKey: string): string {
	return originKey.slice(0, originKey.indexOf("/"));
}

/** Compiles a config that validateConfig accepted (addresses are known to parse). */
export function toSnapshot(config: Config, version: number): Snapshot {
	const monitors = new Map(config.monitors.map((monitor) => [monitor.id, monitor]));
	const pools = new Map<string, PoolEntry>();
	const originsByKey = new Map<string, OriginEntry>();
	for (const pool of config.pools) {
		// Cloudflare writes weights from 0 to 1; whole numbers (5, 1, 1) are scaled into that range.
		const maxWeight = Math.max(1, ...pool.origins.map((origin) => origin.weight));
		const origins = pool.origins.map((origin): OriginEntry => {
			const base = toOriginBase(origin.address, origin.port || undefined);
			if (typeof base === "string") throw new Error(`pool "${pool.id}": ${base}`);
			return {
				key: toOriginKey(pool.id, origin.name),
				pool: pool.id,
				name: origin.name,
				base,
				enabled: origin.enabled,
				weight: origin.weight / maxWeight,
			};
		});
		pools.set(pool.id, { pool, monitor: pool.monitor ? monitors.get(pool.monitor) : undefined, origins });
		for (const origin of origins) if (!originsByKey.has(origin.key)) originsByKey.set(origin.key, origin);
	}
	const loadBalancers = new Map(config.load_balancers.map((lb) => [lb.name, lb]));
	return { version, config, pools, loadBalancers, origins: originsByKey, hostLookups: new Map() };
}

/**
 * The load balancer answering `hostname`: an exact name first, then the most specific wildcard
 * ("*.example.com" answers "a.example.com" and "a.b.example.com"), then the catch-all "*".
 */
export function findLoadBalancer(snapshot: Snapshot, hostname: string): LoadBalancer | undefined {
	const remembered = snapshot.hostLookups.get(hostname);
	if (remembered !== undefined) return remembered ?? undefined;
	const found = lookUp(snapshot, hostname);
	if (snapshot.hostLookups.size >= MAX_REMEMBERED_HOSTS) snapshot.hostLookups.clear();
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
