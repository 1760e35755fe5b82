/**
 * The proxied request path: one registry call for a plan, then the plan's origins in order until
 * one answers. A later origin is tried after a connection error, a timeout, or a 502/503/504, but
 * only when that is safe: the method is idempotent and the body can be sent again (none, or a
 * declared Content-Length small enough to keep). Like nginx with `proxy_next_upstream` left at its
 * default, POST and PATCH are never retried. Every failure ends in one problem response, which
 * names origins only when the load balancer's debug_headers is on (origin names are internal).
 */
import { toOriginUrl } from "../config/origin-address";
import type { Attempt, RoutePlan } from "../registry/plan";
import type { FailureKind } from "./failure";
import { forward } from "./forward";
import { toUpstreamHeaders, withoutHopByHop } from "./headers";
import type { OutcomeRecord } from "./outcome";
import { toProblemResponse } from "./problem";

/** Request bodies up to this size are kept so the request can be retried on another origin. */
export const DEFAULT_MAX_RETRY_BODY_BYTES = 64 * 1024;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export interface Planner {
	route(hostname: string): Promise<RoutePlan>;
}

/** What the proxy needs from its host, as hooks (tests pass fakes; the Worker passes the platform's). */
export interface ProxyHooks {
	/** Called once per planned request, when it is no longer in flight. */
	readonly report?: (record: OutcomeRecord) => Promise<unknown> | undefined;
	/** Keeps the invocation alive for work that outlives the response (the body pipe, the report). */
	readonly waitUntil?: (promise: Promise<unknown>) => void;
	readonly now?: () => number;
}

export async function proxyRequest(
	request: Request,
	planner: Planner,
	fetcher: typeof fetch = fetch,
	hooks: ProxyHooks = {},
): Promise<Response> {
	const now = hooks.now ?? Date.now;
	const started = now();
	const url = new URL(request.url);
	let plan: RoutePlan;
	try {
		plan = await planner.route(url.hostname);
	} catch (error) {
		console.error("registry.route failed", error);
		return toProblemResponse("no_origin", { detail: "the registry is unavailable; try again shortly" });
	}
	if (!plan.ok) {
		const { problem, detail, loadBalancer, pool } = plan;
		return toProblemResponse(problem, { detail, load_balancer: loadBalancer, pool });
	}

	const idempotent = IDEMPOTENT.has(request.method);
	const body = idempotent
		? await toReplayableBody(request, plan.proxy.max_retry_body_bytes ?? DEFAULT_MAX_RETRY_BODY_BYTES)
		: streamOnce(request);
	const canRetry = idempotent && body.replayable;
	const headers = toUpstreamHeaders(request.headers, {
		clientIp: request.headers.get("cf-connecting-ip") ?? undefined,
		proto: url.protocol.replace(":", ""),
		host: url.host,
	});
	if (isWebSocketUpgrade(request)) headers.set("upgrade", "websocket");
	const pathAndQuery = toPathAndQuery(request.url);
	const attempts = plan.attempts.slice(0, canRetry ? 1 + plan.proxy.retries : 1);

	const retryOn = new Set<string>(plan.proxy.retry_on);
	const tried: string[] = [];
	const leaseId = plan.leaseId;
	const finish = (fields: Omit<OutcomeRecord, "leaseId" | "attempts" | "retried" | "totalMs">) => {
		if (leaseId === undefined || !hooks.report) return;
		const sent = hooks.report({
			leaseId,
			attempts: tried.length,
			retried: tried.length > 1,
			totalMs: now() - started,
			...fields,
		});
		if (sent) hooks.waitUntil?.(sent);
	};
	let lastFailure: { failure: FailureKind; detail: string; attempt: Attempt } | undefined;
	for (const [i, attempt] of attempts.entries()) {
		const isLast = i === attempts.length - 1;
		tried.push(attempt.origin);
		const result = await forward(
			toOriginUrl(attempt.base, url.protocol, pathAndQuery),
			{ method: request.method, headers, body: body.next(), bodyLength: body.length, timeoutMs: plan.proxy.timeout_ms },
			fetcher,
		);
		if (!result.ok) {
			lastFailure = { failure: result.failure, detail: result.detail, attempt };
			if (!retryOn.has(result.failure === "timeout" ? "timeout" : "connect_failure")) break;
			continue;
		}
		if (!isLast && retryOn.has(String(result.response.status))) {
			await result.response.body?.cancel();
			lastFailure = { failure: "unreachable", detail: `origin answered ${result.response.status}`, attempt };
			continue;
		}
		const ttfbMs = now() - started;
		const status = result.response.status;
		return toClientResponse(result.response, plan.proxy.debug_headers ? attempt : undefined, hooks, (aborted) =>
			finish({ servedBy: attempt.key, status, ttfbMs, aborted }),
		);
	}
	const failure = lastFailure as NonNullable<typeof lastFailure>;
	finish({ error: failure.failure, aborted: false });
	const timeout = failure.failure === "timeout";
	console.error(
		`${plan.loadBalancer}: pool ${plan.pool}: tried ${tried.join(", ")}; ${failure.attempt.origin}: ${failure.detail}`,
	);
	const fields = plan.proxy.debug_headers
		? { detail: `${failure.attempt.origin}: ${failure.detail}`, origins_tried: tried }
		: {
				detail: timeout ? "the origin did not answer in time" : `no origin could be reached (${tried.length} tried)`,
			};
	return toProblemResponse(timeout ? "origin_timeout" : "origin_unreachable", {
		...fields,
		load_balancer: plan.loadBalancer,
		pool: plan.pool,
	});
}

