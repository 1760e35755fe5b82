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
}

/** The one registry object. Later versions shard counters per colo without changing callers. */
export function getRegistry(env: Env): DurableObjectStub<Registry> {
	return env.REGISTRY.getByName("global");
}
