/**
 * The route request and the plan: what the Worker asks the counter object for one request, and
 * the answer the proxy forwards by. Types only, imported downward by every layer (the proxy, the
 * edge, the registry, routing), so none of them has to import another's module to speak.
 */
import type { OutcomeRecord } from "./outcome";

/** Where an origin is: the base every proxied URL and probe URL is built on (config/origin-address.ts). */
export interface OriginBase {
	/** "http:" or "https:" when the address fixes it; undefined to follow the client's scheme. */
	readonly protocol: "http:" | "https:" | undefined;
	/** Host as it goes into a URL: "example.com", "127.0.0.1:9001", "[::1]:8080". */
	readonly host: string;
	/** The hostname without port or brackets. */
	readonly hostname: string;
	/** "" or a prefix such as "/api" (never ending in "/"). */
	readonly pathPrefix: string;
}

/** The colo of a request that does not say where it came from (locally, `request.cf` is a placeholder). */
export const LOCAL_COLO = "local";

/** Where the visitor is, as Cloudflare tells the Worker in `request.cf`. Every field may be missing. */
export interface VisitorLocation {
	/** The Cloudflare data center (IATA code), e.g. "FRA". */
	readonly colo?: string;
	/** ISO 3166-1 alpha-2, e.g. "DE". */
	readonly country?: string;
	/** "EU", "NA", … */
	readonly continent?: string;
	/** ISO 3166-2 subdivision code within the country, e.g. "CA" (California) or "ON" (Ontario). */
	readonly regionCode?: string;
	readonly latitude?: number;
	readonly longitude?: number;
}

export interface Attempt {
	readonly key: string;
	readonly pool: string;
	readonly origin: string;
	readonly base: OriginBase;
}

/** A pin from a verified affinity cookie. */
export interface Pin {
	readonly pool: string;
	readonly origin: string;
}

/** Session affinity as the plan reports it, for the Worker to set or keep the cookie. */
export interface AffinityPlan {
	readonly mode: "cookie" | "ip_cookie" | "header";
	readonly ttlS: number;
	readonly samesite: "Auto" | "Lax" | "None" | "Strict";
	readonly secure: "Auto" | "Always" | "Never";
	readonly zeroDowntimeFailover: "none" | "temporary" | "sticky";
	/** The pin the request carried was honoured: attempts[0] is the pinned origin. */
	readonly pinned: boolean;
	/** The request carried a valid pin (honoured or not). */
	readonly pinPresent: boolean;
	/** For `header` affinity: the request headers it hashes (the Worker sends only these). */
	readonly headers: readonly string[];
}

/**
 * A load balancer's `proxy` block as the proxy reads it (config/schema.ts `proxySchema` has the
 * defaults and limits; its output type is checked to fit this one there).
 */
export interface ProxySettings {
	readonly timeout_ms: number;
	readonly idle_timeout_ms: number;
	readonly retries: number;
	readonly retry_on: readonly string[];
	readonly retry_budget_percent: number;
	readonly max_retry_body_bytes: number;
	readonly buffer_response_bytes: number;
	readonly trusted_proxies: readonly string[];
	readonly debug_headers: boolean;
	/** Location, Content-Location and Refresh naming the origin's URL are turned into the client's (proxy/redirects.ts). */
	readonly rewrite_redirects: boolean;
	/** A Set-Cookie Domain naming the origin's host is dropped (the cookie becomes the client host's). */
	readonly rewrite_cookie_domain: boolean;
}

export type RoutePlan =
	| {
			readonly ok: true;
			readonly loadBalancer: string;
			readonly pool: string;
			/** True when no pool was healthy and the fallback pool was used regardless of health. */
			readonly fallback: boolean;
			/** The chosen origin first, then alternates for retries. Never empty. */
			readonly attempts: Attempt[];
			readonly proxy: ProxySettings;
			/** Set by the counter object: the in-flight lease taken for this request, released with its outcome. */
			readonly leaseId?: string;
			/** Set by the Worker when it planned from its replica because the counter object did not answer. */
			readonly failOpen?: boolean;
			/** Set by the counter object: the registry state it planned at, for the Worker's replica. */
			readonly state?: number;
			/** Present when the load balancer uses session affinity. */
			readonly affinity?: AffinityPlan;
			/** The load balancer steers by the visitor's location: the Worker sends it (and the colo in outcomes). */
			readonly needsLocation?: boolean;
	  }
	| {
			readonly ok: false;
			readonly problem: "no_load_balancer" | "load_balancer_disabled" | "no_origin";
			readonly loadBalancer?: string;
			readonly pool?: string;
			readonly detail: string;
	  };

/**
 * The load balancing rules a request matched, evaluated in the Worker (src/rules/): the planner
 * layers their overrides. Only indexes travel: headers and cookies never ride a registry call.
 */
export interface RouteRules {
	/** The configuration version the Worker evaluated them at. */
	readonly version: number;
	/** The load balancer's rules' digest (rules/rule-set.ts): a planner applies the indexes only to the same rules. */
	readonly digest: string;
	/** Indexes into the load balancer's `rules`, in the order they ran. */
	readonly matched: readonly number[];
}

/** What the Worker asks for one request. */
export interface RouteRequest {
	readonly hostname: string;
	/** The client's address (CF-Connecting-IP): what `hash` steering hashes without an affinity key. */
	readonly clientIp?: string;
	/** Outcomes of earlier requests riding along, so they need no call of their own. */
	readonly releases?: readonly OutcomeRecord[];
	/** Where the visitor is (request.cf), for geo, proximity and latency steering. */
	readonly location?: VisitorLocation;
	/** A verified affinity cookie's pin. */
	readonly pin?: Pin;
	/** Request headers `header` affinity may hash (see AffinityHeaderCache). */
	readonly headers?: Readonly<Record<string, string>>;
	/** The registry state of the Worker's replica: at the same state the reply may be compact (contract/wire.ts). */
	readonly known?: number;
	/** The data center the request came through (proxy/location.ts toColo): a new counter object registers with its hub. */
	readonly colo?: string;
	/** The load balancing rules the request matched, when any did. */
	readonly rules?: RouteRules;
}

/** A route request as it reaches a counter object. */
export interface ShardRouteRequest extends RouteRequest {
	/**
	 * 1: the Worker chose this object from its own replica, which may be stale; an object whose
	 * replica resolves the hostname to another counter object answers `OtherShard` instead of
	 * planning, so counters stay in the right object. 2: the Worker was sent here by such an
	 * answer; plan regardless. Absent: plan regardless.
	 */
	readonly shardTry?: 1 | 2;
}

/**
 * A route request in the one shape every route request has: each field present, undefined where it
 * has no value, always in this order (as contract/outcome.ts toOutcomeRecord, and for the same
 * reason: code shared by every request reads them, and shapes nothing keeps alive cost it its
 * optimised code at each garbage collection).
 */
export function toRouteRequest(fields: ShardRouteRequest): ShardRouteRequest {
	return {
		hostname: fields.hostname,
		clientIp: fields.clientIp,
		releases: fields.releases,
		location: fields.location,
		pin: fields.pin,
		headers: fields.headers,
		known: fields.known,
		colo: fields.colo,
		rules: fields.rules,
		shardTry: fields.shardTry,
	};
}

/** "Ask that counter object": the hostname belongs to another load balancer than the Worker's replica said. */
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
