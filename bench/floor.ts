/**
 * Reference Worker "floor": Switchyard's forwarding rules (README, "Forwarding") with no load
 * balancing at all, using Switchyard's own header and loop helpers, so that "floor" costs what the
 * rules cost and nothing else: CDN-Loop counted (508 on a loop) and extended, the request headers
 * rewritten (hop-by-hop and Connection-named headers out, client-sent forwarding and x-switchyard-*
 * headers out, X-Forwarded-*, X-Real-IP and CDN-Loop in), a response-header deadline with an abort
 * signal, redirects passed through, hop-by-hop headers out of the response, and a small body read
 * whole, as Switchyard does to know when the origin is done with the request (its leases need
 * that). With a NOOP binding it first makes one no-op Durable Object RPC, as bare+RPC does
 * ("floor+RPC"): the least a design that follows these rules and makes one registry call per
 * request costs. The gap between "bare" and "floor" is the price of the rules alone.
 *
 * Frozen against gaming (issue 16, item 3): test/e2e/floor-equivalence-e2e.test.ts sends the same
 * requests to this Worker and to Switchyard (the benchmark's configuration, one origin) and asserts
 * that the origin receives, and the client gets, the same bytes from both. Every rule Switchyard
 * applies to a request it forwards is here, through the same src/proxy helpers: the path and query
 * passed on byte for byte (toPathAndQuery, toOriginUrl: a path beginning with "//" stays a path),
 * the origin's reason phrase kept, the origin's own URLs in Location, Content-Location and Refresh
 * and a Set-Cookie Domain naming it turned into the client's (proxy.rewrite_redirects and
 * rewrite_cookie_domain, on by default), a loop answered with Switchyard's problem response, a
 * body read whole only when its declared length is not re-encoded (declaredBodyLength), and any
 * other body piped through Switchyard's identity stream (toPassThrough). What floor
 * leaves out is what balances load, and what only a stalled body shows: retries (and the request
 * body kept for them), failure classification of the edge's 52x answers, leases and outcome reports,
 * session affinity, WebSocket relaying, the idle timeouts on bodies, and the watch on the client's
 * upload (a body that breaks aborts the origin's request rather than ending it as complete).
 */
import { DurableObject } from "cloudflare:workers";
import { type OriginBase, toOriginBase, toOriginUrl } from "../src/config/origin-address";
import { DeadlineTimer } from "../src/deadline";
import { declaredBodyLength, toPassThrough } from "../src/proxy/bodies";
import { toUpstreamHeaders, withoutHopByHop } from "../src/proxy/headers";
import { countLoopHops, MAX_LOOP_HOPS, withLoopEntry } from "../src/proxy/loop";
import { toPathAndQuery } from "../src/proxy/path-and-query";
import { toProblemResponse } from "../src/proxy/problem";
import { rewriteOriginHeaders } from "../src/proxy/redirects";

interface Env {
	readonly ORIGIN: string;
	/**
	 * `npm run bench:rules` only: rules to leave out, comma-separated (floor-rules.ts), to price each
	 * rule as floor minus floor without it. Unset in every other use: floor applies all of them.
	 */
	readonly SKIP?: string;
	/**
	 * `npm run bench:lean` only: "true" adds the least bookkeeping a load balancer with leases and
	 * outcome reports needs (bench/lean.ts): the chosen origin counted in flight and uncounted once
	 * its answer is read, and an outcome record (origin, status, times) kept for a batch. Unset
	 * everywhere else.
	 */
	readonly LEAN?: string;
	readonly NOOP?: { getByName(name: string): { ping(): Promise<number> } };
}

export class Noop extends DurableObject {
	ping(): number {
		return 1;
	}
}

const SMALL_BODY_BYTES = 64 * 1024;
const HEADERS_TIMEOUT_MS = 30_000;
/** Switchyard's proxy defaults for the rewrites (both on). */
const REWRITES = {};

/**
 * ORIGIN parsed once per isolate, as Switchyard parses an origin's address once per configuration.
 * Several addresses, comma-separated, are taken in turn, as in every reference Worker
 * (next-origin.ts): the benchmark gives them the origins Switchyard balances over.
 */
let origins: { address: string; bases: OriginBase[]; next: number } | undefined;
function originBase(address: string): OriginBase {
	if (origins?.address !== address) {
		const bases = address.split(",").map((one) => {
			const base = toOriginBase(one.trim());
			if (typeof base === "string") throw new Error(`ORIGIN: ${base}`);
			return base;
		});
		origins = { address, bases, next: 0 };
	}
	const base = origins.bases[origins.next] as OriginBase;
	origins.next = (origins.next + 1) % origins.bases.length;
	return base;
}

/** The least bookkeeping of a balancer (LEAN): counts in flight per origin, outcome records in a batch. */
const inFlight = new Map<string, number>();
const outcomes: { origin: string; status: number; ttfbMs: number }[] = [];
function leanLease(base: OriginBase): { end(status: number): void } {
	const origin = base.host;
	const startedAt = Date.now();
	inFlight.set(origin, (inFlight.get(origin) ?? 0) + 1);
	return {
		end(status) {
			inFlight.set(origin, (inFlight.get(origin) ?? 1) - 1);
			outcomes.push({ origin, status, ttfbMs: Date.now() - startedAt });
			// A batch goes once a thousand are in (here: nowhere; the records are made and kept, as a batch would).
			if (outcomes.length >= 1000) outcomes.length = 0;
		},
	};
}

