/**
 * Reference Worker "bare": forwards every request to one origin and returns its response, nothing
 * else. The runtime's ceiling for any proxy written as a Worker. ORIGIN is a text binding (several,
 * comma-separated, are taken in turn: next-origin.ts).
 */
import { nextOrigin } from "./next-origin";

interface Env {
	readonly ORIGIN: string;
}

export default {
	fetch(request: Request, env: Env): Promise<Response> {
		const url = new URL(request.url);
		return fetch(new URL(url.pathname + url.search, nextOrigin(env.ORIGIN)), request);
	},
};
