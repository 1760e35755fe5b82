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
 */
import { DurableObject } from "cloudflare:workers";
import { toUpstreamHeaders, withoutHopByHop } from "../src/proxy/headers";
import { countLoopHops, MAX_LOOP_HOPS, withLoopEntry } from "../src/proxy/loop";

interface Env {
	readonly ORIGIN: string;
	readonly NOOP?: { getByName(name: string): { ping(): Promise<number> } };
}

export class Noop extends DurableObject {
	ping(): number {
		return 1;
	}
}

const SMALL_BODY_BYTES = 64 * 1024;
const HEADERS_TIMEOUT_MS = 30_000;

export default {
	async fetch(request: Request, env: Env): Promise<Response> {
		if (env.NOOP) await env.NOOP.getByName("global").ping();
		const cdnLoop = request.headers.get("cdn-loop");
		if (countLoopHops(cdnLoop) >= MAX_LOOP_HOPS) return new Response("loop", { status: 508 });
		const url = new URL(request.url);
		const headers = toUpstreamHeaders(request.headers, {
			clientIp: request.headers.get("cf-connecting-ip") ?? undefined,
			proto: url.protocol.replace(":", ""),
			host: url.host,
			cdnLoop: withLoopEntry(cdnLoop),
		});
		const controller = new AbortController();
		const timer = setTimeout(() => controller.abort(), HEADERS_TIMEOUT_MS);
		const response = await fetch(new URL(url.pathname + url.search, env.ORIGIN), {
			method: request.method,
			headers,
			body: request.body,
			redirect: "manual",
			signal: controller.signal,
		});
		const length = Number(response.headers.get("content-length") ?? Number.NaN);
		const body = length <= SMALL_BODY_BYTES ? await response.arrayBuffer() : response.body;
		clearTimeout(timer);
		return new Response(body, { status: response.status, headers: withoutHopByHop(response.headers) });
	},
};
