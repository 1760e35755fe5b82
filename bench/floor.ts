/**
 * Reference Worker "floor": what any correct reverse proxy must do per request on this runtime,
 * written as cheaply as we know how, with no load balancing at all: the request and response
 * headers rewritten (hop-by-hop and Connection-named headers out, X-Forwarded-* and CDN-Loop in),
 * a response-header deadline with an abort signal, redirects passed through, and a small body read
 * whole so the proxy knows when the origin is done with it. With a NOOP binding it first makes one
 * no-op Durable Object RPC, as bare+RPC does ("floor+RPC"). The gap between "bare" and "floor" is
 * the price of the proxy rules alone, before any load balancing; "floor+RPC" is the least any
 * design that follows those rules and makes one registry call per request can cost.
 */
import { DurableObject } from "cloudflare:workers";

interface Env {
	readonly ORIGIN: string;
	readonly NOOP?: { getByName(name: string): { ping(): Promise<number> } };
}

export class Noop extends DurableObject {
	ping(): number {
		return 1;
	}
}

const DROP = new Set([
	"connection",
	"keep-alive",
	"proxy-connection",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"host",
	"x-forwarded-for",
]);

/** A copy of `headers` without hop-by-hop headers, those Connection names, Host and X-Forwarded-For. */
function rewrite(headers: Headers): Headers {
	const out = new Headers(headers);
	const connection = headers.get("connection");
	const named = connection === null ? undefined : new Set(connection.toLowerCase().split(/\s*,\s*/));
	for (const name of headers.keys()) if (DROP.has(name) || named?.has(name)) out.delete(name);
	return out;
}

export default {
	async fetch(request: Request, env: Env): Promise<Response> {
		if (env.NOOP) await env.NOOP.getByName("global").ping();
		// Client-sent forwarding headers are replaced, our own set last (after the Connection rule).
		const url = new URL(request.url);
		const headers = rewrite(request.headers);
		headers.set("x-forwarded-for", request.headers.get("cf-connecting-ip") ?? "127.0.0.1");
		headers.set("x-forwarded-proto", "http");
		headers.set("x-forwarded-host", url.host);
		headers.set("cdn-loop", "switchyard");
		const controller = new AbortController();
		const timer = setTimeout(() => controller.abort(), 30_000);
		const response = await fetch(new URL(url.pathname + url.search, env.ORIGIN), {
			method: request.method,
			headers,
			body: request.body,
			redirect: "manual",
			signal: controller.signal,
		});
		const length = Number(response.headers.get("content-length") ?? Number.NaN);
		const body = length <= 65536 ? await response.arrayBuffer() : response.body;
		clearTimeout(timer);
		return new Response(body, { status: response.status, headers: rewrite(response.headers) });
	},
};
