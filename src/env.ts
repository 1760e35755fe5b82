import type { AuthorityRpc, CounterRpc, HubRpc, ProberRpc } from "./contract/rpc";

/** Bindings, vars and secrets, as wrangler.toml and .dev.vars declare them. */
export interface Env {
	/** The authority (one object, "global"): configuration, health, drains, events, the audit log. */
	readonly REGISTRY: DurableObjectNamespace<AuthorityRpc>;
	/** Counter objects, one per load balancer ("lb:<name>"): they plan requests and count them. */
	readonly COUNTERS: DurableObjectNamespace<CounterRpc>;
	/** Hubs, one per data center ("colo:<colo>"): the replica for that data center's isolates and counter objects. */
	readonly HUBS: DurableObjectNamespace<HubRpc>;
	/** Probe objects, one per region ("probe:<region>", placed by locationHint): health seen from several regions. */
	readonly PROBES: DurableObjectNamespace<ProberRpc>;
	/** Bearer token of the admin API (a secret). Without it the admin API refuses every call. */
	readonly ADMIN_TOKEN?: string;
	/** A second bearer token that may read config, status and events, but not change anything (a secret). */
	readonly ADMIN_READ_TOKEN?: string;
	/** A third bearer token that may only register and deregister origins (issue 22; a secret). */
	readonly REGISTRATION_TOKEN?: string;
	/** How the audit log names the admin token's changes ("admin:<name>"; default "admin"). */
	readonly ADMIN_TOKEN_NAME?: string;
	/** How the audit log names the read token ("read:<name>"; default "read"). */
	readonly ADMIN_READ_TOKEN_NAME?: string;
	/**
	 * The account id Cloudflare's API paths (/accounts/:account_id/load_balancers/…) must name; others
	 * answer 404. Unset: any account id is taken (there is one registry either way).
	 */
	readonly ACCOUNT_ID?: string;
	/** The zone id /zones/:zone_id/load_balancers must name; others answer 404. Unset: any zone id is taken. */
	readonly ZONE_ID?: string;
	/** Comma-separated hostnames on which /_lb/ answers. */
	readonly ADMIN_HOSTNAMES?: string;
	/**
	 * Seals session affinity cookies (a secret). Without it, a random key the authority generated and
	 * stores seals them (rotated with POST /_lb/api/affinity/rotate).
	 */
	readonly AFFINITY_SECRET?: string;
	/** The previous AFFINITY_SECRET while keys rotate: cookies it signed still verify. */
	readonly AFFINITY_SECRET_PREVIOUS?: string;
	/**
	 * Dev only: "true" lets x-switchyard-dev-{country,colo,region,continent,lat,lon} request headers
	 * stand in for request.cf (which is a placeholder under wrangler dev). Never set it in production.
	 */
	readonly DEV_GEO_HEADERS?: string;
	/**
	 * How long (ms, 0–100, default 5) a route request that finds a call to its counter object already
	 * out waits for it before its own batch goes; 0: every request its own call (src/edge/route-lanes.ts).
	 */
	readonly ROUTE_BATCH_WAIT_MS?: string;
	/**
	 * Workers Analytics Engine (optional; the [[analytics_engine_datasets]] block in wrangler.toml):
	 * one data point per proxied request, sampled by each load balancer's analytics_sample_rate.
	 */
	readonly ANALYTICS?: AnalyticsEngineDataset;
}
