/**
 * The proxied request path: one registry call for a plan, then the plan's origins in order until
 * one answers, as a trusted reverse proxy does it (Go's httputil.ReverseProxy is the model: small
 * pure helpers, hooks instead of flags, every failure through one error path).
 *
 * A later origin is tried after a failure listed in `proxy.retry_on`, but only when that is safe:
 * the body can be sent again (none, or a Content-Length small enough to keep), and either the
 * method is idempotent or the request certainly never reached the origin (the edge's 521–523,
 * 525, 526, 530). Never once the response has started streaming to the client. Retries also draw
 * on an isolate-wide budget, so a failing region does not multiply its own load.
 */
import { toOriginUrl } from "../config/origin-address";
import type { FailureKind } from "../contract/failure";
import { type OutcomeRecord, type RequestSample, toOutcomeRecord, toUnusedLease } from "../contract/outcome";
import {
	type Attempt,
	type RoutePlan,
	type RouteRequest,
	toRouteRequest,
	type VisitorLocation,
} from "../contract/route";
import { DeadlineTimer } from "../deadline";
import {
	AFFINITY_COOKIE,
	type AffinityHeaderCache,
	type AffinityKey,
	keysOrNone,
	readPin,
	toAffinityCookie,
} from "./affinity";
import { ClientBodyError, NO_BODY, readReplayableBody, streamOnce, watchBody } from "./bodies";
import { forward } from "./forward";
import { toHeaderValue, toUpstreamHeaders, withoutHopByHop } from "./headers";
import { countLoopHops, MAX_LOOP_HOPS, withLoopEntry } from "./loop";
import { toPathAndQuery } from "./path-and-query";
import { toProblemResponse } from "./problem";
import { type OriginRewriteInit, rewriteOriginHeaders } from "./redirects";
import type { RetryBudget } from "./retry-budget";
import { isTrustedProxy } from "./trusted-proxies";

/** Request bodies up to this size are kept so the request can be retried on another origin. */
export const DEFAULT_MAX_RETRY_BODY_BYTES = 64 * 1024;
/** Response bodies declared at most this long are read whole before they are sent on (proxy.buffer_response_bytes). */
export const DEFAULT_BUFFER_RESPONSE_BYTES = 64 * 1024;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export type { RouteRequest };

type OutcomeTotals = "leaseId" | "attempts" | "retried" | "totalMs" | "failures";

export interface Planner {
	/**
	 * `timer`: the request's deadline timer, for a planner that gives up on a slow registry. A plan
	 * made without a call may come as a value.
	 */
	route(request: RouteRequest, timer?: DeadlineTimer): RoutePlan | Promise<RoutePlan>;
}

/** What the proxy needs from its host, as hooks (tests pass fakes; the Worker passes the platform's). */
export interface ProxyHooks {
	/** Called once per planned request, when it is no longer in flight. */
	readonly report?: (record: OutcomeRecord) => Promise<unknown> | undefined;
	/** Called once per planned request when it is no longer in flight, synchronously (Analytics Engine). */
	readonly observe?: (sample: RequestSample) => void;
	/** Keeps the invocation alive for work that outlives the response (the body pipe, the report). */
	readonly waitUntil?: (promise: Promise<unknown>) => void;
	/** The isolate's retry budget; without one, retries are limited by `proxy.retries` only. */
	readonly retryBudget?: RetryBudget;
	/** Where the visitor is (request.cf, or the dev-only override); asked only when steering needs it. */
	readonly locate?: () => VisitorLocation;
	/**
	 * Session affinity: the keys that seal and open cookies (asked for only when a request carries
	 * the cookie or one is issued), and the isolate's header cache.
	 */
	readonly affinity?: {
		readonly keys: () => Promise<readonly AffinityKey[]> | readonly AffinityKey[];
		readonly headerCache: AffinityHeaderCache;
	};
	/** Joins a WebSocket from the origin to the client (Workers: a WebSocketPair relay). */
	readonly relayWebSocket?: (origin: WebSocket, headers: Headers, done: () => void) => Response;
	readonly now?: () => number;
	/** `request.url` parsed, when the host has parsed it already (once per request is enough). */
	readonly url?: URL;
	/** The data center the request came through (proxy/location.ts toColo), sent with the route request. */
	readonly colo?: string;
}

