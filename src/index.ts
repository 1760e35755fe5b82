/**
 * Worker entry. fetch: /_lb/ on an admin hostname goes to the admin API (on any other hostname it
 * is a 404, never the admin API and never proxied); everything else is proxied. scheduled: the
 * active health sweep.
 */

import { isAdminHost, toAdminHostnames } from "./admin/auth";
import { ADMIN_API_BASE, adminRouter, RESERVED_PREFIX } from "./admin/router";
import { type Env, getRegistry, getShard } from "./env";
import { runHealthSweep } from "./health/sweep";
import { AffinityHeaderCache, type AffinityKey, toAffinityKeys } from "./proxy/affinity";
import { FailOpenPlanner } from "./proxy/fail-open";
import { toVisitorLocation } from "./proxy/location";
import { toUnusedLease } from "./proxy/outcome";
import { toProblemResponse } from "./proxy/problem";
import { proxyRequest } from "./proxy/proxy";
import { RetryBudget } from "./proxy/retry-budget";
import { RouteLanes, toRouteBatchWaitMs } from "./proxy/route-batch";
import { ShardedOutcomes, toShardedRemote, UnmatchedHostBudget } from "./proxy/sharded-registry";
import { toRelayedWebSocket } from "./proxy/websocket";
import type { RoutePlan } from "./registry/plan";
import type { OtherShard, ShardRouteRequest } from "./registry/shard";
import type { CompactPlan } from "./registry/wire";

/** One per isolate: outcomes of concurrent requests share one call per counter shard. */
let outcomes: ShardedOutcomes | undefined;
type RouteReply = RoutePlan | OtherShard | CompactPlan;
/** One per isolate: route requests that find a call to their shard already out share the next one. */
let routeLanes: RouteLanes<ShardRouteRequest, RouteReply> | undefined;
/** One per isolate: how often hostnames its copy does not know may be asked about. */
const unmatchedHosts = new UnmatchedHostBudget();
/** One per isolate: the registry's last state, to plan from when it does not answer. */
const planner = new FailOpenPlanner();
/** One per isolate: retries in flight stay within budget. */
const retryBudget = new RetryBudget();
/** One per isolate: which headers header-affinity hashes, per hostname. */
const affinityHeaders = new AffinityHeaderCache();
/** One per isolate: the keys that sign and verify affinity cookies (secrets do not change within one). */
let affinityKeys: AffinityKey[] | undefined;

export { Registry } from "./registry/registry";

function newRouteLanes(env: Env): RouteLanes<ShardRouteRequest, RouteReply> {
	const wait = toRouteBatchWaitMs(env.ROUTE_BATCH_WAIT_MS);
	if (wait.error) console.error(wait.error);
	// The stub's types lose the compact reply's tuple type (Rpc.Result maps arrays); it is unchanged.
	return new RouteLanes(
		{
			one: (shard, routeRequest) => getShard(env, shard).route(routeRequest) as Promise<RouteReply>,
			many: (shard, routeRequests) => getShard(env, shard).routeMany(routeRequests) as Promise<(RouteReply | Error)[]>,
		},
		{ maxWaitMs: wait.ms },
	);
}

export default {
	async fetch(request, env, ctx) {
		const url = new URL(request.url);
		if (url.pathname === RESERVED_PREFIX.slice(0, -1) || url.pathname.startsWith(RESERVED_PREFIX)) {
			const admin = isAdminHost(url.hostname, toAdminHostnames(env.ADMIN_HOSTNAMES));
			if (admin && (url.pathname === ADMIN_API_BASE || url.pathname.startsWith(`${ADMIN_API_BASE}/`))) {
				return adminRouter.fetch(request, env, ctx);
			}
			return toProblemResponse("not_found", { detail: `${url.pathname} is reserved and not served on this host` });
		}
		outcomes ??= new ShardedOutcomes((shard, batch) => getShard(env, shard).release(batch));
		const batcher = outcomes;
		const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise);
		routeLanes ??= newRouteLanes(env);
		const lanes = routeLanes;
		// Route calls go to the counter shard of the request's load balancer; outcomes ride along.
		const remote = toShardedRemote(
			planner,
			batcher,
			{
				route: (shard, routeRequest) => lanes.route(shard, routeRequest, waitUntil),
				stateCopy: () => getRegistry(env).stateCopy(),
			},
			unmatchedHosts,
			{ background: waitUntil },
		);
		// Resolved values only are shared between requests: the runtime ties pending promises to one.
		affinityKeys ??= await toAffinityKeys([
			env.AFFINITY_SECRET ?? (env.ADMIN_TOKEN ? `affinity-derived:${env.ADMIN_TOKEN}` : undefined),
			env.AFFINITY_SECRET_PREVIOUS,
		]);
		const lateLease = (leaseId: string) => batcher.giveBack([toUnusedLease(leaseId)]);
		return proxyRequest(request, planner.for(remote, waitUntil, lateLease), fetch, {
			locate: () => toVisitorLocation(request.cf, request.headers, env.DEV_GEO_HEADERS === "true"),
			affinity: { keys: affinityKeys, headerCache: affinityHeaders },
			report: (record) => batcher.add(record),
			url,
			waitUntil,
			retryBudget,
			relayWebSocket: toRelayedWebSocket,
		});
	},

	async scheduled(controller, env) {
		const registry = getRegistry(env);
		// The backstop: re-arm the registry's alarm (sub-minute checks) if it was lost, then sweep.
		await registry.ensureAlarm();
		const summary = await runHealthSweep(registry, fetch, Date.now, controller.scheduledTime);
		console.log(`health sweep: ${summary.probed} probed, ${summary.failed} failed`);
	},
} satisfies ExportedHandler<Env>;
