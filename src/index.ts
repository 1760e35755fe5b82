/**
 * Worker entry. fetch: /_lb/ on an admin hostname goes to the admin API, /_lb/metrics or the dashboard (on
 * any other hostname it is a 404, never the admin API and never proxied); everything else is
 * proxied, planned by the isolate's planner (src/isolate.ts). scheduled: re-arm the authority's
 * alarm, then run the probe round due at the cron's scheduled time.
 */

import { isAdminHost, toAdminHostnames } from "./admin/auth";
import { METRICS_PATH, serveMetrics } from "./admin/metrics-route";
import { ADMIN_API_BASE, adminRouter, RESERVED_PREFIX } from "./admin/router";
import { toOutcomeRecord, toUnusedLease } from "./contract/outcome";
import { toFixedOutcome, toFixedResponse } from "./edge/rule-matcher";
import type { Env } from "./env";
import { isolateFor, isolateOf } from "./isolate";
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
	async fetch(request, env, ctx) {
		const url = new URL(request.url);
		if (url.pathname === RESERVED_PREFIX.slice(0, -1) || url.pathname.startsWith(RESERVED_PREFIX)) {
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
		const isolate = isolateOf() ?? (await isolateFor(env));
		const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise);
		const lateLease = (leaseId: string) => isolate.giveBack([toUnusedLease(leaseId)]);
		const devGeo = env.DEV_GEO_HEADERS === "true";
		const colo = toColo(request.cf, request.headers, devGeo);
		const locate = () => toVisitorLocation(request.cf, request.headers, devGeo);
		const matching = isolate.matchRules(request, { url, colo, locate });
		const ruled = matching instanceof Promise ? await matching : matching;
		if (ruled?.fixedResponse) {
			// Answered here: no registry call. Its outcome goes with the others, for /status's counts.
			const response = toFixedResponse(ruled.fixedResponse, request.method);
			const record = toFixedOutcome(ruled, response.status, Date.now() - ruled.atMs);
			const sent = isolate.report(record);
			if (sent) ctx.waitUntil(sent);
			const { loadBalancer, names: rules } = ruled;
			isolate.observe?.({ loadBalancer, pool: "", record, bytes: 0, colo: colo ?? "", rules });
			return response;
		}
		const matched = ruled?.route.matched;
		const observe = isolate.observe;
		const rules = ruled?.names;
		return proxyRequest(request, isolate.planner.for(waitUntil, lateLease, ruled?.route), fetch, {
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
	},

	async scheduled(controller, env) {
		const authority = getAuthority(env);
		// The backstop: re-arm the authority's alarm (sub-minute checks) if it was lost, then the round due now.
		await authority.ensureAlarm();
		const summary = await authority.sweep(controller.scheduledTime);
		console.log(`health sweep: ${summary.probed} probed, ${summary.failed} failed`);
	},
} satisfies ExportedHandler<Env>;
