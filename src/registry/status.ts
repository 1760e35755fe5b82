/**
 * The authority's answers about what is happening: /status (configuration, health and drains as
 * the authority holds them, with every counter object's counters added up) and /events (the audit
 * log and health transitions, newest first).
 */

import type { LoadBalancer, Pool } from "../config/schema";
import type { CounterReport, ShardCounters } from "../contract/counters";
import type {
	ConfigChange,
	CounterStatus,
	EventEntry,
	OriginStatus,
	PoolStatus,
	RuleStatus,
	StatusReport,
} from "../contract/status";
import { withTimeout } from "../deadline";
import type { Env } from "../env";
import { MAX_CALLS_PER_INVOCATION } from "../routing/fan-out";
import { isPoolHealthy } from "../routing/plan";
import type { RoutingState } from "../routing/routing-state";
import { fromCounterKey, HUB_KEY_PREFIX, mergeShardCounters } from "../routing/shard-keys";
import { type OriginEntry, poolOfKey, toOriginKey } from "../routing/snapshot";
import { toRuleName } from "../rules/rule-set";
import { listAlertEvents } from "./notifications";
import { toCheckRegions, toOriginRegions, toPoolRegions } from "./region-status";
import { listAudit, listHealthEvents } from "./storage";

/** A hub waits this long at most for each of its counter objects' counters. */
export const COUNTER_STATUS_TIMEOUT_MS = 2_000;
/** /status waits this long at most for each hub (which waits for its counter objects). */
export const HUB_STATUS_TIMEOUT_MS = COUNTER_STATUS_TIMEOUT_MS + 500;

/**
 * The reports of `keys`, asked in parallel, at most `maxCalls` of them (one invocation's worth);
 * one that does not answer in time, or is not asked, is reported so.
 */
export async function askWithin<T>(
	keys: readonly string[],
	maxCalls: number,
	timeoutMs: number,
	ask: (key: string) => Promise<T>,
): Promise<{ key: string; answer?: T; error?: string }[]> {
	return Promise.all(
		keys.map(async (key, i) => {
			if (i >= maxCalls) return { key, error: `not asked: more than ${maxCalls} in one invocation` };
			try {
				return { key, answer: await withTimeout(ask(key), timeoutMs, `${key} did not answer within ${timeoutMs} ms`) };
			} catch (error) {
				return { key, error: error instanceof Error ? error.message : String(error) };
			}
		}),
	);
}

/**
 * The counter objects' reports gathered from the hubs, each object once (a global-scope object that
 * restarted may be on two hubs' lists for a while: its answered report wins). A hub that did not
 * answer is listed under its own name.
 */
export function toCounterReports(
	hubs: readonly { key: string; answer?: readonly CounterReport[]; error?: string }[],
): CounterReport[] {
	const byKey = new Map<string, CounterReport>();
	for (const hub of hubs) {
		const reports = hub.answer ?? [{ key: hub.key, answered: false, ...(hub.error ? { error: hub.error } : {}) }];
		for (const report of reports) {
			const seen = byKey.get(report.key);
			if (!seen || (!seen.answered && report.answered)) byKey.set(report.key, report);
		}
	}
	return [...byKey.values()];
}

/**
 * Every counter object's report, asked of the `hubs` in parallel within one invocation's calls
 * (each hub asks its counter objects within one invocation's calls of its own).
 */
export async function gatherCounterReports(
	env: Env,
	hubs: readonly string[],
	withMetrics: boolean,
): Promise<CounterReport[]> {
	const ask = (hub: string) => env.HUBS.getByName(hub).counters(withMetrics);
	return toCounterReports(await askWithin(hubs, MAX_CALLS_PER_INVOCATION, HUB_STATUS_TIMEOUT_MS, ask));
}

