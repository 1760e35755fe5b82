import type { Registry } from "./registry/registry";
import { AUTHORITY } from "./registry/shard";

/** Bindings, vars and secrets, as wrangler.toml and .dev.vars declare them. */
export interface Env {
	readonly REGISTRY: DurableObjectNamespace<Registry>;
	/** Bearer token of the admin API (a secret). Without it the admin API refuses every call. */
	readonly ADMIN_TOKEN?: string;
	/** A second bearer token that may read config, status and events, but not change anything (a secret). */
	readonly ADMIN_READ_TOKEN?: string;
	/** Comma-separated hostnames on which /_lb/ answers. */
	readonly ADMIN_HOSTNAMES?: string;
	/** Signs session affinity cookies (a secret). Without it, a key derived from ADMIN_TOKEN signs them. */
	readonly AFFINITY_SECRET?: string;
	/** The previous AFFINITY_SECRET while keys rotate: cookies it signed still verify. */
	readonly AFFINITY_SECRET_PREVIOUS?: string;
	/**
	 * Dev only: "true" lets x-switchyard-dev-{country,colo,region,continent,lat,lon} request headers
	 * stand in for request.cf (which is a placeholder under wrangler dev). Never set it in production.
	 */
	readonly DEV_GEO_HEADERS?: string;
	/**
	 * How long (ms, 0–100, default 5) a route request that finds a call to its shard already out
	 * waits for it before its own batch goes; 0: every request its own call (src/proxy/route-batch.ts).
	 */
	readonly ROUTE_BATCH_WAIT_MS?: string;
}

/**
 * The authority: the one registry object holding configuration, health, drains, events and the
 * audit log (admin API, cron, alarms, and the state copies Workers and shards take).
 *
 * Routing counters live elsewhere, in counter shards (`getShard`, src/registry/shard.ts): one
 * object per load balancer, keyed by `shardKeyFor(name)`, answering `route` and `release` from a
 * copy of the authority's state. That copy is eventually consistent: the authority pushes every
 * change of configuration, health, drains or ejections to each load balancer's shard as it
 * happens (admin writes and probe results return once the push is done, or after 1 s); a push
 * that is lost is made up for by the shard's own check, at most every 5 s while it serves
 * traffic. A shard with no copy (new, or evicted) pulls one before its first route.
 */
export function getRegistry(env: Env): DurableObjectStub<Registry> {
	return env.REGISTRY.getByName(AUTHORITY);
}

/** The counter shard named `shardKey` (or the authority, for leases issued before shards). */
export function getShard(env: Env, shardKey: string): DurableObjectStub<Registry> {
	return env.REGISTRY.getByName(shardKey);
}
