/**
 * The configuration model: monitors, pools and load balancers in the JSON shapes of Cloudflare's
 * Load Balancing API, with Cloudflare's defaults where it has one, plus Switchyard's own `proxy`
 * block. Objects are "loose": fields we do not know survive a round trip and are reported back
 * (see validate.ts) instead of being silently dropped.
 *
 * Reference: https://developers.cloudflare.com/api/resources/load_balancers/
 */
import { z } from "zod";
import { discoverySchema } from "./discovery";
import { headerValueSchema } from "./header-value-schema";
import { notificationSchema } from "./notification-schema";
import { CHECK_REGIONS, REGIONS } from "./regions";

/** Origin steering policies known to the model; src/balancing/ says which this build can run. */
export const ORIGIN_POLICIES = [
	"random",
	"hash",
	"least_outstanding_requests",
	"least_connections",
	"round_robin",
	"weighted_round_robin",
	"p2c",
	"ewma",
] as const;
export type OriginPolicyName = (typeof ORIGIN_POLICIES)[number];

/**
 * The origin policies this build runs: every one the model knows (src/balancing/index.ts has a
 * factory for each; its type says so). A policy added to the model but not yet written goes here
 * as a narrower list, and validation reports it.
 */
export const SUPPORTED_ORIGIN_POLICIES: readonly OriginPolicyName[] = ORIGIN_POLICIES;

/** Pool steering policies known to the model; src/steering/ says which this build can run. */
export const STEERING_POLICIES = [
	"off",
	"geo",
	"random",
	"dynamic_latency",
	"proximity",
	"least_outstanding_requests",
	"least_connections",
] as const;
export type SteeringPolicyName = (typeof STEERING_POLICIES)[number];

/** The pool steering policies this build runs: every one the model knows (src/steering/index.ts has one for each). */
export const SUPPORTED_STEERING_POLICIES: readonly SteeringPolicyName[] = STEERING_POLICIES;

/**
 * An optional field Cloudflare's API writes as null when unset (a pool's check_regions and
 * load_shedding, a load balancer's rules): null reads as absent.
 */
function absentWhenNull<T extends z.ZodType>(schema: T) {
	return schema.nullish().transform((value) => value ?? undefined);
}

const headerMap = z.record(z.string().min(1), z.array(z.string()));
/** "." and ".." are path segments a URL resolves away: an object so named could never be reached by its admin route. */
const notDotSegment = (value: string) => value !== "." && value !== "..";
const DOT_SEGMENT = '"." and ".." cannot name an object: a URL path cannot reach them';
const id = z
	.string()
	.trim()
	.min(1)
	.max(256)
	.regex(/^[^/\s]+$/, "an id without spaces or slashes")
	.refine(notDotSegment, DOT_SEGMENT);

/** The fields only the registry writes (config/identity.ts); diffs and the seed's content hash leave them out. */
export const READ_ONLY_FIELDS: readonly string[] = ["created_on", "modified_on"];

/**
 * When an object was created and last changed (ISO 8601), as Cloudflare's API shows them. Read-only:
 * the registry sets them (config/identity.ts) and ignores what a client sends.
 */
const timestamps = {
	created_on: z.string().optional(),
	modified_on: z.string().optional(),
};

/** A load balancer's id, as Cloudflare makes them: 32 hexadecimal characters. */
export const LOAD_BALANCER_ID = /^[0-9a-f]{32}$/;

/** Cloudflare's monitor types. */
export const MONITOR_TYPES = ["http", "https", "tcp", "udp_icmp", "icmp_ping", "smtp"] as const;
export type MonitorType = (typeof MONITOR_TYPES)[number];
/** The monitor types this build runs; a pool whose monitor has another type is not checked (validation says so). */
export const MONITOR_TYPES_RUN: readonly MonitorType[] = ["http", "https", "tcp"];