/** The status report from the authority's state and what the counter objects answered. */
export function toStatusReport(
	routing: RoutingState,
	loadErrors: readonly string[],
	reports: readonly CounterReport[],
	now: number,
): StatusReport {
	const answered = reports.flatMap((report) => (report.counters ? [report.counters] : []));
	// The authority's own: ejections it accepted, shown even while the object that made one does not answer.
	const own = {
		inFlight: {},
		passiveFailures: {},
		ejectedUntil: Object.fromEntries(routing.outliers.ejections(now).map((ejection) => [ejection.key, ejection.until])),
	};
	const merged = mergeShardCounters([own, ...answered]);
	// An origin some counter object has ejected is out of rotation there, even before the authority heard of it.
	const healthAt = routing.healthAt(now);
	const isHealthy = (key: string) => healthAt(key) && !((merged.ejectedUntil[key] ?? 0) > now);
	const { snapshot } = routing;
	const config = snapshot.config;
	// A discovered origin's weight as registered or resolved (the snapshot's is scaled with its pool's).
	const discoveredWeights = new Map(
		routing.discovered.map((origin) => [toOriginKey(origin.pool, origin.name), origin.weight]),
	);
	return {
		version: snapshot.version,
		...(loadErrors.length > 0 ? { load_errors: [...loadErrors] } : {}),
		load_balancers: config.load_balancers.map((lb) => ({
			name: lb.name,
			enabled: lb.enabled,
			default_pools: lb.default_pools,
			fallback_pool: lb.fallback_pool ?? (lb.default_pools.at(-1) as string),
			...(lb.rules?.length ? { rules: toRuleStatuses(lb, reports) } : {}),
		})),
		pools: [...snapshot.pools.values()].map((entry) => ({
			id: entry.pool.id,
			name: entry.pool.name,
			enabled: entry.pool.enabled,
			healthy: isPoolHealthy(entry, isHealthy, (key) => routing.drains.has(key)),
			monitor: entry.pool.monitor ?? null,
			rtt_ewma_ms: routing.poolFacts(entry.pool.id, now).rttMs ?? null,
			...toSheddingStatus(entry.pool, answered),
			regions: toPoolRegions(entry, (key) => routing.health.get(key)),
			origins: entry.origins.map((origin, i) => {
				const health = routing.health.get(origin.key);
				const healthy = isHealthy(origin.key);
				const warmth = routing.warmthOf(origin.key, now);
				return {
					name: origin.name,
					address: entry.pool.origins[i]?.address ?? origin.address ?? "",
					enabled: origin.enabled,
					weight: entry.pool.origins[i]?.weight ?? discoveredWeights.get(origin.key) ?? origin.weight,
					healthy,
					monitored: entry.monitor !== undefined,
					// Monitored, and no check has spoken since it was added or its address changed.
					pending: entry.monitor !== undefined && (health === undefined || health.state.pending === true),
					in_flight: merged.inFlight[origin.key] ?? 0,
					draining: routing.drains.has(origin.key),
					draining_since: toIso(routing.drains.get(origin.key)?.since),
					last_check_at: toIso(health?.lastCheckAt),
					last_check: health?.lastReason ?? null,
					// While it is down: what took it down, even when the checks bringing it back already pass.
					last_error: healthy ? null : (health?.lastFailure ?? health?.lastReason ?? null),
					rtt_ms: health?.lastRttMs ?? null,
					rtt_ewma_ms: health?.rttEwmaMs === undefined ? null : Math.round(health.rttEwmaMs * 10) / 10,
					passive_failures: merged.passiveFailures[origin.key] ?? 0,
					ejected_until: toIso(merged.ejectedUntil[origin.key]),
					slow_start: warmth < 1 ? Math.round(warmth * 100) / 100 : null,
					changed_at: toIso(health?.state.changedAt),
					regions: toOriginRegions(toCheckRegions(entry.pool.check_regions), health),
					...(origin.discovered === undefined ? {} : toDiscoveredStatus(origin, routing.leases.get(origin.key))),
				};
			}),
		})),
		counters: reports.map((report) => toCounterStatus(report, snapshot.loadBalancers)),
	};
}

/** What /status adds for an origin found at run time: how, and a registered one's lease. */
function toDiscoveredStatus(origin: OriginEntry, expiresAt: number | undefined): Partial<OriginStatus> {
	if (origin.discovered === "registration") {
		return { discovered: "registration", registered: true, expires_at: toIso(expiresAt) };
	}
	return { discovered: "dns", tier: origin.tier ?? 0 };
}