export async function proxyRequest(
	request: Request,
	planner: Planner,
	fetcher: typeof fetch = fetch,
	hooks: ProxyHooks = {},
): Promise<Response> {
	const now = hooks.now ?? Date.now;
	const started = now();
	const url = hooks.url ?? new URL(request.url);
	// Read once: each read of a Request's or URL's field is a call into the runtime, and a string's
	// a new string, which every map lookup hashes again.
	const hostname = url.hostname;
	const requestHeaders = request.headers;
	const method = request.method;
	const protocol = url.protocol;
	const cdnLoop = requestHeaders.get("cdn-loop");
	const hops = countLoopHops(cdnLoop);
	if (hops >= MAX_LOOP_HOPS) {
		return toProblemResponse("loop_detected", {
			detail: `this request has passed through the balancer ${hops} times already (CDN-Loop); an origin points back at it`,
		});
	}
	const clientIp = requestHeaders.get("cf-connecting-ip") ?? undefined;
	const affinityHooks = hooks.affinity;
	// Only a request that carries the cookie waits for the keys (an await costs every other request).
	const cookie = affinityHooks ? requestHeaders.get("cookie") : null;
	const pin =
		affinityHooks && cookie?.includes(AFFINITY_COOKIE)
			? await readPin(cookie, hostname, await keysOrNone(affinityHooks.keys), now())
			: undefined;
	const affinityHeaders = affinityHooks?.headerCache.select(hostname, requestHeaders);
	let location =
		hooks.locate && (affinityHooks?.headerCache.wantsLocation(hostname) ?? true) ? hooks.locate() : undefined;
	const routeRequest = toRouteRequest({
		hostname,
		clientIp,
		location,
		pin,
		headers: affinityHeaders,
		colo: hooks.colo || undefined,
	});
	let plan: RoutePlan;
	// One timer for every deadline of this request (the registry's answer, each attempt's headers).
	const timer = new DeadlineTimer();
	try {
		// A plan made in the isolate comes as a value: no await for it.
		const planned = planner.route(routeRequest, timer);
		plan = planned instanceof Promise ? await planned : planned;
		// What the isolate did not know yet (a changed configuration): header affinity's headers, or
		// that the load balancer now steers by location. Ask once more with them, handing back the
		// first plan's lease.
		if (plan.ok && !plan.failOpen) {
			const wanted = plan.affinity?.headers ?? [];
			const missingHeaders =
				wanted.length > 0 && !wanted.some((name) => affinityHeaders?.[name.toLowerCase()] !== undefined);
			const missingLocation = plan.needsLocation === true && location === undefined && hooks.locate !== undefined;
			if (missingHeaders || missingLocation) {
				affinityHooks?.headerCache.learn(hostname, wanted, plan.state, plan.needsLocation);
				const headers = missingHeaders ? affinityHooks?.headerCache.select(hostname, requestHeaders) : undefined;
				if (missingLocation) location = hooks.locate?.();
				const unused = plan.leaseId ? [toUnusedLease(plan.leaseId)] : [];
				plan = await planner.route(
					toRouteRequest({
						...routeRequest,
						headers: headers && Object.keys(headers).length > 0 ? headers : routeRequest.headers,
						location: location ?? routeRequest.location,
						releases: unused,
					}),
					timer,
				);
			}
		}
	} catch (error) {
		console.error("registry.route failed", error);
		return toProblemResponse("no_origin", { detail: "the registry is unavailable; try again shortly" });
	}
	if (!plan.ok) {
		const { problem, detail, loadBalancer, pool } = plan;
		return toProblemResponse(problem, { detail, load_balancer: loadBalancer, pool });
	}
	if (!plan.failOpen) {
		affinityHooks?.headerCache.learn(hostname, plan.affinity?.headers ?? [], plan.state, plan.needsLocation);
	}
	const leave = hooks.retryBudget?.enter();
	const tried: string[] = [];
	const failures: { origin: string; kind: FailureKind | "status"; status?: number }[] = [];
	const leaseId = plan.leaseId;
	let finished = false;
	/** `bytes`: the response's size when known, asked only when the request is observed (analytics). */
	const finish = (fields: Omit<OutcomeRecord, OutcomeTotals>, bytes?: () => number) => {
		if (finished) return;
		finished = true;
		leave?.();
		const reported = leaseId !== undefined && hooks.report !== undefined;
		if (!reported && !hooks.observe) return;
		const record = toOutcomeRecord({
			leaseId: leaseId ?? "",
			servedBy: fields.servedBy,
			status: fields.status,
			error: fields.error,
			attempts: tried.length,
			retried: tried.length > 1,
			ttfbMs: fields.ttfbMs,
			totalMs: now() - started,
			aborted: fields.aborted,
			failures,
			failOpen: plan.ok && plan.failOpen ? true : undefined,
			colo: location?.colo || undefined,
		});
		const { loadBalancer, pool } = plan;
		hooks.observe?.({ loadBalancer, pool, record, bytes: bytes?.() ?? 0, colo: hooks.colo ?? location?.colo ?? "" });
		const sent = reported ? hooks.report?.(record) : undefined;
		if (sent) hooks.waitUntil?.(sent);
	};
	try {
		const proxy = plan.proxy;
		const idempotent = IDEMPOTENT.has(method);
		const body =
			request.body === null
				? NO_BODY
				: proxy.retries > 0
					? await readReplayableBody(
							request,
							proxy.max_retry_body_bytes ?? DEFAULT_MAX_RETRY_BODY_BYTES,
							proxy.idle_timeout_ms ?? 0,
						)
					: streamOnce(request);
		const headers = toUpstreamHeaders(requestHeaders, {
			clientIp,
			trustedChain: isTrustedProxy(clientIp, proxy.trusted_proxies ?? []),
			proto: protocol.replace(":", ""),
			host: url.host,
			cdnLoop: withLoopEntry(cdnLoop),
		});
		const webSocket = (requestHeaders.get("upgrade") ?? "").toLowerCase() === "websocket";
		if (webSocket) headers.set("upgrade", "websocket");
		const pathAndQuery = toPathAndQuery(request.url);
		const attempts = plan.attempts.slice(0, body.replayable ? 1 + proxy.retries : 1);
		const retryOn: readonly string[] = proxy.retry_on;

		let lastFailure: { failure: FailureKind; detail: string; attempt: Attempt } | undefined;
		let endRetry: (() => void) | undefined;
		for (const [i, attempt] of attempts.entries()) {
			if (i > 0) {
				endRetry = hooks.retryBudget?.tryRetry(proxy.retry_budget_percent ?? 20);
				if (hooks.retryBudget && !endRetry) break;
			}
			tried.push(attempt.origin);
			let ttfbMs = 0;
			const result = await forward(
				toOriginUrl(attempt.base, protocol, pathAndQuery),
				{
					method,
					headers,
					body: body.next(),
					bodyLength: body.length,
					timeoutMs: proxy.timeout_ms,
					timer,
					idleMs: webSocket ? 0 : (proxy.idle_timeout_ms ?? 0),
					bufferUpTo: webSocket ? 0 : (proxy.buffer_response_bytes ?? DEFAULT_BUFFER_RESPONSE_BYTES),
					onHeaders: () => {
						ttfbMs = now() - started;
					},
				},
				fetcher,
			);
			endRetry?.();
			const isLast = i === attempts.length - 1;
			// The client's body broke or stalled: its failure, not the origin's; nothing to retry.
			if (!result.ok && result.failure === "client") throw result.client;
			if (!result.ok) {
				lastFailure = { failure: result.failure, detail: result.detail, attempt };
				failures.push({ origin: attempt.key, kind: result.failure });
				const listed = retryOn.includes(result.failure === "timeout" ? "timeout" : "connect_failure");
				// A request that may have reached the origin is sent again only when repeating it is harmless.
				if (!listed || (!idempotent && result.failure !== "refused")) break;
				continue;
			}
			const status = result.response.status;
			if (!isLast && idempotent && retryOn.includes(String(status)) && hasRetryBudget(hooks, proxy)) {
				if (result.bytes === undefined) await result.response.body?.cancel();
				lastFailure = { failure: "unreachable", detail: `origin answered ${status}`, attempt };
				failures.push({ origin: attempt.key, kind: "status", status });
				continue;
			}
			const setCookie = plan.affinity
				? await toAffinityCookie(plan, attempt, i, url, affinityHooks?.keys, now())
				: undefined;
			return toClientResponse(result.response, {
				bytes: result.bytes,
				setCookie,
				rewrite: { base: attempt.base, clientUrl: url, proxy },
				debug: proxy.debug_headers ? attempt : undefined,
				idleMs: webSocket ? 0 : (proxy.idle_timeout_ms ?? 0),
				hooks,
				done: (aborted) => finish({ servedBy: attempt.key, status, ttfbMs, aborted }, () => toKnownBytes(result)),
			});
		}
		const failure = lastFailure as NonNullable<typeof lastFailure>;
		finish({ error: failure.failure, aborted: false });
		const timeout = failure.failure === "timeout";
		// No pool healthy (the fallback pool was tried regardless of health), and no origin tried answered
		// at all: nobody is there, so 503 with Retry-After, as for a pool without enabled origins.
		const allDown = plan.fallback && failures.every((f) => f.kind === "refused" || f.kind === "unreachable");
		console.error(
			`${plan.loadBalancer}: pool ${plan.pool}: tried ${tried.join(", ")}; ${failure.attempt.origin}: ${failure.detail}`,
		);
		const fields = proxy.debug_headers
			? { detail: `${failure.attempt.origin}: ${failure.detail}`, origins_tried: tried }
			: {
					detail: timeout ? "the origin did not answer in time" : `no origin could be reached (${tried.length} tried)`,
				};
		return toProblemResponse(timeout ? "origin_timeout" : allDown ? "no_origin" : "origin_unreachable", {
			...fields,
			load_balancer: plan.loadBalancer,
			pool: plan.pool,
		});
	} catch (error) {
		// The client's body failed (it broke, or stalled longer than idle_timeout_ms) or a stream broke:
		// the request ends here, and its lease and retry budget with it. No origin is blamed.
		finish({ error: "client", aborted: true });
		console.error(`${plan.loadBalancer}: the request could not be forwarded`, error);
		const stalled = error instanceof ClientBodyError && error.kind === "stalled";
		return toProblemResponse(stalled ? "request_timeout" : "invalid_request", {
			detail: stalled
				? "the request body stalled (nothing arrived for longer than the idle timeout)"
				: "the request could not be forwarded (its body could not be read)",
			load_balancer: plan.loadBalancer,
			pool: plan.pool,
		});
	}
}