export const monitorSchema = z.looseObject({
	id,
	...timestamps,
	description: z.string().optional(),
	/** http, https and tcp are run; Cloudflare's udp_icmp, icmp_ping and smtp are kept and reported (MONITOR_TYPES_RUN). */
	type: z.enum(MONITOR_TYPES).default("http"),
	/** GET or HEAD for HTTP(S); Cloudflare writes "connection_established" for TCP, which ignores it. */
	method: z.enum(["GET", "HEAD", "connection_established"]).default("GET"),
	path: z.string().startsWith("/").default("/"),
	header: headerMap.default({}),
	/** 0 means the default port of `type`, or the origin's own port. */
	port: z.number().int().min(0).max(65535).default(0),
	/** Seconds to wait for the check's response. */
	timeout: z.number().int().min(1).max(10).default(5),
	/** Seconds between checks. The cron trigger fires once a minute. */
	interval: z.number().int().min(5).max(3600).default(60),
	/** Extra attempts within one check before it counts as failed. */
	retries: z.number().int().min(0).max(5).default(2),
	expected_codes: z
		.string()
		.regex(/^\s*[1-5](\d\d|xx)(\s*,\s*[1-5](\d\d|xx))*\s*$/, 'codes like "200", "2xx" or "200,204"')
		.default("200"),
	expected_body: z.string().default(""),
	follow_redirects: z.boolean().default(false),
	allow_insecure: z.boolean().default(false),
	/** Checks in a row to become healthy; 0 behaves as 1 (Cloudflare's default). */
	consecutive_up: z.number().int().min(0).max(100).default(0),
	/** Checks in a row to become unhealthy; 0 behaves as 1 (Cloudflare's default). */
	consecutive_down: z.number().int().min(0).max(100).default(0),
});

export const originSchema = z.looseObject({
	name: z.string().trim().min(1).max(256).refine(notDotSegment, DOT_SEGMENT),
	/** A hostname or IP address (Cloudflare), or an absolute http(s) URL (Switchyard). */
	address: z.string().trim().min(1),
	port: z.number().int().min(0).max(65535).optional(),
	enabled: z.boolean().default(true),
	/** 0–1 as Cloudflare writes it; whole numbers (5, 1, 1) are accepted too and normalised per pool. */
	weight: z
		.number()
		.min(0)
		.max(10_000)
		.refine((weight) => weight <= 1 || Number.isInteger(weight), "a weight from 0 to 1, or a whole number")
		.default(1),
	header: z.looseObject({ Host: z.array(z.string().min(1)).max(1).optional() }).optional(),
});

/** The load shedding policies Cloudflare has: random requests, or a share of client IP hashes. */
export const SHED_POLICIES = ["random", "hash"] as const;

/**
 * Cloudflare's load shedding: steer a share of a pool's traffic on to the next pool in steering
 * order (src/steering/load-shedding.ts). `default_*` is for requests without a session to keep,
 * `session_*` for requests a session affinity pin would send to this pool.
 */
export const loadSheddingSchema = z.looseObject({
	default_percent: z.number().min(0).max(100).default(0),
	default_policy: z.enum(SHED_POLICIES).default("random"),
	session_percent: z.number().min(0).max(100).default(0),
	/** Only `hash` (Cloudflare: sessions shed at random would decay exponentially). */
	session_policy: z.enum(["hash"]).default("hash"),
});

export const poolSchema = z.looseObject({
	id,
	...timestamps,
	name: z.string().trim().min(1).max(256),
	description: z.string().optional(),
	enabled: z.boolean().default(true),
	minimum_origins: z.number().int().min(1).default(1),
	monitor: id.optional(),
	latitude: z.number().min(-90).max(90).optional(),
	longitude: z.number().min(-180).max(180).optional(),
	origin_steering: z.looseObject({ policy: z.enum(ORIGIN_POLICIES).default("random") }).default({ policy: "random" }),
	/** Regions whose probe objects check the origins (src/health/regions.ts); none: the authority checks them. */
	check_regions: absentWhenNull(z.array(z.enum(CHECK_REGIONS))),
	load_shedding: absentWhenNull(loadSheddingSchema),
	origins: z.array(originSchema),
	/** Switchyard's own: origins found at run time, by self-registration or DNS SRV (config/discovery.ts). */
	discovery: discoverySchema.optional(),
});

