/**
 * Worker entry. fetch: /_lb/ on an admin hostname goes to the admin API, /_lb/metrics or the dashboard (on
 * any other hostname it is a 404, never the admin API and never proxied); everything else is
 * proxied, planned by the isolate's planner (src/isolate.ts). scheduled: re-arm the authority's
 * alarm, then run the probe round due at the cron's scheduled time.
 */

import { isAdminHost, toAdminHostnames } from "./admin/auth";
import { METRICS_PATH, serveMetrics } from "./admin/metrics-route";
import { ADMIN_API_BASE, adminRouter, RESERVED_PREFIX } from "./admin/router";
import { toOutcomeRecord } from "./contract/outcome";
import type { VisitorLocation } from "./contract/route";
import { type RuledRequest, toFixedOutcome, toFixedResponse } from "./edge/rule-matcher";
import type { Env } from "./env";
import { type Isolate, isolateFor, isolateOf } from "./isolate";
import { DASHBOARD_PATH, serveDashboard } from "./observe/dashboard-page";
import { toColo, toVisitorLocation } from "./proxy/location";
import { toProblemResponse } from "./proxy/problem";
import { proxyRequest } from "./proxy/proxy";
import { relayWebSocket } from "./proxy/websocket";
import { getAuthority } from "./registry/objects";

export { Counter } from "./registry/counter";
export { Hub } from "./registry/hub";
export { Prober } from "./registry/prober";
export { Registry } from "./registry/registry";

export default {
	// Not async: the usual request returns the proxy's own promise, with no promise of its own around it.
	fetch(request, env, ctx) {
		const url = new URL(request.url);
		const path = url.pathname;
		if (path === RESERVED_PREFIX.slice(0, -1) || path.startsWith(RESERVED_PREFIX))
			return serveReserved(request, env, ctx, url);
		const isolate = isolateOf();
		if (!isolate) return isolateFor(env).then((made) => proxied(made, request, env, ctx, url));
		return proxied(isolate, request, env, ctx, url);
	},

	async scheduled(controller, env) {
		const authority = getAuthority(env);
		// The backstop: re-arm the authority's alarm (sub-minute checks) if it was lost, then the round due now.
		await authority.ensureAlarm();
		const summary = await authority.sweep(controller.scheduledTime);
		console.log(`health sweep: ${summary.probed} probed, ${summary.failed} failed`);
	},
} satisfies ExportedHandler<Env>;

/** A request as the runtime hands it to the Worker (request.cf typed). */
type IncomingRequest = Request<unknown, IncomingRequestCfProperties>;

/** /_lb/ and below: the admin API, /_lb/metrics and the dashboard on an admin hostname; a 404 problem elsewhere. */
function serveReserved(request: Request, env: Env, ctx: ExecutionContext, url: URL): Response | Promise<Response> {
	const admin = isAdminHost(url.hostname, toAdminHostnames(env.ADMIN_HOSTNAMES));
	if (admin && (url.pathname === ADMIN_API_BASE || url.pathname.startsWith(`${ADMIN_API_BASE}/`))) {
		return adminRouter.fetch(request, env, ctx);
	}
	if (admin && url.pathname === METRICS_PATH) return serveMetrics(request, env);
	const dashboard = admin ? serveDashboard(request, url.pathname) : undefined;
	if (dashboard) return dashboard;
	if (admin && url.pathname === RESERVED_PREFIX.slice(0, -1))
		return Response.redirect(new URL(DASHBOARD_PATH, url).href, 308);
	return toProblemResponse("not_found", { detail: `${url.pathname} is reserved and not served on this host` });
}

/** A proxied request: its load balancing rules, then the proxy (or a rule's fixed response). */
function proxied(
	isolate: Isolate,
	request: IncomingRequest,
	env: Env,
	ctx: ExecutionContext,
	url: URL,
): Promise<Response> {
	const devGeo = env.DEV_GEO_HEADERS === "true";
	const colo = toColo(request.cf, request.headers, devGeo);
	const locate = () => toVisitorLocation(request.cf, request.headers, devGeo);
	const matching = isolate.matchRules(request, { url, colo, locate });
	if (matching instanceof Promise) {
		return matching.then((ruled) => proxiedAs(ruled, isolate, request, ctx, url, colo, locate));
	}
	return proxiedAs(matching, isolate, request, ctx, url, colo, locate);
}

function proxiedAs(
	ruled: RuledRequest | undefined,
	isolate: Isolate,
	request: Request,
	ctx: ExecutionContext,
	url: URL,
	colo: string | undefined,
	locate: () => VisitorLocation,
): Promise<Response> {
	if (ruled?.fixedResponse) {
		// Answered here: no registry call. Its outcome goes with the others, for /status's counts.
		const response = toFixedResponse(ruled.fixedResponse, request.method);
		const record = toFixedOutcome(ruled, response.status, Date.now() - ruled.atMs);
		const sent = isolate.report(record);
		if (sent) ctx.waitUntil(sent);
		const { loadBalancer, names: rules } = ruled;
		isolate.observe?.({ loadBalancer, pool: "", record, bytes: 0, colo: colo ?? "", rules });
		return Promise.resolve(response);
	}
	const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise);
	const matched = ruled?.route.matched;
	const observe = isolate.observe;
	const rules = ruled?.names;
	return proxyRequest(request, isolate.planner.for(waitUntil, isolate.lateLease, ruled?.route), fetch, {
		locate,
		colo,
		affinity: { keys: () => isolate.affinityKeys.current(colo), headerCache: isolate.affinityHeaders },
		report: matched ? (record) => isolate.report(toOutcomeRecord({ ...record, rules: matched })) : isolate.report,
		observe: observe && rules !== undefined ? (sample) => observe({ ...sample, rules }) : observe,
		url,
		waitUntil,
		retryBudget: isolate.retryBudget,
		relayWebSocket,
	});
}
