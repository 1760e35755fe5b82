/**
 * What one Worker isolate keeps between requests, wired once: the replica cache, the planner
 * (counter object first, the replica when it fails), route sharing, outcome batching, the retry
 * budget and the affinity keyring. Only resolved values are shared between requests: the runtime ties
 * pending promises and stubs to the request that made them, so every call is made by the request
 * that needs it (its waitUntil passed down).
 */

import { type OutcomeRecord, type RequestSample, toUnusedLease } from "./contract/outcome";
import { LOCAL_COLO, type ShardRouteRequest } from "./contract/route";
import type { RouteReply } from "./contract/wire";
import { AffinityKeyring } from "./edge/affinity-keyring";
import { CounterClient, type CounterStubs, UnmatchedHostBudget } from "./edge/counter-client";
import { CounterRtt } from "./edge/counter-rtt";
import { ISOLATE_OUTCOME_DELAY_MS, IsolateCounters } from "./edge/isolate-counters";
import { ShardedOutcomes } from "./edge/outcome-batcher";
import { EdgePlanner } from "./edge/planner";
import { ReplicaCache } from "./edge/replica-cache";
import { RouteLanes, toRouteBatchWaitMs } from "./edge/route-lanes";
import { matchRequestRules, type RuledRequest, type RuleFacts } from "./edge/rule-matcher";
import type { Env } from "./env";
import { analyticsObserver } from "./observe/analytics";
import { AffinityHeaderCache, type AffinityKey, toAffinityKeys } from "./proxy/affinity";
import { RetryBudget } from "./proxy/retry-budget";
import { getAuthority, getCounter, getHub } from "./registry/objects";
import { AUTHORITY, fromCounterKey } from "./routing/shard-keys";
import { toWireOutcomes, toWireRoute } from "./routing/wire";

export interface Isolate {
	readonly planner: EdgePlanner;
	/** A request's outcome: its lease ends here if this isolate planned it, and it goes to its counter object. */
	readonly report: (record: OutcomeRecord) => Promise<void> | undefined;
	/** Leases given back unused (a plan that came too late): ended here if ours, and sent on. */
	readonly giveBack: (records: readonly OutcomeRecord[]) => Promise<unknown> | undefined;
	/** The lease of a plan that came after its request gave up on it: given back. */
	readonly lateLease: (leaseId: string) => Promise<unknown> | undefined;
	readonly retryBudget: RetryBudget;
	readonly affinityHeaders: AffinityHeaderCache;
	/** Session affinity keys: the operator's AFFINITY_SECRET, or the authority's generated keys from the replica. */
	readonly affinityKeys: AffinityKeyring;
	/** Writes a finished request to Analytics Engine; undefined when ANALYTICS is not bound. */
	readonly observe: ((sample: RequestSample) => void) | undefined;
	/**
	 * The load balancing rules a request matches (edge/rule-matcher.ts); a promise only in a cold
	 * isolate, which fetches its replica first (the plan would wait for it anyway).
	 */
	readonly matchRules: (
		request: Request,
		facts: RuleFacts,
	) => RuledRequest | undefined | Promise<RuledRequest | undefined>;
}

let isolate: Isolate | undefined;

/** The isolate's state once its first request made it (no await on the hot path). */
export function isolateOf(): Isolate | undefined {
	return isolate;
}

/** The isolate's state, made by its first request. */
export async function isolateFor(env: Env): Promise<Isolate> {
	if (isolate) return isolate;
	// Resolved before it is shared: the operator's affinity secrets are the only asynchronous part.
	const fixedKeys = env.AFFINITY_SECRET
		? await toAffinityKeys([env.AFFINITY_SECRET, env.AFFINITY_SECRET_PREVIOUS])
		: undefined;
	isolate ??= wireIsolate(env, fixedKeys);
	return isolate;
}

