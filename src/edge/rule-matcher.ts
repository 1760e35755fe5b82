/**
 * Load balancing rules in the Worker: the request's load balancer's rules (compiled once per
 * configuration version, routing/rule-overrides.ts) run against the request here, where its
 * headers and cookies are, and only what matched travels on: the indexes and the configuration
 * version ride the route request, and the planner applies their overrides. A rule with a fixed
 * response is answered here, with no registry call at all; its outcome (no lease, no origin) goes
 * to the load balancer's counter object with the others, so /status counts its matches too.
 */
import { type OutcomeRecord, toOutcomeRecord } from "../contract/outcome";
import { LOCAL_COLO, type RouteRules, type VisitorLocation } from "../contract/route";
import { rulesOf } from "../routing/rule-overrides";
import { counterKeyFor, toLeasePrefix } from "../routing/shard-keys";
import { isHeaderValue } from "../rules/header-value";
import { type FixedResponse, matchRules } from "../rules/rule-set";
import { toRegion } from "../steering/regions";
import type { ReplicaCache } from "./replica-cache";

/** What the rules made of one request. */
export interface RuledRequest {
	/** What the route request carries. */
	readonly route: RouteRules;
	/** Set when a matching rule answers the request itself. */
	readonly fixedResponse?: FixedResponse;
	/** The counter object of the request's load balancer and data center: where a fixed response's outcome goes. */
	readonly shard: string;
	readonly loadBalancer: string;
	/** When the rules ran (ms since the epoch). */
	readonly atMs: number;
	/** The matched rules' names, joined by ",": what the request's analytics data point says (blob6). */
	readonly names: string;
}

/** What the Worker knows about the request besides the Request itself. */
export interface RuleFacts {
	readonly url: URL;
	readonly colo: string | undefined;
	readonly locate: () => VisitorLocation;
}

/** The lease id of a fixed response's outcome: it names the counter object, and no lease is held under it. */
const FIXED_RESPONSE_LEASE = "fixed-response";

/** Rule sets whose evaluation threw: each is logged once, not once per request. */
const loggedFailures = new WeakSet<object>();

/**
 * The rules `request` matches in the replica's configuration; undefined when none does (or there
 * is no replica yet). Never throws: a rule that fails unexpectedly counts as no rule matched, so
 * the request is balanced as if the load balancer had no rules, and the failure is logged once
 * per compiled rule set (validation refuses every condition known to fail, config/validate-rules.ts).
 */
export function matchRequestRules(
	replicas: ReplicaCache,
	request: Request,
	facts: RuleFacts,
): RuledRequest | undefined {
	try {
		return toRuledRequest(replicas, request, facts);
	} catch (error) {
		let key: object = replicas;
		try {
			const lb = replicas.loadBalancerOf(facts.url.hostname);
			const routing = replicas.routingState;
			key = (lb && routing ? rulesOf(routing.snapshot, lb) : undefined) ?? replicas;
		} catch {
			// Logged under the replica cache: once per isolate.
		}
		if (!loggedFailures.has(key)) {
			loggedFailures.add(key);
			console.error(`rules of ${facts.url.hostname}: evaluation failed, treated as no rule matched: ${String(error)}`);
		}
		return undefined;
	}
}

function toRuledRequest(replicas: ReplicaCache, request: Request, facts: RuleFacts): RuledRequest | undefined {
	const routing = replicas.routingState;
	// No load balancer has rules (the usual case): not even a lookup on the request path.
	if (!routing?.snapshot.rules) return undefined;
	const lb = replicas.loadBalancerOf(facts.url.hostname);
	if (!lb?.enabled || !lb.rules?.length) return undefined;
	const compiled = rulesOf(routing.snapshot, lb);
	if (!compiled || compiled.ordered.length === 0) return undefined;
	const location = facts.locate();
	const nowMs = Date.now();
	const httpVersion = (request.cf as { httpProtocol?: unknown } | undefined)?.httpProtocol;
	const match = matchRules(compiled, {
		loadBalancer: lb.name,
		region: toRegion(location.country, location.regionCode),
		clientIp: request.headers.get("cf-connecting-ip") ?? undefined,
		method: request.method,
		url: facts.url,
		headers: request.headers,
		httpVersion: typeof httpVersion === "string" ? httpVersion : "HTTP/1.1",
		nowMs,
	});
	if (!match) return undefined;
	return {
		route: { version: routing.snapshot.version, digest: compiled.digest, matched: match.matched },
		...(match.fixedResponse ? { fixedResponse: match.fixedResponse } : {}),
		shard: counterKeyFor(lb, facts.colo ?? LOCAL_COLO),
		loadBalancer: lb.name,
		atMs: nowMs,
		names: match.matched.map((index) => compiled.names[index]).join(","),
	};
}

/** Statuses whose response has no body (RFC 9110). */
const NO_BODY = new Set([101, 204, 205, 304]);

/** A rule's fixed response: its status (200 when 0 or absent), content type, body and Location. */
export function toFixedResponse(fixed: FixedResponse, method: string): Response {
	const status = fixed.status_code || 200;
	const headers = new Headers();
	const body = NO_BODY.has(status) || method === "HEAD" ? null : (fixed.message_body ?? "");
	// Validation refuses a value Headers would throw on (config/schema.ts); one stored by an older version is left out.
	if (fixed.content_type && isHeaderValue(fixed.content_type)) headers.set("content-type", fixed.content_type);
	else if (body) headers.set("content-type", "text/plain; charset=utf-8");
	if (fixed.location && isHeaderValue(fixed.location)) headers.set("location", fixed.location);
	return new Response(body, { status, headers });
}

/** The outcome of a request a rule answered: no lease, no attempt; it carries the rules it matched. */
export function toFixedOutcome(ruled: RuledRequest, status: number, totalMs: number): OutcomeRecord {
	return toOutcomeRecord({
		leaseId: toLeasePrefix(ruled.shard, FIXED_RESPONSE_LEASE),
		attempts: 0,
		retried: false,
		totalMs,
		aborted: false,
		status,
		rules: ruled.route.matched,
	});
}
