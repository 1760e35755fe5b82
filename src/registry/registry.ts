/**
 * The registry Durable Object: configuration, health and balancing counters for every load
 * balancer. A thin RPC surface over pure code (validate, plan, state machine); it only adds
 * memory (counters, last-check times) and SQLite persistence (configuration, health transitions).
 */
import { DurableObject } from "cloudflare:workers";
import { createOriginPolicy } from "../balancing";
import type { OriginPolicy } from "../balancing/policy";
import type { Config } from "../config/schema";
import { type FieldError, validateConfig } from "../config/validate";
import type { Env } from "../env";
import type { ProbeResult, ProbeTarget } from "../health/probe";
import { applyCheck, type HealthState, UNCHECKED } from "../health/state-machine";
import { toProbeTarget } from "../health/targets";
import { isPoolHealthy, planRoute, type RoutePlan } from "./plan";
import { poolOfKey, type Snapshot, toSnapshot } from "./snapshot";
import { loadConfig, loadHealth, migrate, pruneHealth, saveConfig, saveHealth } from "./storage";

/** Subrequests one cron invocation may spend on probes: the Free plan's 50, minus our two RPC calls. */
export const PROBE_SUBREQUEST_BUDGET = 48;
/** A probe due within this much of its interval is run now: cron fires once a minute, give or take. */
const DUE_SLACK_MS = 5_000;

interface OriginHealth {
	state: HealthState;
	lastCheckAt?: number;
	lastReason?: string;
	lastRttMs?: number;
	/** Set while a probe of this origin is out, until this time (ms); keeps probes from overlapping. */
	probingUntil?: number;
}

export type PutConfigResult =
	| { ok: true; version: number; changed: boolean; messages: string[] }
	| { ok: false; status: 400; errors: FieldError[] }
	| { ok: false; status: 412; version: number };

export interface OriginStatus {
	name: string;
	address: string;
	enabled: boolean;
	weight: number;
	healthy: boolean;
	monitored: boolean;
	last_check_at: string | null;
	last_check: string | null;
	rtt_ms: number | null;
	changed_at: string | null;
}

export interface PoolStatus {
	id: string;
	name: string;
	enabled: boolean;
	healthy: boolean;
	monitor: string | null;
	origins: OriginStatus[];
}

export interface StatusReport {
	version: number;
	load_balancers: { name: string; enabled: boolean; default_pools: string[]; fallback_pool: string }[];
	pools: PoolStatus[];
}