/** Whether the isolate's retry budget would allow one more attempt now (without taking it). */
function hasRetryBudget(hooks: ProxyHooks, proxy: { retry_budget_percent?: number }): boolean {
	const end = hooks.retryBudget?.tryRetry(proxy.retry_budget_percent ?? 20);
	end?.();
	return !hooks.retryBudget || end !== undefined;
}

/** The response body's length when known: read whole, or declared by the origin; else 0. */
function toKnownBytes(result: { response: Response; bytes?: ArrayBuffer }): number {
	return result.bytes?.byteLength ?? (Number(result.response.headers.get("content-length")) || 0);
}

/**
 * The origin's response for the client: hop-by-hop headers removed, its own URLs made the client's,
 * debug headers added, and the body piped through so `done` runs when it ends or the client goes
 * away (the request stops being in flight then, not when the headers were sent). A body already
 * read whole is done; a WebSocket is relayed until it closes.
 */
function toClientResponse(
	response: Response,
	options: {
		/** The whole body, already read from the origin: nothing left to watch. */
		bytes: ArrayBuffer | undefined;
		setCookie: string | undefined;
		/** What names the origin in its headers is turned into the client's (proxy/redirects.ts). */
		rewrite: OriginRewriteInit;
		debug: Attempt | undefined;
		idleMs: number;
		hooks: ProxyHooks;
		done: (aborted: boolean) => void;
	},
): Response {
	const { debug, hooks, done } = options;
	const present: string[] = [];
	const headers = withoutHopByHop(response.headers, present);
	rewriteOriginHeaders(headers, options.rewrite, present);
	if (options.setCookie) headers.append("set-cookie", options.setCookie);
	if (debug) {
		headers.set("x-switchyard-origin", toHeaderValue(debug.origin));
		headers.set("x-switchyard-pool", toHeaderValue(debug.pool));
	}
	if (response.webSocket) {
		if (hooks.relayWebSocket) return hooks.relayWebSocket(response.webSocket, headers, () => done(false));
		done(false);
		return response;
	}
	if (response.body === null || options.bytes !== undefined) {
		done(false);
		return new Response(options.bytes ?? null, { status: response.status, statusText: response.statusText, headers });
	}
	const { stream, piping } = watchBody(response.body, headers, options.idleMs, done);
	hooks.waitUntil?.(piping);
	return new Response(stream, { status: response.status, statusText: response.statusText, headers });
}