/** The path and query exactly as the client sent them: no re-encoding, no normalisation of the query. */
export function toPathAndQuery(rawUrl: string): string {
	const url = rawUrl.replace(/#.*$/s, "");
	const afterScheme = url.indexOf("//");
	const slash = url.indexOf("/", afterScheme + 2);
	const question = url.indexOf("?", afterScheme + 2);
	if (slash === -1 && question === -1) return "/";
	if (slash === -1 || (question !== -1 && question < slash)) return `/${url.slice(question)}`;
	return url.slice(slash);
}

function isWebSocketUpgrade(request: Request): boolean {
	return (request.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
}

interface ReplayableBody {
	readonly replayable: boolean;
	/** The declared Content-Length, when there is one. */
	readonly length?: number;
	/** The body for the next attempt. */
	next(): BodyInit | null;
}

async function toReplayableBody(request: Request, maxBytes: number): Promise<ReplayableBody> {
	if (request.body === null) return { replayable: true, next: () => null };
	const length = declaredLength(request);
	if (length !== undefined && length <= maxBytes) {
		const bytes = await request.arrayBuffer();
		return { replayable: true, length, next: () => bytes };
	}
	return streamOnce(request);
}

function declaredLength(request: Request): number | undefined {
	const length = Number(request.headers.get("content-length") ?? Number.NaN);
	return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** Large, unknown length, or not worth keeping: stream it once, never buffer it. */
function streamOnce(request: Request): ReplayableBody {
	return { replayable: request.body === null, length: declaredLength(request), next: () => request.body };
}

/**
 * The origin's response for the client: hop-by-hop headers removed, debug headers added, and the
 * body piped through so `done` runs when it ends or the client goes away (the request stops being
 * in flight then, not when the headers were sent).
 */
function toClientResponse(
	response: Response,
	debug: Attempt | undefined,
	hooks: ProxyHooks,
	done: (aborted: boolean) => void,
): Response {
	if (response.status === 101 || response.webSocket) {
		// WebSockets: counted until the upgrade only, for now.
		done(false);
		return response;
	}
	const headers = withoutHopByHop(response.headers);
	if (debug) {
		headers.set("x-switchyard-origin", debug.origin);
		headers.set("x-switchyard-pool", debug.pool);
	}
	if (response.body === null) {
		done(false);
		return new Response(null, { status: response.status, statusText: response.statusText, headers });
	}
	const pipe = toPassThrough(headers);
	const piping = response.body.pipeTo(pipe.writable).then(
		() => done(false),
		() => done(true),
	);
	hooks.waitUntil?.(piping);
	return new Response(pipe.readable, { status: response.status, statusText: response.statusText, headers });
}

/**
 * An identity stream for a response body. With a plain (not re-encoded) Content-Length the length
 * is kept, so the client still gets Content-Length rather than chunked encoding.
 */
function toPassThrough(headers: Headers): TransformStream {
	const length = Number(headers.get("content-length") ?? Number.NaN);
	const encoding = (headers.get("content-encoding") ?? "identity").toLowerCase();
	const FixedLength = (globalThis as { FixedLengthStream?: new (length: number) => TransformStream }).FixedLengthStream;
	if (FixedLength && Number.isSafeInteger(length) && length >= 0 && encoding === "identity")
		return new FixedLength(length);
	return new TransformStream();
}
