import type { Registry } from "./registry/registry";

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
}

/** The one registry object. Later versions shard counters per colo without changing callers. */
export function getRegistry(env: Env): DurableObjectStub<Registry> {
	return env.REGISTRY.getByName("global");
}