/** Where a load balancer's requests are planned and counted. */
export const COUNTER_SCOPES = ["colo", "global", "isolate"] as const;
export type CounterScope = (typeof COUNTER_SCOPES)[number];

/** Retry triggers: a refused or reset connection, our response-header deadline, or these origin statuses. */
export const RETRY_ON = ["connect_failure", "timeout", "502", "503", "504"] as const;

/** Switchyard's own proxy settings, one per load balancer. */
export const proxySchema = z.strictObject({
	/** Deadline for an origin's response headers; 504 when it passes. */
	timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
	/** Longest pause between two chunks of a body before the stream is cut; 0 turns it off. */
	idle_timeout_ms: z.number().int().min(0).max(3_600_000).default(300_000),
	/** Extra origins to try after a failure listed in `retry_on` (idempotent, replayable requests only). */
	retries: z.number().int().min(0).max(10).default(2),
	retry_on: z.array(z.enum(RETRY_ON)).default([...RETRY_ON]),
	/** At most this share of requests may be retries, so retries cannot multiply an outage (Envoy's retry budget). */
	retry_budget_percent: z.number().min(0).max(100).default(20),
	/** Request bodies up to this size are kept in memory so the request can be retried; larger ones stream once. */
	max_retry_body_bytes: z
		.number()
		.int()
		.min(0)
		.max(1024 * 1024)
		.default(64 * 1024),
	/**
	 * Response bodies with a declared length up to this are read whole from the origin (under
	 * timeout_ms) before they are sent on, as nginx's proxy_buffering does: the origin's request
	 * ends as soon as it has sent them, and one that fails midway can still be retried. 0 streams
	 * every body. Longer bodies, and bodies of unknown length, always stream.
	 */
	buffer_response_bytes: z
		.number()
		.int()
		.min(0)
		.max(1024 * 1024)
		.default(64 * 1024),
	/** CIDRs of proxies in front of Switchyard whose X-Forwarded-For is extended rather than replaced. */
	trusted_proxies: z.array(z.string().regex(/^[0-9a-f:.]+\/\d{1,3}$/i, "a CIDR such as 10.0.0.0/8")).default([]),
	/** Adds `x-switchyard-origin` and `x-switchyard-pool` to responses. Off by default: origin names are internal. */
	debug_headers: z.boolean().default(false),
	/**
	 * Location, Content-Location and Refresh URLs naming the origin's own URL (scheme, host, port,
	 * path prefix) are turned into the client's, as nginx's `proxy_redirect default` does, so an
	 * application's absolute redirect does not send the browser around the balancer.
	 */
	rewrite_redirects: z.boolean().default(true),
	/** A Set-Cookie `Domain` naming the origin's host is dropped, so the cookie is the client host's (nginx's `proxy_cookie_domain`). */
	rewrite_cookie_domain: z.boolean().default(true),
});

/** Passive health checks: eject an origin after consecutive failures of real traffic (Envoy's outlier detection). */
export const outlierDetectionSchema = z.strictObject({
	/** Connection errors, timeouts or 5xx in a row that eject an origin. */
	consecutive_failures: z.number().int().min(1).max(1000).default(5),
	/** First ejection lasts this long; each further one lasts longer (× number of ejections). */
	base_ejection_s: z.number().int().min(1).max(3600).default(30),
	/** Never eject more than this share of a pool's origins. */
	max_ejection_percent: z.number().int().min(0).max(100).default(50),
});

/** A load balancer's maps from a place (region, country, data center) to pools, in lookup order. */
export const POOL_MAP_FIELDS = ["region_pools", "country_pools", "pop_pools"] as const;

const poolList = z.array(id);