/** A fresh isolate's wiring (isolateFor keeps one; tests make their own). */
export function wireIsolate(env: Env, fixedAffinityKeys?: readonly AffinityKey[]): Isolate {
	const wait = toRouteBatchWaitMs(env.ROUTE_BATCH_WAIT_MS);
	if (wait.error) console.error(wait.error);
	// Requests that find a call to their counter object already out share the next one. (The stub's
	// types lose the compact reply's tuple type: Rpc.Result maps arrays; it is unchanged.)
	// Every call to a counter object is timed: over a load balancer's counter_rtt_budget_ms, the isolate plans.
	const rtt = new CounterRtt();
	const lanes = new RouteLanes<ShardRouteRequest, RouteReply>(
		{
			one: (key, request) =>
				rtt.time(key, () => getCounter(env, key).route(toWireRoute(request)) as Promise<RouteReply>),
			many: (key, requests) =>
				rtt.time(
					key,
					() => getCounter(env, key).routeMany(requests.map(toWireRoute)) as Promise<(RouteReply | Error)[]>,
				),
		},
		{ maxWaitMs: wait.ms },
	);
	const stubs: CounterStubs = {
		// A hostname the replica does not know: the authority says which counter object plans it
		// (a few a second at most, counter-client.ts), never shared, never a counter object of its own.
		route: (key, request, background) =>
			key === AUTHORITY
				? (getAuthority(env).resolve(request.hostname, request.colo) as Promise<RouteReply>)
				: lanes.route(key, request, background),
		replica: (held, colo) => getHub(env, colo ?? LOCAL_COLO).replica(held),
	};
	// Leases name the counter object that issued them (or, in the isolate scope, that hears of them);
	// none comes from the authority. An isolate planning by itself says what it has in flight.
	const replicas = new ReplicaCache();
	// The isolate's cores plan from the replica cache's one state (not a copy each).
	const local = new IsolateCounters(undefined, undefined, () => replicas.routingState);
	const outcomes = new ShardedOutcomes(
		async (key, batch) => {
			if (key === AUTHORITY) return;
			const wire = toWireOutcomes(batch);
			const reply = await rtt.time(key, () => getCounter(env, key).release(wire, local.reportFor(key, Date.now())));
			// The object's replica may be newer than ours: news even where no route reply brings any.
			await replicas.refreshFor(reply.state, stubs, fromCounterKey(key).colo ?? undefined);
		},
		undefined,
		// No route call carries the outcomes of requests this isolate planned: they go in batches a
		// second apart (which, over a budget, keep measuring the object).
		(key) => (local.plansFor(key) ? ISOLATE_OUTCOME_DELAY_MS : undefined),
	);
	const client = new CounterClient(replicas, outcomes, stubs, new UnmatchedHostBudget(), { rtt }, local);
	const giveBack = (records: readonly OutcomeRecord[]) => {
		for (const record of records) local.release(record);
		return outcomes.giveBack(records);
	};
	return {
		planner: new EdgePlanner(replicas, client, stubs),
		report: (record) => {
			local.release(record);
			return outcomes.add(record);
		},
		giveBack,
		lateLease: (leaseId) => giveBack([toUnusedLease(leaseId)]),
		retryBudget: new RetryBudget(),
		affinityHeaders: new AffinityHeaderCache(),
		affinityKeys: new AffinityKeyring(replicas, (colo) => client.ensureReplica(colo), fixedAffinityKeys),
		matchRules: (request, facts) => {
			if (replicas.hasReplica) return matchRequestRules(replicas, request, facts);
			// No replica, no rules to match: the planner reports the hub's failure as it always does.
			return client.ensureReplica(facts.colo).then(
				() => matchRequestRules(replicas, request, facts),
				() => undefined,
			);
		},
		// The sample rate from the replica the request was planned with (1 before there is one).
		observe: analyticsObserver(
			env.ANALYTICS,
			(name) => replicas.routingState?.snapshot.loadBalancers.get(name)?.analytics_sample_rate ?? 1,
		),
	};
}
