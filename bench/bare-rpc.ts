/**
 * Reference Worker "bare+RPC": "bare" plus one no-op Durable Object RPC per request, awaited before
 * the fetch (as Switchyard awaits `route`). The floor of any design that makes one call per request.
 */
import { DurableObject } from "cloudflare:workers";
import { nextOrigin } from "./next-origin";

interface Env {
	readonly ORIGIN: string;
	readonly NOOP: { getByName(name: string): { ping(): Promise<number> } };
}

export class Noop extends DurableObject {
	ping(): number {
		return 1;
	}
}

export default {
	async fetch(request: Request, env: Env): Promise<Response> {
		await env.NOOP.getByName("global").ping();
		const url = new URL(request.url);
		return fetch(new URL(url.pathname + url.search, nextOrigin(env.ORIGIN)), request);
	},
};
