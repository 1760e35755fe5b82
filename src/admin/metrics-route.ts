/**
 * GET /_lb/metrics on an admin hostname: Prometheus' scrape target. The read or the admin token as
 * a bearer token (Prometheus' `authorization` setting sends it), as the admin API; the body is the
 * authority's metrics report (health, and every counter object's counts gathered through the hubs)
 * in the text exposition format. Objects that did not answer are listed in the body, and the
 * scrape still answers 200 with what it has.
 */
import type { Env } from "../env";
import { METRICS_CONTENT_TYPE, toMetricsText } from "../observe/metrics-text";
import { getAuthority } from "../registry/objects";
import { authenticate } from "./auth";
import { AdminError, toFailure } from "./envelope";

export const METRICS_PATH = "/_lb/metrics";

export async function serveMetrics(request: Request, env: Env): Promise<Response> {
	if (request.method !== "GET" && request.method !== "HEAD") {
		return new Response("GET only\n", { status: 405, headers: { allow: "GET, HEAD" } });
	}
	try {
		await authenticate(request.headers.get("authorization"), env);
	} catch (error) {
		if (error instanceof AdminError) return toFailure(error);
		throw error;
	}
	let text: string;
	try {
		text = toMetricsText(await getAuthority(env).metrics());
	} catch (error) {
		console.error("switchyard: /_lb/metrics: the authority did not answer", error);
		return new Response("the registry did not answer; see the Worker's logs\n", { status: 503 });
	}
	return new Response(request.method === "HEAD" ? null : text, {
		headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
	});
}