export const sessionAffinityAttributesSchema = z.looseObject({
	samesite: z.enum(["Auto", "Lax", "None", "Strict"]).default("Auto"),
	secure: z.enum(["Auto", "Always", "Never"]).default("Auto"),
	/** Seconds a draining origin keeps serving the sessions pinned to it. */
	drain_duration: z.number().int().min(0).max(604_800).default(0),
	zero_downtime_failover: z.enum(["none", "temporary", "sticky"]).default("none"),
	headers: z.array(z.string().min(1)).default([]),
	require_all_headers: z.boolean().default(false),
});

const loadBalancerFields = z.looseObject({
	/** Generated on create (config/identity.ts), kept when imported, kept by name across PUT /config and the seed. */
	id: z.string().trim().toLowerCase().regex(LOAD_BALANCER_ID, "32 hexadecimal characters").optional(),
	...timestamps,
	/** The zone it was created under (Cloudflare's zone path); none: every zone lists it. */
	zone_id: z.string().trim().min(1).max(256).optional(),
	/** The hostname it answers: exact ("app.example.com"), wildcard ("*.example.com") or "*". */
	name: z
		.string()
		.trim()
		.toLowerCase()
		.regex(
			/^(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/,
			"a hostname, *.hostname or *",
		),
	description: z.string().optional(),
	enabled: z.boolean().default(true),
	default_pools: z.array(id).min(1),
	/** Used when no pool is healthy, regardless of its own health. Defaults to the last default pool. */
	fallback_pool: id.optional(),
	region_pools: z.partialRecord(z.enum(REGIONS), poolList).default({}),
	country_pools: z.record(z.string().regex(/^[A-Z]{2}$/, "a two-letter country code such as DE"), poolList).default({}),
	pop_pools: z
		.record(z.string().regex(/^[A-Z]{3}$/, "a three-letter data center code such as FRA"), poolList)
		.default({}),
	steering_policy: z
		.enum(STEERING_POLICIES)
		.or(z.literal("").transform(() => "off" as const))
		.default("off"),
	random_steering: z
		.looseObject({
			pool_weights: z.record(id, z.number().min(0).max(1)).default({}),
			default_weight: z.number().min(0).max(1).default(1),
		})
		.optional(),
	adaptive_routing: z.looseObject({ failover_across_pools: z.boolean().default(false) }).optional(),
	location_strategy: z
		.looseObject({
			prefer_ecs: z.enum(["always", "never", "proximity", "geo"]).default("proximity"),
			mode: z.enum(["pop", "resolver_ip"]).default("pop"),
		})
		.optional(),
	session_affinity: z
		.enum(["none", "cookie", "ip_cookie", "header"])
		.or(z.literal("").transform(() => "none" as const))
		.default("none"),
	/** Seconds; Cloudflare's default for cookies is 23 hours. */
	session_affinity_ttl: z.number().int().min(1).max(604_800).default(82_800),
	session_affinity_attributes: sessionAffinityAttributesSchema.default(sessionAffinityAttributesSchema.parse({})),
	proxy: proxySchema.default(proxySchema.parse({})),
	outlier_detection: outlierDetectionSchema.default(outlierDetectionSchema.parse({})),
	/** Seconds over which a newly healthy origin ramps from ~10% to its full weight; 0 turns it off. */
	slow_start_s: z.number().int().min(0).max(3600).default(30),
	/**
	 * Where requests are planned and counted: one counter object per data center (`colo`), one for
	 * the world (`global`), or each Worker isolate by itself (`isolate`). README, "Where decisions
	 * are made".
	 */
	counter_scope: z.enum(COUNTER_SCOPES).default("colo"),
	/**
	 * The round trip (ms) to its counter object an isolate accepts: while the isolate's moving average
	 * exceeds it, the isolate plans this load balancer's requests itself, as in the isolate scope
	 * (outcomes still go to the object); 0 turns it off. src/edge/counter-rtt.ts.
	 */
	counter_rtt_budget_ms: z.number().int().min(0).max(10_000).default(20),
	/**
	 * The share of requests written to Workers Analytics Engine (when ANALYTICS is bound), 0 < rate ≤ 1:
	 * below 1 for the Free plan's daily limit. src/observe/analytics.ts.
	 */
	analytics_sample_rate: z
		.number()
		.gt(0, "must be greater than 0 (a share of requests: 0 < rate ≤ 1)")
		.max(1, "must be at most 1 (a share of requests: 0 < rate ≤ 1)")
		.default(1),
});

/**
 * What a load balancing rule may change for the requests it matches: the fields of a load balancer
 * Cloudflare lets a rule override, with no defaults (an absent one leaves the load balancer's).
 * `ttl` and `location_strategy` are about DNS answers: kept, reported as not acted on.
 */
export const ruleOverridesSchema = z.looseObject({
	default_pools: loadBalancerFields.shape.default_pools.optional(),
	fallback_pool: loadBalancerFields.shape.fallback_pool,
	region_pools: loadBalancerFields.shape.region_pools.unwrap().optional(),
	country_pools: loadBalancerFields.shape.country_pools.unwrap().optional(),
	pop_pools: loadBalancerFields.shape.pop_pools.unwrap().optional(),
	steering_policy: loadBalancerFields.shape.steering_policy.unwrap().optional(),
	random_steering: loadBalancerFields.shape.random_steering,
	adaptive_routing: loadBalancerFields.shape.adaptive_routing,
	session_affinity: loadBalancerFields.shape.session_affinity.unwrap().optional(),
	session_affinity_ttl: loadBalancerFields.shape.session_affinity_ttl.unwrap().optional(),
	session_affinity_attributes: sessionAffinityAttributesSchema.optional(),
	ttl: z.number().int().min(0).optional(),
	location_strategy: loadBalancerFields.shape.location_strategy,
});

/** A rule's answer given by the balancer itself (status 0 or absent: 200). */
export const fixedResponseSchema = z.looseObject({
	status_code: z
		.number()
		.int()
		.refine((code) => code === 0 || (code >= 200 && code <= 599), "0, or a status from 200 to 599")
		.optional(),
	content_type: headerValueSchema(256).optional(),
	message_body: z.string().max(1024).optional(),
	location: headerValueSchema(2048).optional(),
});

/**
 * A load balancing rule, as Cloudflare writes it (src/rules/ runs it): a condition in the Rules
 * language, and overrides or a fixed response for the requests it matches.
 */
export const ruleSchema = z.looseObject({
	name: z.string().max(200).optional(),
	condition: z.string().max(4096).optional(),
	disabled: z.boolean().optional(),
	/** Lower runs first; missing counts as 0, and equal priorities keep the array's order. */
	priority: z.number().int().min(0).optional(),
	terminates: z.boolean().optional(),
	overrides: ruleOverridesSchema.optional(),
	fixed_response: fixedResponseSchema.nullable().optional(),
});

/** Rules a load balancer may have (each costs every request a condition's evaluation). */
export const MAX_RULES = 100;

export const loadBalancerSchema = loadBalancerFields.extend({
	rules: absentWhenNull(z.array(ruleSchema).max(MAX_RULES)),
});

export const configSchema = z.strictObject({
	monitors: z.array(monitorSchema).default([]),
	pools: z.array(poolSchema).default([]),
	load_balancers: z.array(loadBalancerSchema).default([]),
	notifications: z.array(notificationSchema).default([]),
});

export type Monitor = z.output<typeof monitorSchema>;
export type Origin = z.output<typeof originSchema>;
export type Pool = z.output<typeof poolSchema>;
export type LoadShedding = z.output<typeof loadSheddingSchema>;
export type ProxySettings = z.output<typeof proxySchema>;
export type LoadBalancer = z.output<typeof loadBalancerSchema>;
export type OutlierDetection = z.output<typeof outlierDetectionSchema>;
export type Config = z.output<typeof configSchema>;
export type Rule = z.output<typeof ruleSchema>;
export type RuleOverrides = z.output<typeof ruleOverridesSchema>;
export type ConfigInput = z.input<typeof configSchema>;