let skipped: { list: string; rules: Set<string> } | undefined;
function skips(list: string | undefined): Set<string> | undefined {
	if (!list) return undefined;
	if (skipped?.list !== list) skipped = { list, rules: new Set(list.split(",")) };
	return skipped.rules;
}

export default {
	async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
		if (env.SKIP) return withSkips(request, env, ctx, skips(env.SKIP) as Set<string>);
		if (env.NOOP) await env.NOOP.getByName("global").ping();
		const cdnLoop = request.headers.get("cdn-loop");
		const hops = countLoopHops(cdnLoop);
		if (hops >= MAX_LOOP_HOPS) {
			return toProblemResponse("loop_detected", {
				detail: `this request has passed through the balancer ${hops} times already (CDN-Loop); an origin points back at it`,
			});
		}
		const url = new URL(request.url);
		const base = originBase(env.ORIGIN);
		const lease = env.LEAN === "true" ? leanLease(base) : undefined;
		const headers = toUpstreamHeaders(request.headers, {
			clientIp: request.headers.get("cf-connecting-ip") ?? undefined,
			proto: url.protocol.replace(":", ""),
			host: url.host,
			cdnLoop: withLoopEntry(cdnLoop),
		});
		// As Switchyard: one deadline timer, armed and never cleared (src/deadline.ts), a wait that ends just stops.
		const controller = new AbortController();
		const timer = new DeadlineTimer();
		timer.start(HEADERS_TIMEOUT_MS, () => controller.abort());
		const response = await fetch(toOriginUrl(base, url.protocol, toPathAndQuery(request.url)), {
			method: request.method,
			headers,
			body: request.body,
			redirect: "manual",
			signal: controller.signal,
		});
		// As Switchyard: a small body of declared length (not re-encoded) read whole; any other body
		// piped through the same identity stream (which keeps a plain Content-Length, and does not keep
		// one the origin sent with a Content-Encoding), without the lease's end-of-body callback.
		const length = declaredBodyLength(response.headers);
		let body: ArrayBuffer | ReadableStream | null = response.body;
		if (response.body !== null && length !== undefined && length <= SMALL_BODY_BYTES) {
			body = await response.arrayBuffer();
		} else if (response.body !== null) {
			const pass = toPassThrough(length);
			ctx.waitUntil(response.body.pipeTo(pass.writable).catch(() => {}));
			body = pass.readable;
		}
		timer.stop();
		lease?.end(response.status);
		const present: string[] = [];
		const out = withoutHopByHop(response.headers, present);
		rewriteOriginHeaders(out, { base, clientUrl: url, proxy: REWRITES }, present);
		return new Response(body, { status: response.status, statusText: response.statusText, headers: out });
	},
};

/**
 * floor with some rules left out (bench:rules), kept apart so that floor itself runs the code
 * above untouched. Each rule left out is done the way a bare Worker does it.
 */
async function withSkips(request: Request, env: Env, ctx: ExecutionContext, skip: Set<string>): Promise<Response> {
	const cdnLoop = skip.has("loop") ? null : request.headers.get("cdn-loop");
	if (!skip.has("loop")) {
		const hops = countLoopHops(cdnLoop);
		if (hops >= MAX_LOOP_HOPS) return toProblemResponse("loop_detected", { detail: "loop" });
	}
	const url = new URL(request.url);
	const base = originBase(env.ORIGIN);
	const headers = skip.has("request-headers")
		? request.headers
		: toUpstreamHeaders(request.headers, {
				clientIp: request.headers.get("cf-connecting-ip") ?? undefined,
				proto: url.protocol.replace(":", ""),
				host: url.host,
				...(skip.has("loop") ? {} : { cdnLoop: withLoopEntry(cdnLoop) }),
			});
	const controller = skip.has("deadline") ? undefined : new AbortController();
	const timer = controller ? new DeadlineTimer() : undefined;
	timer?.start(HEADERS_TIMEOUT_MS, () => controller?.abort());
	const response = await fetch(toOriginUrl(base, url.protocol, toPathAndQuery(request.url)), {
		method: request.method,
		headers,
		body: request.body,
		redirect: "manual",
		...(controller ? { signal: controller.signal } : {}),
	});
	const length = skip.has("small-body") ? undefined : declaredBodyLength(response.headers);
	let body: ArrayBuffer | ReadableStream | null = response.body;
	if (response.body !== null && length !== undefined && length <= SMALL_BODY_BYTES) {
		body = await response.arrayBuffer();
	} else if (response.body !== null && !skip.has("small-body")) {
		const pass = toPassThrough(length);
		ctx.waitUntil(response.body.pipeTo(pass.writable).catch(() => {}));
		body = pass.readable;
	}
	timer?.stop();
	if (skip.has("response-headers") && skip.has("rewrites")) return response;
	const out = skip.has("response-headers") ? new Headers(response.headers) : withoutHopByHop(response.headers);
	if (!skip.has("rewrites")) rewriteOriginHeaders(out, { base, clientUrl: url, proxy: REWRITES });
	return new Response(body, { status: response.status, statusText: response.statusText, headers: out });
}
