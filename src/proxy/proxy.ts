/**
 * The proxied request path: one registry call for a plan, then the plan's origins in order until
 * one answers. A later origin is tried after a connection error, a timeout, or a 502/503/504, but
 * only when that is safe: the method is idempotent and the body can be sent again (none, or small
 * enough to keep; nginx's `proxy_next_upstream` rule). Every failure ends in one problem response.
 */
import { toOriginUrl } from "../config/origin-address";
import type { Attempt, RoutePlan } from "../registry/plan";
import type { FailureKind } from "./failure";
import { forward } from "./forward";
import { toUpstreamHeaders, withoutHopByHop } from "./headers";
import { toProblemResponse } from "./problem";

/** Request bodies up to this size are kept so the request can be retried on another origin. */
export const MAX_REPLAY_BODY_BYTES = 64 * 1024;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
const RETRY_STATUSES = new Set([502, 503, 504]);

export interface Planner {
	route(hostname: string): Promise<RoutePlan>;
}

export async function proxyRequest(
	request: Request,
	planner: Planner,
	fetcher: typeof fetch = fetch,
): Promise<Response> {
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
	const body = idempotent ? await toReplayableBody(request) : streamOnce(request);
	const canRetry = idempotent && body.replayable;
	const headers = toUpstreamHeaders(request.headers, {
		clientIp: request.headers.get("cf-connecting-ip") ?? undefined,
		proto: url.protocol.replace(":", ""),
		host: url.host,
	});
	if (isWebSocketUpgrade(request)) headers.set("upgrade", "websocket");
	const pathAndQuery = toPathAndQuery(request.url);
	const attempts = plan.attempts.slice(0, canRetry ? 1 + plan.proxy.retries : 1);

	let lastFailure: { failure: FailureKind; detail: string; attempt: Attempt } | undefined;
	for (const [i, attempt] of attempts.entries()) {
		const isLast = i === attempts.length - 1;
		const result = await forward(
			toOriginUrl(attempt.base, url.protocol, pathAndQuery),
			{ method: request.method, headers, body: body.next(), timeoutMs: plan.proxy.timeout_ms },
			fetcher,
		);
		if (!result.ok) {
			lastFailure = { failure: result.failure, detail: result.detail, attempt };
			continue;
		}
		if (!isLast && RETRY_STATUSES.has(result.response.status)) {
			await result.response.body?.cancel();
			lastFailure = { failure: "unreachable", detail: `origin answered ${result.response.status}`, attempt };
			continue;
		}
		return toClientResponse(result.response, plan.proxy.debug_headers ? attempt : undefined);
	}
	const tried = attempts.map((attempt) => attempt.origin);
	const failure = lastFailure as NonNullable<typeof lastFailure>;
	return toProblemResponse(failure.failure === "timeout" ? "origin_timeout" : "origin_unreachable", {
		detail: `${failure.attempt.origin}: ${failure.detail}`,
		load_balancer: plan.loadBalancer,
		pool: plan.pool,
		origins_tried: tried,
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
	/** The body for the next attempt. */
	next(): BodyInit | null;
}

async function toReplayableBody(request: Request): Promise<ReplayableBody> {
	if (request.body === null) return { replayable: true, next: () => null };
	const length = Number(request.headers.get("content-length") ?? Number.NaN);
	if (Number.isFinite(length) && length <= MAX_REPLAY_BODY_BYTES) {
		const bytes = await request.arrayBuffer();
		return { replayable: true, next: () => bytes };
	}
	return streamOnce(request);
}

/** Large, unknown length, or not worth keeping: stream it once, never buffer it. */
function streamOnce(request: Request): ReplayableBody {
	return { replayable: request.body === null, next: () => request.body };
}

function toClientResponse(response: Response, debug: Attempt | undefined): Response {
	if (response.status === 101 || response.webSocket) return response;
	const headers = withoutHopByHop(response.headers);
	if (debug) {
		headers.set("x-switchyard-origin", debug.origin);
		headers.set("x-switchyard-pool", debug.pool);
	}
	return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