export class Registry extends DurableObject<Env> {
	private snapshot: Snapshot = toSnapshot({ monitors: [], pools: [], load_balancers: [] }, 0);
	private readonly health = new Map<string, OriginHealth>();
	private policies = new Map<string, OriginPolicy>();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => {
			const sql = ctx.storage.sql;
			migrate(sql);
			const { config, version } = loadConfig(sql);
			this.install(config, version);
			for (const [key, stored] of loadHealth(sql)) {
				this.health.set(key, {
					state: { healthy: stored.healthy, upStreak: 0, downStreak: 0, changedAt: stored.changedAt },
					lastReason: stored.reason,
				});
			}
		});
	}

	/** The hot path: which origins, in which order, should take a request for `hostname`. */
	route(hostname: string): RoutePlan {
		return planRoute(this.snapshot, hostname, {
			isHealthy: (key) => this.isOriginHealthy(key),
			policyFor: (poolId) => this.policyFor(poolId),
			random: Math.random,
		});
	}

	/** The configuration as a JSON document (kept as text: loose objects do not fit RPC's types). */
	getConfig(): { version: number; json: string } {
		return { version: this.snapshot.version, json: JSON.stringify(this.snapshot.config, null, 2) };
	}

	/**
	 * Validates and replaces the whole configuration, all or nothing. `ifMatch` is the version the
	 * caller last saw (412 when stale); `dryRun` validates and reports without storing.
	 */
	putConfig(input: unknown, options: { ifMatch?: number; dryRun?: boolean } = {}): PutConfigResult {
		const result = validateConfig(input);
		if (!result.ok) return { ok: false, status: 400, errors: result.errors };
		const current = this.snapshot.version;
		if (options.ifMatch !== undefined && options.ifMatch !== current)
			return { ok: false, status: 412, version: current };
		const changed = JSON.stringify(result.config) !== JSON.stringify(this.snapshot.config);
		if (options.dryRun || !changed) {
			return { ok: true, version: current, changed, messages: result.messages };
		}
		const version = current + 1;
		const snapshot = toSnapshot(result.config, version);
		const keys = new Set([...snapshot.pools.values()].flatMap((entry) => entry.origins.map((origin) => origin.key)));
		this.ctx.storage.transactionSync(() => {
			saveConfig(this.ctx.storage.sql, result.config, version);
			pruneHealth(this.ctx.storage.sql, keys);
		});
		this.install(result.config, version);
		for (const key of this.health.keys()) if (!keys.has(key)) this.health.delete(key);
		return { ok: true, version, changed, messages: result.messages };
	}

	/**
	 * Probes due now: origins of monitored pools whose last check is an interval old, oldest first,
	 * within the subrequest budget of one invocation. The rest stay due for the next sweep.
	 */
	dueProbes(now: number): ProbeTarget[] {
		const due: { target: ProbeTarget; lastCheckAt: number; cost: number; leaseMs: number }[] = [];
		for (const entry of this.snapshot.pools.values()) {
			const monitor = entry.monitor;
			if (!entry.pool.enabled || !monitor) continue;
			for (const origin of entry.origins) {
				if (!origin.enabled) continue;
				const health = this.health.get(origin.key);
				if (health?.probingUntil !== undefined && health.probingUntil > now) continue;
				const lastCheckAt = health?.lastCheckAt ?? 0;
				if (now - lastCheckAt < monitor.interval * 1000 - DUE_SLACK_MS) continue;
				const cost = monitor.retries + 1;
				due.push({ target: toProbeTarget(origin, monitor), lastCheckAt, cost, leaseMs: cost * monitor.timeout * 1000 });
			}
		}
		due.sort((a, b) => a.lastCheckAt - b.lastCheckAt);
		const chosen: ProbeTarget[] = [];
		let spent = 0;
		for (const item of due) {
			if (spent + item.cost > PROBE_SUBREQUEST_BUDGET) continue;
			spent += item.cost;
			chosen.push(item.target);
			this.healthOf(item.target.key).probingUntil = now + item.leaseMs + DUE_SLACK_MS;
		}
		return chosen;
	}

	/** Applies check results (rise/fall); writes only transitions, in one transaction. */
	recordProbes(results: ProbeResult[]): { transitions: number } {
		const changed: [string, OriginHealth][] = [];
		for (const result of results) {
			const entry = this.snapshot.pools.get(poolOfKey(result.key));
			const monitor = entry?.monitor;
			if (!monitor || !entry.origins.some((origin) => origin.key === result.key)) continue;
			const health = this.healthOf(result.key);
			const before = health.state.healthy;
			health.state = applyCheck(
				health.state,
				result.ok,
				{ consecutiveUp: monitor.consecutive_up, consecutiveDown: monitor.consecutive_down },
				result.at,
			);
			health.lastCheckAt = result.at;
			health.lastReason = result.reason;
			health.lastRttMs = result.rttMs;
			health.probingUntil = undefined;
			if (health.state.healthy !== before) changed.push([result.key, health]);
		}
		if (changed.length > 0) {
			this.ctx.storage.transactionSync(() => {
				for (const [key, health] of changed) {
					saveHealth(this.ctx.storage.sql, key, {
						healthy: health.state.healthy,
						changedAt: health.state.changedAt,
						reason: health.lastReason ?? "",
					});
				}
			});
		}
		return { transitions: changed.length };
	}

	status(): StatusReport {
		const isHealthy = (key: string) => this.isOriginHealthy(key);
		const config = this.snapshot.config;
		return {
			version: this.snapshot.version,
			load_balancers: config.load_balancers.map((lb) => ({
				name: lb.name,
				enabled: lb.enabled,
				default_pools: lb.default_pools,
				fallback_pool: lb.fallback_pool ?? (lb.default_pools.at(-1) as string),
			})),
			pools: [...this.snapshot.pools.values()].map((entry) => ({
				id: entry.pool.id,
				name: entry.pool.name,
				enabled: entry.pool.enabled,
				healthy: isPoolHealthy(entry, isHealthy),
				monitor: entry.monitor?.id ?? null,
				origins: entry.origins.map((origin, i) => {
					const health = this.health.get(origin.key);
					return {
						name: origin.name,
						address: entry.pool.origins[i]?.address ?? "",
						enabled: origin.enabled,
						weight: origin.weight,
						healthy: isHealthy(origin.key),
						monitored: entry.monitor !== undefined,
						last_check_at: toIso(health?.lastCheckAt),
						last_check: health?.lastReason ?? null,
						rtt_ms: health?.lastRttMs ?? null,
						changed_at: toIso(health?.state.changedAt),
					};
				}),
			})),
		};
	}

	private install(config: Config, version: number): void {
		this.snapshot = toSnapshot(config, version);
		this.policies = new Map();
	}

	private policyFor(poolId: string): OriginPolicy {
		let policy = this.policies.get(poolId);
		if (!policy) {
			const entry = this.snapshot.pools.get(poolId);
			policy = createOriginPolicy(entry?.pool.origin_steering.policy ?? "random");
			this.policies.set(poolId, policy);
		}
		return policy;
	}

	/** Unchecked origins and origins of pools without a monitor are healthy, as in Cloudflare. */
	private isOriginHealthy(key: string): boolean {
		if (!this.snapshot.pools.get(poolOfKey(key))?.monitor) return true;
		return this.health.get(key)?.state.healthy ?? true;
	}

	private healthOf(key: string): OriginHealth {
		let health = this.health.get(key);
		if (!health) {
			health = { state: UNCHECKED };
			this.health.set(key, health);
		}
		return health;
	}
}

function toIso(ms: number | undefined): string | null {
	return ms ? new Date(ms).toISOString() : null;
}