/** A load balancer's rules with their matches, summed over its counter objects' reports. */
function toRuleStatuses(lb: LoadBalancer, reports: readonly CounterReport[]): RuleStatus[] {
	const matched = new Map<string, number>();
	for (const report of reports) {
		if (!report.counters?.rules || report.key.startsWith(HUB_KEY_PREFIX)) continue;
		if (fromCounterKey(report.key).loadBalancer !== lb.name) continue;
		for (const [name, count] of Object.entries(report.counters.rules))
			matched.set(name, (matched.get(name) ?? 0) + count);
	}
	return (lb.rules ?? []).map((rule, i) => {
		const name = toRuleName(rule, i);
		return { name, disabled: rule.disabled === true, matched: matched.get(name) ?? 0 };
	});
}

function toCounterStatus(report: CounterReport, loadBalancers: ReadonlyMap<string, LoadBalancer>): CounterStatus {
	// A hub that did not answer: its data center, no load balancer.
	if (report.key.startsWith(HUB_KEY_PREFIX)) {
		const colo = report.key.slice(HUB_KEY_PREFIX.length);
		return {
			name: report.key,
			load_balancer: null,
			scope: null,
			colo,
			routed: 0,
			route_calls: 0,
			planned_over_budget: 0,
			in_flight: 0,
			answered: false,
			...(report.error !== undefined ? { error: report.error } : {}),
		};
	}
	const { loadBalancer, colo } = fromCounterKey(report.key);
	const counters = report.counters;
	const inFlight = Object.values(counters?.inFlight ?? {}).reduce((sum, count) => sum + count, 0);
	const scope = loadBalancers.get(loadBalancer)?.counter_scope ?? null;
	return {
		name: report.key,
		load_balancer: loadBalancer,
		scope,
		colo,
		routed: counters?.traffic?.routed ?? 0,
		route_calls: counters?.traffic?.routeCalls ?? 0,
		planned_over_budget: scope === "isolate" ? 0 : (counters?.traffic?.plannedByIsolates ?? 0),
		in_flight: inFlight,
		answered: report.answered,
		...(report.error !== undefined ? { error: report.error } : {}),
	};
}

/** A pool's load shedding: its settings (when it sheds anything) and the requests shed from it. */
function toSheddingStatus(pool: Pool, answered: readonly ShardCounters[]): Pick<PoolStatus, "load_shedding" | "shed"> {
	const settings = pool.load_shedding;
	const sheds = settings !== undefined && (settings.default_percent > 0 || settings.session_percent > 0);
	let shed = 0;
	for (const counters of answered) {
		const counts = counters.traffic?.shed;
		if (counts && Object.hasOwn(counts, pool.id)) shed += counts[pool.id] ?? 0;
	}
	return {
		load_shedding: sheds
			? {
					default_percent: settings.default_percent,
					default_policy: settings.default_policy,
					session_percent: settings.session_percent,
					session_policy: settings.session_policy,
				}
			: null,
		shed,
	};
}

/** The audit log and health transitions, newest first. */
export function listEvents(sql: SqlStorage, limit: number): EventEntry[] {
	const config: EventEntry[] = listAudit(sql, limit).map((entry) => ({
		type: "config",
		at: new Date(entry.at).toISOString(),
		actor: entry.actor,
		action: entry.action,
		version: entry.version,
		changes: JSON.parse(entry.detail) as ConfigChange[],
	}));
	const health: EventEntry[] = listHealthEvents(sql, limit).map((event) => ({
		type: "health",
		at: new Date(event.at).toISOString(),
		pool: poolOfKey(event.originKey),
		origin: event.originKey.slice(poolOfKey(event.originKey).length + 1),
		healthy: event.healthy,
		reason: event.reason,
	}));
	return [...config, ...health, ...listAlertEvents(sql, limit)]
		.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
		.slice(0, limit);
}

export function toIso(ms: number | undefined): string | null {
	return ms ? new Date(ms).toISOString() : null;
}
