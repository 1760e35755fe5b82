/**
 * The registry Durable Object, in one of two roles (src/registry/shard.ts). The authority
 * ("global") holds configuration, health, drains, events and the audit log, runs the alarm and
 * answers the admin API. Counter shards (one per load balancer) answer `route` and `release` from
 * a copy of the authority's state and keep the counters in memory: leases, policy cursors,
 * latency EWMAs, passive health. A thin RPC surface over pure code (validate, operations, diff,
 * plan, state machine); it only adds memory (counters, last-check times), the authority's SQLite
 * persistence (configuration, its audit log, health transitions, drains) and the copying of state
 * between the two roles.
 *
 * Configuration documents cross RPC as JSON text: loose objects (unknown fields kept) do not fit
 * RPC's serialisable types, and the admin API sends them on as text anyway.
 */
import { DurableObject } from "cloudflare:workers";
import { createOriginPolicy } from "../balancing";
import { type PeakEwma, updatePeakEwma } from "../balancing/ewma";
import type { OriginPolicy } from "../balancing/policy";
import { type ConfigChange, diffConfig } from "../config/diff";
import { applyOperation, type ConfigDocument, type ConfigOperation, toDocument } from "../config/operations";
import type { Config, LoadBalancer } from "../config/schema";
import { outlierDetectionSchema } from "../config/schema";
import { type FieldError, validateConfig } from "../config/validate";
import { type Env, getRegistry } from "../env";
import { type Ejection, type OutlierSettings, OutlierTracker } from "../health/outliers";
import type { ProbeResult, ProbeTarget } from "../health/probe";
import { probe } from "../health/probe";
import { toSlowStartFactor } from "../health/slow-start";
import { applyCheck, type HealthState, UNCHECKED } from "../health/state-machine";
import { MAX_CONCURRENT_PROBES, mapWithLimit } from "../health/sweep";
import { toProbeTarget } from "../health/targets";
import type { StateCopy } from "../proxy/fail-open";
import type { OutcomeRecord } from "../proxy/outcome";
import type { RouteRequest } from "../proxy/proxy";
import type { Seed } from "../seed/seed";
import { SEED } from "../seed/seed.generated";
import type { PoolFacts } from "../steering/policy";
import { LeaseTable } from "./leases";
import { isPoolHealthy, planRoute, poolsOf, type RoutePlan } from "./plan";
import {
	AUTHORITY,
	type CopyMark,
	isAuthority,
	isDueForRevalidation,
	isForOtherShard,
	isNewerCopy,
	mergeShardCounters,
	type OtherShard,
	REVALIDATE_MS,
	type ReportedEjection,
	type ShardCopy,
	type ShardCounters,
	type ShardRouteRequest,
	shardKeyFor,
	toLeasePrefix,
	toShardKeys,
} from "./shard";
import { findLoadBalancer, type PoolEntry, poolOfKey, type Snapshot, toOriginKey, toSnapshot } from "./snapshot";
import {
	appendAudit,
	appendHealthEvent,
	type Drain,
	getMeta,
	listAudit,
	listHealthEvents,
	loadConfig,
	loadDrains,
	loadHealth,
	migrate,
	pruneOriginState,
	saveConfig,
	saveDrain,
	saveHealth,
	setMeta,
} from "./storage";
import { type CompactPlan, toCompactPlan } from "./wire";

const EMPTY_CONFIG: Config = { monitors: [], pools: [], load_balancers: [] };
const DEFAULT_OUTLIERS: OutlierSettings = outlierDetectionSchema.parse({});
/** Weight of a new round-trip time in an origin's health-check RTT average. */
const RTT_EWMA_ALPHA = 0.3;
/** The alarm never fires more often than this, whatever the monitors ask. */
const MIN_ALARM_GAP_MS = 1000;

/** Subrequests one cron invocation may spend on probes: the Free plan's 50, minus our two RPC calls. */
export const PROBE_SUBREQUEST_BUDGET = 48;
/** A probe due within this much of its interval is run now: cron fires once a minute, give or take. */
const DUE_SLACK_MS = 5_000;
/**
 * Admin writes and probe results wait this long at most for the push of their change to the
 * counter shards, so an admin client normally reads its own write through any load balancer; a
 * slow or lost push only makes the change eventual (see REVALIDATE_MS).
 */
const PUSH_WAIT_MS = 1_000;
/** /status waits this long at most for each shard's counters; a shard that does not answer is reported. */
const SHARD_STATUS_TIMEOUT_MS = 2_000;

interface OriginHealth {
	state: HealthState;
	lastCheckAt?: number;
	lastReason?: string;
	lastRttMs?: number;
	/** Moving average of successful checks' round-trip times. */
	rttEwmaMs?: number;
	/** The reason of the last failed check. */
	lastFailure?: string;
	/** The sweep time this origin was last handed out at: the clock its interval is measured on. */
	dueAt?: number;
	/** Set while a probe of this origin is out, until this time (ms); keeps probes from overlapping. */
	probingUntil?: number;
}

export interface WriteOptions {
	/** The config version the caller last read; a different current version refuses the write (412). */
	readonly ifMatch?: number;
	/** Validate and report, store nothing. */
	readonly dryRun?: boolean;
	/** Who asks: a token id such as "admin:1a2b3c4d", or "seed". */
	readonly actor: string;
}

export type WriteResult =
	| {
			ok: true;
			version: number;
			changed: boolean;
			messages: string[];
			changes: ConfigChange[];
			/** JSON of the object the operation named (for CRUD writes), or of the whole document. */
			resultJson: string;
	  }
	| { ok: false; status: 400; errors: FieldError[] }
	| { ok: false; status: 404 | 409; message: string; field?: string }
	| { ok: false; status: 412; version: number };

export interface OriginStatus {
	name: string;
	address: string;
	enabled: boolean;
	weight: number;
	healthy: boolean;
	monitored: boolean;
	/** Requests sent to it whose response body has not ended yet. */
	in_flight: number;
	draining: boolean;
	draining_since: string | null;
	last_check_at: string | null;
	last_check: string | null;
	last_error: string | null;
	rtt_ms: number | null;
	/** Moving average of successful health checks' round-trip times. */
	rtt_ewma_ms: number | null;
	/** Failed requests in a row (passive health). */
	passive_failures: number;
	/** Set while passive health has ejected it. */
	ejected_until: string | null;
	/** While warming up after becoming healthy: the share of its weight it takes (0.1–1). */
	slow_start: number | null;
	changed_at: string | null;
}

export interface PoolStatus {
	id: string;
	name: string;
	enabled: boolean;
	healthy: boolean;
	monitor: string | null;
	/** Average of its origins' health-check RTT averages. */
	rtt_ewma_ms: number | null;
	origins: OriginStatus[];
}

export interface ShardStatus {
	/** The counter shard's key, e.g. "lb:www.example.com". */
	key: string;
	load_balancers: string[];
	/** False when it did not answer in time: its requests in flight are missing from the counts. */
	answered: boolean;
	error?: string;
	/** Since the shard started: requests it planned, and the route calls they came in (fewer when requests share one). */
	routed?: number;
	route_calls?: number;
}

export interface StatusReport {
	version: number;
	/** Set when the stored configuration could not be loaded; PUT a new one. */
	load_errors?: string[];
	load_balancers: { name: string; enabled: boolean; default_pools: string[]; fallback_pool: string }[];
	pools: PoolStatus[];
	/** The counter shards whose counts (in flight, passive health) the origins show. */
	shards: ShardStatus[];
}

export type EventEntry =
	| { type: "config"; at: string; actor: string; action: string; version: number; changes: ConfigChange[] }
	| { type: "health"; at: string; pool: string; origin: string; healthy: boolean; reason: string };

export type DrainResult =
	| { ok: true; pool: string; origin: string; draining: boolean; since: string | null }
	| { ok: false; status: 404; message: string };

export class Registry extends DurableObject<Env> {
	private snapshot: Snapshot = toSnapshot(EMPTY_CONFIG, 0);
	private readonly health = new Map<string, OriginHealth>();
	private drains = new Map<string, Drain>();
	private policies = new Map<string, OriginPolicy>();
	private readonly leases: LeaseTable;
	/** Peak-EWMA of each origin's time to first byte, from released outcomes. */
	private readonly latency = new Map<string, PeakEwma>();
	/** Peak-EWMA of each pool's time to first byte as seen from each colo ("<pool>\0<colo>"), for dynamic_latency. */
	private readonly coloLatency = new Map<string, PeakEwma>();
	private affinityPolicies = new Map<string, OriginPolicy>();
	private readonly counters = { calls: 0, routed: 0, rowsWritten: 0, byMethod: {} as Record<string, number> };
	/**
	 * Moves whenever configuration, health or drains change: the version of what Workers copy to fail
	 * open and of what they learned per hostname. Starts from the clock, so a restarted registry never
	 * repeats a number an isolate has already seen.
	 */
	private state = Date.now() * 1000;
	/** Passive health: failures of real traffic, ejections. */
	private readonly outliers = new OutlierTracker();
	/** Health events noticed on the hot path (ejections), written by the next alarm in one batch. */
	private pendingEvents: { at: number; originKey: string; healthy: boolean; reason: string }[] = [];
	/** When an origin last became healthy or was added: the start of its slow start. */
	private readonly healthySince = new Map<string, number>();
	/** Until when some origin is still in its slow start (0: none is); see noteWarming. */
	private warmingUntil = 0;
	/** Per pool: the outlier detection and slow start settings of the first load balancer using it. */
	private poolSettings = new Map<string, { outliers: OutlierSettings; slowStartS: number }>();
	/** The object's SQLite, counting the rows every write statement changes. */
	private readonly sql: SqlStorage;
	/** Why the stored configuration could not be loaded (written by an older version, say); empty when fine. */
	private loadErrors: string[] = [];
	/** The name this object was addressed by: AUTHORITY, or a counter shard's key. */
	private readonly shardKey: string;
	/** The authority holds configuration and health; a counter shard only a copy of them. */
	private readonly authority: boolean;
	/** Rounds of health checks applied (authority), or of the copy held (shard): RTT averages move with it. */
	private checks = 0;
	/** Authority: set once started, so state moves from then on are pushed to the shards. */
	private pushing = false;
	private pushQueued = false;
	/** Authority: the latest push to the shards (resolved when done, failed or not). */
	private pushed: Promise<void> = Promise.resolve();
	/**
	 * Authority: shards of load balancers a change removed. They still get the next push: isolates
	 * with an older copy may send them requests, which they must now answer from the new one.
	 */
	private readonly retiredShards = new Set<string>();
	/** Shard: which copy of the authority's state it holds; undefined until it has one. */
	private copyMark: CopyMark | undefined;
	private copyConfigJson: string | undefined;
	/** Shard: when the copy was last confirmed current (or replaced), and whether a check is out. */
	private validatedAt = 0;
	private validating = false;
	/** Shard: ejections not yet reported to the authority, and when to try again after a failed report. */
	private unreported: ReportedEjection[] = [];
	private reportAfter = 0;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.shardKey = ctx.id.name ?? AUTHORITY;
		this.authority = isAuthority(ctx.id.name);
		// Each lease names its shard, so the Worker sends its release back there.
		this.leases = new LeaseTable(toLeasePrefix(this.shardKey, crypto.randomUUID().slice(0, 8)));
		this.sql = toCountingSql(ctx.storage.sql, (rows) => {
			this.counters.rowsWritten += rows;
		});
		// A counter shard keeps nothing in storage: its state comes from the authority (ensureCopy).
		if (!this.authority) return;
		ctx.blockConcurrencyWhile(async () => {
			const sql = this.sql;
			migrate(sql);
			const { config, version } = loadConfig(sql);
			// Stored documents go through today's validation: defaults added since are filled in, and a
			// document this version refuses leaves the registry empty but working, not wedged.
			const checked = validateConfig(config);
			if (checked.ok) {
				this.install(checked.config, version);
			} else {
				this.loadErrors = checked.errors.map((error) => `${error.path}: ${error.message}`);
				console.error(
					`switchyard: the stored configuration (version ${version}) is invalid: ${this.loadErrors.join("; ")}`,
				);
				this.install(EMPTY_CONFIG, version);
			}
			for (const [key, stored] of loadHealth(sql)) {
				this.health.set(key, {
					state: { healthy: stored.healthy, upStreak: 0, downStreak: 0, changedAt: stored.changedAt },
					lastReason: stored.reason,
				});
			}
			this.drains = loadDrains(sql);
			if (SEED) this.applySeed(SEED, Date.now());
			// Not before: shards that outlived a restart see the new state when they next revalidate.
			this.pushing = true;
		});
	}

	/**
	 * The hot path: which origins, in which order, should take a request for `hostname`, with a
	 * lease that counts the request in flight on the chosen origin until its outcome is released.
	 * A first try (`shardTry` 1) for a load balancer whose counters live in another shard is sent on
	 * there instead (the authority keeps none, so it sends every one on).
	 */
	async route(request: ShardRouteRequest): Promise<RoutePlan | OtherShard | CompactPlan> {
		this.count("route");
		return this.routeOne(request);
	}

	/**
	 * Several route requests in one call (src/proxy/route-batch.ts), planned one after another in
	 * this order, exactly as separate `route` calls arriving in this order would be. A request that
	 * cannot be planned gets its Error in its place; the others are planned all the same.
	 */
	async routeMany(requests: readonly ShardRouteRequest[]): Promise<(RoutePlan | OtherShard | CompactPlan | Error)[]> {
		this.count("routeMany");
		const replies: (RoutePlan | OtherShard | CompactPlan | Error)[] = [];
		for (const request of requests) {
			try {
				replies.push(await this.routeOne(request));
			} catch (error) {
				replies.push(error instanceof Error ? error : new Error(String(error)));
			}
		}
		return replies;
	}

	private async routeOne(request: ShardRouteRequest): Promise<RoutePlan | OtherShard | CompactPlan> {
		this.counters.routed++;
		if (!this.copyMark && !this.authority) await this.ensureCopy();
		if (request.releases?.length) this.applyOutcomes(request.releases);
		const now = Date.now();
		this.afterOutcomes(now);
		const lb = findLoadBalancer(this.snapshot, request.hostname);
		if (lb && isForOtherShard(request, this.shardKey, lb.name)) {
			return {
				ok: false,
				problem: "other_shard",
				loadBalancer: lb.name,
				shard: shardKeyFor(lb.name),
				state: this.state,
			};
		}
		const colo = request.location?.colo;
		const plan = planRoute(
			this.snapshot,
			request.hostname,
			{
				isHealthy: (key) => this.isOriginHealthy(key, now),
				isDraining: (key) => this.drains.has(key),
				policyFor: (poolId) => this.policyFor(poolId),
				random: Math.random,
				inFlight: (key) => this.leases.inFlight(key),
				// Decayed as of now (Finagle decays on read too), so an origin that was slow once recovers.
				latencyMs: (key) => {
					const stored = this.latency.get(key);
					return stored && updatePeakEwma(stored, 0, now).valueMs;
				},
				hashKey: request.clientIp,
				now,
				// Slow start only while some origin is still warming: otherwise every share is 1.
				...(now < this.warmingUntil ? { warmth: (key: string) => this.warmthOf(key, now) } : {}),
				steering: {
					...(request.location ? { location: request.location } : {}),
					facts: (poolId) => this.poolFacts(poolId, colo, now),
				},
				affinity: {
					...(request.pin ? { pin: request.pin } : {}),
					key: lb ? toAffinityKey(lb, request) : undefined,
					drainingSince: (key) => this.drains.get(key)?.since,
					hashPolicyFor: (poolId) => this.affinityPolicyFor(poolId),
				},
			},
			lb,
		);
		if (!plan.ok) return plan;
		const leaseId = this.leases.take((plan.attempts[0] as { key: string }).key, now);
		// The Worker's copy is this state: send only what it cannot fill in from it.
		const compact = request.known === this.state ? toCompactPlan(plan, this.state, leaseId) : undefined;
		return compact ?? { ...plan, state: this.state, leaseId };
	}

	/** What pool steering may know about a pool: place, load, capacity, latency from the visitor's colo, RTT. */
	private poolFacts(poolId: string, colo: string | undefined, now: number): PoolFacts {
		const entry = this.snapshot.pools.get(poolId);
		if (!entry) return { inFlight: 0, capacity: 0 };
		let inFlight = 0;
		let capacity = 0;
		let rttSum = 0;
		let rttCount = 0;
		for (const origin of entry.origins) {
			inFlight += this.leases.inFlight(origin.key);
			if (origin.enabled && !this.drains.has(origin.key) && this.isOriginHealthy(origin.key, now))
				capacity += origin.weight;
			const rtt = this.health.get(origin.key)?.rttEwmaMs;
			if (rtt !== undefined) {
				rttSum += rtt;
				rttCount++;
			}
		}
		const fromColo = colo === undefined ? undefined : this.coloLatency.get(`${poolId}\u0000${colo}`);
		return {
			...(entry.pool.latitude !== undefined ? { latitude: entry.pool.latitude } : {}),
			...(entry.pool.longitude !== undefined ? { longitude: entry.pool.longitude } : {}),
			inFlight,
			capacity: entry.pool.enabled ? capacity : 0,
			...(fromColo ? { latencyFromColoMs: updatePeakEwma(fromColo, 0, now).valueMs } : {}),
			...(rttCount > 0 ? { rttMs: rttSum / rttCount } : {}),
		};
	}

	/** A consistent-hash policy per pool, for header and ip_cookie affinity. */
	private affinityPolicyFor(poolId: string): OriginPolicy {
		let policy = this.affinityPolicies.get(poolId);
		if (!policy) {
			policy = createOriginPolicy("hash");
			this.affinityPolicies.set(poolId, policy);
		}
		return policy;
	}

	/** Configuration, health and drains as the Workers keep them to fail open (fetched when `state` moves). */
	stateCopy(): StateCopy {
		this.count("stateCopy");
		const unhealthy: string[] = [];
		for (const entry of this.snapshot.pools.values()) {
			for (const origin of entry.origins) if (!this.isOriginHealthy(origin.key)) unhealthy.push(origin.key);
		}
		return {
			state: this.state,
			configJson: JSON.stringify(this.snapshot.config),
			version: this.snapshot.version,
			unhealthy,
			draining: [...this.drains.keys()],
		};
	}

	/**
	 * Outcomes of finished requests, batched by each Worker isolate: their leases end (idempotent),
	 * and the serving origin's time to first byte feeds its latency EWMA. Nothing is written. A
	 * shard reports the ejections they caused before answering (a release is never on a request's
	 * critical path), so the authority's /status and /events show them when the batch is done.
	 */
	async release(records: OutcomeRecord[]): Promise<{ released: number }> {
		this.count("release");
		if (!this.copyMark && !this.authority) await this.ensureCopy();
		const released = this.applyOutcomes(records);
		await this.reportEjections(Date.now());
		return { released };
	}

	private applyOutcomes(records: readonly OutcomeRecord[]): number {
		const now = Date.now();
		let released = 0;
		for (const record of records) {
			if (this.leases.release(record.leaseId)) released++;
			for (const failure of record.failures ?? []) {
				this.noteFailure(failure.origin, failure.kind === "status" ? `status ${failure.status}` : failure.kind, now);
			}
			if (record.servedBy === undefined) continue;
			if (record.status !== undefined && record.status >= 500)
				this.noteFailure(record.servedBy, `status ${record.status}`, now);
			else this.outliers.succeeded(record.servedBy);
			if (record.ttfbMs !== undefined) {
				this.latency.set(record.servedBy, updatePeakEwma(this.latency.get(record.servedBy), record.ttfbMs, now));
				if (record.colo) {
					const key = `${poolOfKey(record.servedBy)}\u0000${record.colo}`;
					this.coloLatency.set(key, updatePeakEwma(this.coloLatency.get(key), record.ttfbMs, now));
				}
			}
		}
		return released;
	}

	/** A failed request to `key`: may eject it (kept in memory, written by the next alarm). */
	private noteFailure(key: string, why: string, now: number): void {
		const entry = this.snapshot.pools.get(poolOfKey(key));
		if (!entry) return;
		const settings = this.poolSettings.get(entry.pool.id)?.outliers ?? DEFAULT_OUTLIERS;
		const poolKeys = entry.origins.filter((origin) => origin.enabled).map((origin) => origin.key);
		const ejection = this.outliers.failed(key, poolKeys, settings, now, why, this.othersAvailable(entry, key, now));
		if (ejection) this.noteEjection(ejection, now);
	}

	/** Whether another origin of the pool can take traffic: the last one is never ejected (it would empty the pool). */
	private othersAvailable(entry: PoolEntry, key: string, now: number): boolean {
		return entry.origins.some(
			(origin) =>
				origin.key !== key &&
				origin.enabled &&
				origin.weight > 0 &&
				!this.drains.has(origin.key) &&
				this.isOriginHealthy(origin.key, now),
		);
	}

	private noteEjection(ejection: Ejection, now: number): void {
		console.warn(`switchyard: ${this.shardKey}: ${ejection.key} ${ejection.reason}`);
		if (!this.authority) {
			// The authority records the event and tells every shard (other load balancers may share the pool).
			this.unreported.push({ key: ejection.key, until: ejection.until, reason: ejection.reason, at: now });
			return;
		}
		this.pendingEvents.push({ at: now, originKey: ejection.key, healthy: false, reason: ejection.reason });
		this.bumpState();
		// Written off the hot path: the alarm flushes pending events within a second.
		void this.armAlarm(now + 1000);
	}

	// --- Counter shards: copying the authority's state, reporting ejections, counters for /status ---

	/** Shard, after outcomes were applied: check the copy now and then, report new ejections; both off the caller's path. */
	private afterOutcomes(now: number): void {
		if (this.authority) return;
		if (!this.validating && isDueForRevalidation(this.validatedAt, now)) {
			this.validating = true;
			this.ctx.waitUntil(this.revalidate());
		}
		if (this.unreported.length > 0) this.ctx.waitUntil(this.reportEjections(now));
	}

	/**
	 * Shard without a copy (new, or evicted): pulls one from the authority before answering. Other
	 * calls wait meanwhile; when the authority does not answer, the call fails (the Worker then plans
	 * from its own copy) and the object starts afresh.
	 */
	private async ensureCopy(): Promise<void> {
		await this.ctx.blockConcurrencyWhile(async () => {
			if (this.copyMark) return;
			const copy = await getRegistry(this.env).shardCopySince(null);
			if (copy) this.applyCopy(copy, Date.now());
		});
	}

	/** Shard: the authority pushes its state here whenever it moves. Best effort: revalidation covers a lost push. */
	adoptCopy(copy: ShardCopy): { state: number | undefined } {
		this.count("adoptCopy");
		this.assertShard("adoptCopy");
		if (isNewerCopy(copy, this.copyMark)) this.applyCopy(copy, Date.now());
		return { state: this.copyMark?.state };
	}

	/** Shard: asks the authority whether its copy is current, and takes the new one if not. */
	private async revalidate(): Promise<void> {
		try {
			const copy = await getRegistry(this.env).shardCopySince(this.copyMark ?? null);
			if (copy && isNewerCopy(copy, this.copyMark)) this.applyCopy(copy, Date.now());
		} catch (error) {
			console.error(`switchyard: ${this.shardKey} could not revalidate its copy`, error);
		} finally {
			// After a failure too: the next check waits its turn rather than following every request.
			this.validatedAt = Date.now();
			this.validating = false;
		}
	}

	/**
	 * Shard: replaces its copy of configuration, health, drains and ejections. The snapshot (and with
	 * it the policies' cursors) is rebuilt only when the configuration itself changed.
	 */
	private applyCopy(copy: ShardCopy, now: number): void {
		if (copy.configJson !== undefined && copy.configJson !== this.copyConfigJson) {
			const checked = validateConfig(JSON.parse(copy.configJson));
			if (checked.ok) {
				this.install(checked.config, copy.version);
				this.copyConfigJson = copy.configJson;
			} else {
				console.error(`switchyard: ${this.shardKey} refused the authority's configuration ${copy.version}`);
			}
		}
		this.health.clear();
		for (const entry of copy.health) {
			this.health.set(entry.key, {
				state: { healthy: entry.healthy, upStreak: 0, downStreak: 0, changedAt: entry.changedAt },
				...(entry.rttEwmaMs !== undefined ? { rttEwmaMs: entry.rttEwmaMs } : {}),
			});
		}
		this.healthySince.clear();
		for (const { key, since } of copy.healthySince) this.healthySince.set(key, since);
		this.noteWarming();
		this.drains = new Map(copy.drains.map((drain) => [drain.key, { since: drain.since, actor: "" }]));
		for (const ejection of copy.ejections) this.outliers.recordEjection(ejection.key, ejection.until, now);
		this.state = copy.state;
		this.checks = copy.checks;
		this.copyMark = { state: copy.state, checks: copy.checks };
		this.validatedAt = now;
	}

	/** Shard: tells the authority about its new ejections in one call; lifts those it refuses. */
	private async reportEjections(now: number): Promise<void> {
		if (this.unreported.length === 0 || now < this.reportAfter) return;
		const batch = this.unreported;
		this.unreported = [];
		try {
			const { refused } = await getRegistry(this.env).recordEjections(batch);
			for (const key of refused) this.outliers.lift(key);
		} catch (error) {
			console.error(`switchyard: ${this.shardKey} could not report ${batch.length} ejections`, error);
			// Tried again with later outcomes, not before the copy's next check is due.
			this.reportAfter = Date.now() + REVALIDATE_MS;
			const later = Date.now();
			this.unreported.push(...batch.filter((ejection) => this.outliers.isEjected(ejection.key, later)));
		}
	}

	/** Authority: the state a shard copies, or null when `held` is current already (the cheap check). */
	shardCopySince(held: CopyMark | null): ShardCopy | null {
		this.count("shardCopy");
		this.assertAuthority("shardCopySince");
		if (held && held.state === this.state && held.checks === this.checks) return null;
		// Only RTT averages moved: the configuration stays where it was.
		return this.toShardCopy(held?.state !== this.state);
	}

	private toShardCopy(withConfig = true): ShardCopy {
		return {
			state: this.state,
			checks: this.checks,
			...(withConfig ? { configJson: JSON.stringify(this.snapshot.config) } : {}),
			version: this.snapshot.version,
			health: [...this.health].map(([key, health]) => ({
				key,
				healthy: health.state.healthy,
				changedAt: health.state.changedAt,
				...(health.rttEwmaMs !== undefined ? { rttEwmaMs: health.rttEwmaMs } : {}),
			})),
			healthySince: [...this.healthySince].map(([key, since]) => ({ key, since })),
			drains: [...this.drains].map(([key, drain]) => ({ key, since: drain.since })),
			ejections: this.outliers.ejections(Date.now()),
		};
	}

	/**
	 * Authority: ejections a shard decided. Each is checked again against every shard's ejections
	 * (the pool's max_ejection_percent, never its last available origin), recorded as a health event
	 * and pushed to every shard, so other load balancers sharing the pool stop using the origin too.
	 * Returns the ones refused; the shard lifts them.
	 */
	async recordEjections(ejections: readonly ReportedEjection[]): Promise<{ refused: string[] }> {
		this.count("recordEjections");
		this.assertAuthority("recordEjections");
		const now = Date.now();
		const refused = ejections.filter((ejection) => !this.acceptEjection(ejection, now)).map((ejection) => ejection.key);
		await this.pushSettled();
		return { refused };
	}

	private acceptEjection(ejection: ReportedEjection, now: number): boolean {
		const entry = this.snapshot.pools.get(poolOfKey(ejection.key));
		if (!entry?.origins.some((origin) => origin.key === ejection.key)) return false;
		// Over already: nothing to honour.
		if (ejection.until <= now) return true;
		// Decided by another shard too: one event is enough, but a later end goes to every shard.
		if (this.outliers.isEjected(ejection.key, now)) {
			if (this.outliers.recordEjection(ejection.key, ejection.until, now)) this.bumpState();
			return true;
		}
		const settings = this.poolSettings.get(entry.pool.id)?.outliers ?? DEFAULT_OUTLIERS;
		const poolKeys = entry.origins.filter((origin) => origin.enabled).map((origin) => origin.key);
		const othersAvailable = this.othersAvailable(entry, ejection.key, now);
		if (!this.outliers.mayEject(ejection.key, poolKeys, settings, now, othersAvailable)) return false;
		this.outliers.recordEjection(ejection.key, ejection.until, now);
		this.noteEjection(ejection, ejection.at);
		return true;
	}

	/** This object's counters per origin, for the authority's /status. */
	shardCounters(): ShardCounters {
		this.count("shardCounters");
		const byMethod = this.counters.byMethod;
		return {
			...this.countersNow(),
			traffic: { routed: this.counters.routed, routeCalls: (byMethod.route ?? 0) + (byMethod.routeMany ?? 0) },
		};
	}

	private countersNow(): ShardCounters {
		const now = Date.now();
		const counters: ShardCounters = { inFlight: {}, passiveFailures: {}, ejectedUntil: {} };
		for (const entry of this.snapshot.pools.values()) {
			for (const { key } of entry.origins) {
				const inFlight = this.leases.inFlight(key);
				if (inFlight > 0) counters.inFlight[key] = inFlight;
				const failures = this.outliers.consecutiveFailures(key);
				if (failures > 0) counters.passiveFailures[key] = failures;
				const until = this.outliers.ejectedUntil(key, now);
				if (until !== undefined) counters.ejectedUntil[key] = until;
			}
		}
		return counters;
	}

	/** Authority: every load balancer's shard's counters; a shard that does not answer in time is reported. */
	private async askShards(): Promise<{ statuses: ShardStatus[]; counters: ShardCounters[] }> {
		const keys = toShardKeys(this.snapshot.config.load_balancers.map((lb) => lb.name));
		const answers = await Promise.all(
			[...keys].map(async ([key, names]) => {
				try {
					const counters = await withTimeout(
						this.env.REGISTRY.getByName(key).shardCounters(),
						SHARD_STATUS_TIMEOUT_MS,
						`${key} did not answer within ${SHARD_STATUS_TIMEOUT_MS} ms`,
					);
					const traffic = counters.traffic;
					const seen = traffic ? { routed: traffic.routed, route_calls: traffic.routeCalls } : {};
					return { status: { key, load_balancers: names, answered: true, ...seen }, counters };
				} catch (error) {
					const message = error instanceof Error ? error.message : String(error);
					return { status: { key, load_balancers: names, answered: false, error: message }, counters: undefined };
				}
			}),
		);
		return {
			statuses: answers.map((answer) => answer.status),
			counters: answers.flatMap((answer) => (answer.counters ? [answer.counters as ShardCounters] : [])),
		};
	}

	/** Moves `state`: Workers refresh their copies, and the authority pushes its state to the shards. */
	private bumpState(): void {
		this.state++;
		if (this.authority && this.pushing) this.schedulePush();
	}

	/** One push per burst of changes (a probe round's transitions, say), after the current call's own changes. */
	private schedulePush(): void {
		if (this.pushQueued) return;
		this.pushQueued = true;
		const push = Promise.resolve().then(() => {
			this.pushQueued = false;
			return this.pushToShards();
		});
		this.pushed = push;
		this.ctx.waitUntil(push);
	}

	/** Sends the current state to every load balancer's shard, in parallel; failures are logged, never thrown. */
	private async pushToShards(): Promise<void> {
		const copy = this.toShardCopy();
		const keys = new Set(toShardKeys(this.snapshot.config.load_balancers.map((lb) => lb.name)).keys());
		const retired = [...this.retiredShards].filter((key) => !keys.has(key));
		this.retiredShards.clear();
		await Promise.all(
			[...keys, ...retired].map(async (key) => {
				try {
					await this.env.REGISTRY.getByName(key).adoptCopy(copy);
				} catch (error) {
					console.error(
						`switchyard: pushing state ${copy.state} to ${key} failed; it revalidates within ${REVALIDATE_MS / 1000} s`,
						error,
					);
				}
			}),
		);
	}

	/** Waits for the latest push, at most PUSH_WAIT_MS. */
	private async pushSettled(): Promise<void> {
		let timer: ReturnType<typeof setTimeout> | undefined;
		const cap = new Promise<void>((resolve) => {
			timer = setTimeout(resolve, PUSH_WAIT_MS);
		});
		await Promise.race([this.pushed, cap]);
		if (timer !== undefined) clearTimeout(timer);
	}

	private assertAuthority(method: string): void {
		if (!this.authority) throw new Error(`${method} is for the authority ("${AUTHORITY}"), not shard ${this.shardKey}`);
	}

	private assertShard(method: string): void {
		if (this.authority) throw new Error(`${method} is for counter shards, not the authority`);
	}

	/**
	 * Calls, route requests planned (several per call when they share one) and SQLite rows written
	 * since the object started: what the one-call-per-request budget is checked on.
	 */
	stats(): { calls: number; routed: number; callsByMethod: Record<string, number>; rowsWritten: number } {
		return {
			calls: this.counters.calls,
			routed: this.counters.routed,
			callsByMethod: { ...this.counters.byMethod },
			rowsWritten: this.counters.rowsWritten,
		};
	}

	private count(method: string): void {
		this.counters.calls++;
		this.counters.byMethod[method] = (this.counters.byMethod[method] ?? 0) + 1;
	}

	getConfig(): { version: number; json: string } {
		return { version: this.snapshot.version, json: JSON.stringify(this.snapshot.config) };
	}

	/** Replaces the whole configuration, all or nothing. */
	async putConfig(input: unknown, options: WriteOptions): Promise<WriteResult> {
		const result = this.write(input, options, "replaced the configuration");
		await this.pushSettled();
		return result;
	}

	/** One CRUD change, applied to the current document and validated as a whole, atomically. */
	async changeConfig(op: ConfigOperation, options: WriteOptions): Promise<WriteResult> {
		const result = this.applyChange(op, options);
		await this.pushSettled();
		return result;
	}

	private applyChange(op: ConfigOperation, options: WriteOptions): WriteResult {
		const outcome = applyOperation(toDocument(this.snapshot.config), op, () => crypto.randomUUID().replaceAll("-", ""));
		if (!outcome.ok) {
			if (outcome.status === 400) {
				return { ok: false, status: 400, errors: [{ path: outcome.field ?? "(body)", message: outcome.message }] };
			}
			return { ok: false, status: outcome.status, message: outcome.message };
		}
		const result = this.write(outcome.document, options, outcome.summary);
		if (!result.ok) return result;
		return {
			...result,
			resultJson: JSON.stringify(findItem(this.pendingOrCurrent(outcome.document, options), op, outcome.key) ?? null),
		};
	}

	/** The object a CRUD read names, as JSON, or undefined. */
	readItem(target: ConfigOperation["target"], key: string, pool?: string): string | undefined {
		const item = findInDocument(toDocument(this.snapshot.config), target, key, pool);
		return item === undefined ? undefined : JSON.stringify(item);
	}

	/**
	 * Drain: the origin takes no new requests; requests in flight finish. (With session affinity,
	 * pinned sessions keep reaching it until drain_duration ends.) Persisted until enabled again.
	 */
	async drain(poolId: string, originName: string, actor: string): Promise<DrainResult> {
		this.assertAuthority("drain");
		const key = toOriginKey(poolId, originName);
		if (!this.hasOrigin(key))
			return { ok: false, status: 404, message: `pool "${poolId}" has no origin "${originName}"` };
		let drain = this.drains.get(key);
		if (!drain) {
			drain = { since: Date.now(), actor };
			const started = drain;
			this.ctx.storage.transactionSync(() => {
				saveDrain(this.sql, key, started);
				this.audit(actor, `drained origin "${originName}" in pool "${poolId}"`, []);
			});
			this.drains.set(key, drain);
			this.bumpState();
			await this.pushSettled();
		}
		return { ok: true, pool: poolId, origin: originName, draining: true, since: toIso(drain.since) };
	}

	/** Ends a drain, and enables the origin in the configuration if it was disabled there. */
	async enable(poolId: string, originName: string, actor: string): Promise<DrainResult | WriteResult> {
		this.assertAuthority("enable");
		const key = toOriginKey(poolId, originName);
		if (!this.hasOrigin(key))
			return { ok: false, status: 404, message: `pool "${poolId}" has no origin "${originName}"` };
		if (this.drains.has(key)) {
			this.ctx.storage.transactionSync(() => {
				saveDrain(this.sql, key, undefined);
				this.audit(actor, `ended the drain of origin "${originName}" in pool "${poolId}"`, []);
			});
			this.drains.delete(key);
			this.bumpState();
		}
		const origin = this.snapshot.origins.get(key);
		if (origin && !origin.enabled) {
			const result = this.applyChange(
				{ target: "origins", action: "patch", pool: poolId, key: originName, body: { enabled: true } },
				{ actor },
			);
			if (!result.ok) return result;
		}
		await this.pushSettled();
		return { ok: true, pool: poolId, origin: originName, draining: false, since: null };
	}

	/** The audit log and health transitions, newest first. */
	events(limit: number): EventEntry[] {
		this.assertAuthority("events");
		const sql = this.sql;
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
		return [...config, ...health].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
	}

	/**
	 * Applies a bundled seed when its hash differs from the last one applied (valid or not, so a
	 * bad file is reported once per deployment, not on every start).
	 */
	applySeed(seed: Seed, now: number): WriteResult | undefined {
		const sql = this.sql;
		if (getMeta(sql, "seed_hash") === seed.hash) return undefined;
		let input: unknown;
		try {
			input = JSON.parse(seed.json);
		} catch {
			input = undefined;
		}
		const result = this.write(input, { actor: "seed" }, `applied ${seed.source}`);
		this.ctx.storage.transactionSync(() => {
			setMeta(sql, "seed_hash", seed.hash);
			if (!result.ok) {
				const why = "errors" in result ? result.errors.map((e) => `${e.path}: ${e.message}`).join("; ") : "refused";
				console.error(`switchyard: ${seed.source} was not applied: ${why}`);
				appendAudit(sql, {
					at: now,
					actor: "seed",
					action: `rejected ${seed.source}: ${why}`,
					version: this.snapshot.version,
					detail: "[]",
				});
			}
		});
		return result;
	}

	/**
	 * Probes due now: origins of monitored pools whose last check is an interval old, oldest first,
	 * within the subrequest budget of one invocation. The rest stay due for the next sweep.
	 */
	dueProbes(now: number): ProbeTarget[] {
		this.assertAuthority("dueProbes");
		// `now` is the sweep's time (a cron's scheduledTime may be late); leases run on the real clock.
		const clock = Date.now();
		const due: { target: ProbeTarget; dueAt: number; cost: number; worstMs: number }[] = [];
		for (const entry of this.snapshot.pools.values()) {
			const monitor = entry.monitor;
			if (!entry.pool.enabled || !monitor) continue;
			for (const origin of entry.origins) {
				if (!origin.enabled) continue;
				const health = this.health.get(origin.key);
				if (health?.probingUntil !== undefined && health.probingUntil > Math.max(now, clock)) continue;
				// Measured on sweep times, not on when probes finished: a slow check must not skip a sweep.
				const dueAt = health?.dueAt ?? 0;
				// Slack for a cron that fires a little early, but never more than a fifth of the interval.
				const slackMs = Math.min(DUE_SLACK_MS, monitor.interval * 200);
				if (now - dueAt < monitor.interval * 1000 - slackMs) continue;
				const cost = monitor.retries + 1;
				due.push({ target: toProbeTarget(origin, monitor), dueAt, cost, worstMs: cost * monitor.timeout * 1000 });
			}
		}
		due.sort((a, b) => a.dueAt - b.dueAt);
		const chosen: (typeof due)[number][] = [];
		let spent = 0;
		for (const item of due) {
			if (spent + item.cost > PROBE_SUBREQUEST_BUDGET) continue;
			spent += item.cost;
			chosen.push(item);
		}
		// Probes run MAX_CONCURRENT_PROBES at a time, so a later one may wait for earlier rounds:
		// its lease covers every round up to its own.
		let waitMs = 0;
		chosen.forEach((item, i) => {
			if (i % MAX_CONCURRENT_PROBES === 0) {
				waitMs += Math.max(...chosen.slice(i, i + MAX_CONCURRENT_PROBES).map((next) => next.worstMs));
			}
			const health = this.healthOf(item.target.key);
			health.dueAt = now;
			health.probingUntil = Math.max(now, clock) + waitMs + DUE_SLACK_MS;
		});
		return chosen.map((item) => item.target);
	}

	/**
	 * Applies check results (rise/fall); writes only transitions, with their events, in one
	 * transaction, and returns once the shards have them (or PUSH_WAIT_MS passed).
	 */
	async recordProbes(results: ProbeResult[]): Promise<{ transitions: number }> {
		this.assertAuthority("recordProbes");
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
			if (!result.ok) health.lastFailure = result.reason;
			health.lastRttMs = result.rttMs;
			if (result.ok) {
				health.rttEwmaMs =
					health.rttEwmaMs === undefined
						? result.rttMs
						: health.rttEwmaMs + RTT_EWMA_ALPHA * (result.rttMs - health.rttEwmaMs);
			}
			health.probingUntil = undefined;
			if (health.state.healthy !== before) {
				changed.push([result.key, health]);
				if (health.state.healthy) this.healthySince.set(result.key, result.at);
			}
		}
		if (changed.length > 0) this.noteWarming();
		// RTT averages moved: shards pick them up at their next check (they steer by them, but need no push).
		if (results.length > 0) this.checks++;
		if (changed.length > 0) {
			this.bumpState();
			const sql = this.sql;
			this.ctx.storage.transactionSync(() => {
				for (const [key, health] of changed) {
					const reason = health.lastReason ?? "";
					saveHealth(sql, key, { healthy: health.state.healthy, changedAt: health.state.changedAt, reason });
					appendHealthEvent(sql, { at: health.state.changedAt, originKey: key, healthy: health.state.healthy, reason });
				}
			});
			await this.pushSettled();
		}
		return { transitions: changed.length };
	}

	/**
	 * Sub-minute health checks: the object's own alarm runs the probes that are due (cron fires at
	 * most once a minute), writes pending health events, and re-arms itself for the next due probe.
	 * The cron sweep stays as the backstop that re-arms a lost alarm; the probe leases keep the two
	 * paths from probing one origin at once.
	 */
	override async alarm(): Promise<void> {
		if (!this.authority) return;
		const now = Date.now();
		for (const key of this.outliers.readmitted(now)) {
			this.pendingEvents.push({
				at: now,
				originKey: key,
				healthy: true,
				reason: "readmitted on probation after its ejection",
			});
			this.bumpState();
		}
		this.flushEvents();
		const due = this.dueProbes(now);
		if (due.length > 0) {
			const results = await mapWithLimit(due, MAX_CONCURRENT_PROBES, (target) => probe(target));
			await this.recordProbes(results);
		}
		await this.armAlarm();
	}

	/** Called by the cron sweep: arms the alarm if it is not set (lost, or never armed). */
	async ensureAlarm(): Promise<{ armedFor: number | null }> {
		this.assertAuthority("ensureAlarm");
		const current = await this.ctx.storage.getAlarm();
		if (current === null) await this.armAlarm();
		return { armedFor: await this.ctx.storage.getAlarm() };
	}

	/** Arms the alarm for the next due probe (or `at`, if sooner); clears it when nothing is monitored. */
	private async armAlarm(at?: number): Promise<void> {
		const now = Date.now();
		let next = at ?? Number.POSITIVE_INFINITY;
		if (this.pendingEvents.length > 0) next = Math.min(next, now + MIN_ALARM_GAP_MS);
		const readmission = this.outliers.nextReadmission(now);
		if (readmission !== undefined) next = Math.min(next, readmission);
		for (const entry of this.snapshot.pools.values()) {
			if (!entry.pool.enabled || !entry.monitor) continue;
			for (const origin of entry.origins) {
				if (!origin.enabled) continue;
				const dueAt = this.health.get(origin.key)?.dueAt;
				next = Math.min(next, dueAt === undefined ? now : dueAt + entry.monitor.interval * 1000);
			}
		}
		const current = await this.ctx.storage.getAlarm();
		if (next === Number.POSITIVE_INFINITY) {
			if (current !== null) await this.ctx.storage.deleteAlarm();
			return;
		}
		next = Math.max(next, now + MIN_ALARM_GAP_MS);
		if (current === null || current > next || current < now) await this.ctx.storage.setAlarm(next);
	}

	/** Writes the health events noticed on the hot path, in one transaction. */
	private flushEvents(): void {
		if (this.pendingEvents.length === 0) return;
		const events = this.pendingEvents;
		this.pendingEvents = [];
		this.ctx.storage.transactionSync(() => {
			for (const event of events) appendHealthEvent(this.sql, event);
		});
	}

	/**
	 * Configuration, health and drains as the authority holds them, with the counters (requests in
	 * flight, passive health) of every load balancer's shard added up.
	 */
	async status(): Promise<StatusReport> {
		this.assertAuthority("status");
		const { statuses, counters } = await this.askShards();
		// The authority's own: leases from Workers that predate shards.
		const merged = mergeShardCounters([this.countersNow(), ...counters]);
		const now = Date.now();
		// An origin some shard has ejected is out of rotation there, even before the authority heard of it.
		const isHealthy = (key: string) => this.isOriginHealthy(key, now) && !((merged.ejectedUntil[key] ?? 0) > now);
		const config = this.snapshot.config;
		return {
			version: this.snapshot.version,
			...(this.loadErrors.length > 0 ? { load_errors: this.loadErrors } : {}),
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
				healthy: isPoolHealthy(entry, isHealthy, (key) => this.drains.has(key)),
				monitor: entry.monitor?.id ?? null,
				rtt_ewma_ms: this.poolFacts(entry.pool.id, undefined, Date.now()).rttMs ?? null,
				origins: entry.origins.map((origin, i) => {
					const health = this.health.get(origin.key);
					const healthy = isHealthy(origin.key);
					return {
						name: origin.name,
						address: entry.pool.origins[i]?.address ?? "",
						enabled: origin.enabled,
						weight: entry.pool.origins[i]?.weight ?? origin.weight,
						healthy,
						monitored: entry.monitor !== undefined,
						in_flight: merged.inFlight[origin.key] ?? 0,
						draining: this.drains.has(origin.key),
						draining_since: toIso(this.drains.get(origin.key)?.since),
						last_check_at: toIso(health?.lastCheckAt),
						last_check: health?.lastReason ?? null,
						// While it is down: what took it down, even when the checks bringing it back already pass.
						last_error: healthy ? null : (health?.lastFailure ?? health?.lastReason ?? null),
						rtt_ms: health?.lastRttMs ?? null,
						rtt_ewma_ms: health?.rttEwmaMs === undefined ? null : Math.round(health.rttEwmaMs * 10) / 10,
						passive_failures: merged.passiveFailures[origin.key] ?? 0,
						ejected_until: toIso(merged.ejectedUntil[origin.key]),
						slow_start: this.warmthOf(origin.key) < 1 ? Math.round(this.warmthOf(origin.key) * 100) / 100 : null,
						changed_at: toIso(health?.state.changedAt),
					};
				}),
			})),
			shards: statuses,
		};
	}

	/** Validates and stores a whole document (or only reports, on a dry run), with its audit entry. */
	private write(input: unknown, options: WriteOptions, action: string): WriteResult {
		this.assertAuthority("write");
		// A stale precondition wins over the body's errors: the caller's picture is out of date.
		const current = this.snapshot.version;
		if (options.ifMatch !== undefined && options.ifMatch !== current) {
			return { ok: false, status: 412, version: current };
		}
		const result = validateConfig(input);
		if (!result.ok) return { ok: false, status: 400, errors: result.errors };
		const changes = diffConfig(toDocument(this.snapshot.config), toDocument(result.config));
		const changed = changes.length > 0;
		const base = {
			ok: true as const,
			changed,
			messages: result.messages,
			changes,
			resultJson: JSON.stringify(result.config),
		};
		if (options.dryRun || !changed) return { ...base, version: current };
		const version = current + 1;
		const snapshot = toSnapshot(result.config, version);
		const keys = new Set([...snapshot.pools.values()].flatMap((entry) => entry.origins.map((origin) => origin.key)));
		const sql = this.sql;
		this.ctx.storage.transactionSync(() => {
			saveConfig(sql, result.config, version);
			pruneOriginState(sql, keys);
			appendAudit(sql, { at: Date.now(), actor: options.actor, action, version, detail: JSON.stringify(changes) });
		});
		this.install(result.config, version, Date.now());
		this.loadErrors = [];
		void this.armAlarm();
		for (const key of this.health.keys()) if (!keys.has(key)) this.health.delete(key);
		for (const key of this.drains.keys()) if (!keys.has(key)) this.drains.delete(key);
		return { ...base, version };
	}

	/** The document a CRUD write produced: the stored one, or on a dry run the one it would store. */
	private pendingOrCurrent(document: ConfigDocument, options: WriteOptions): ConfigDocument {
		if (options.dryRun) {
			const result = validateConfig(document);
			return result.ok ? toDocument(result.config) : document;
		}
		return toDocument(this.snapshot.config);
	}

	private audit(actor: string, action: string, changes: ConfigChange[]): void {
		appendAudit(this.sql, {
			at: Date.now(),
			actor,
			action,
			version: this.snapshot.version,
			detail: JSON.stringify(changes),
		});
	}

	private install(config: Config, version: number, now?: number): void {
		const before = new Set([...this.snapshot.pools.values()].flatMap((entry) => entry.origins.map((o) => o.key)));
		if (this.authority) {
			const kept = toShardKeys(config.load_balancers.map((lb) => lb.name));
			for (const key of toShardKeys([...this.snapshot.loadBalancers.keys()]).keys())
				if (!kept.has(key)) this.retiredShards.add(key);
		}
		this.bumpState();
		this.snapshot = toSnapshot(config, version);
		this.policies = new Map();
		this.affinityPolicies = new Map();
		this.poolSettings = new Map();
		for (const lb of config.load_balancers) {
			for (const poolId of poolsOf(lb)) {
				if (!this.poolSettings.has(poolId)) {
					this.poolSettings.set(poolId, { outliers: lb.outlier_detection, slowStartS: lb.slow_start_s });
				}
			}
		}
		const keys = new Set([...this.snapshot.pools.values()].flatMap((entry) => entry.origins.map((o) => o.key)));
		this.outliers.retain(keys);
		for (const key of this.healthySince.keys()) if (!keys.has(key)) this.healthySince.delete(key);
		// Origins added by a change (not those loaded at start-up) begin with a slow start.
		if (now !== undefined) for (const key of keys) if (!before.has(key)) this.healthySince.set(key, now);
		this.noteWarming();
	}

	/** Called whenever healthySince or slow start settings change (never per request). */
	private noteWarming(): void {
		let until = 0;
		for (const [key, since] of this.healthySince) {
			const slowStartS = this.poolSettings.get(poolOfKey(key))?.slowStartS ?? 0;
			if (slowStartS > 0) until = Math.max(until, since + slowStartS * 1000);
		}
		this.warmingUntil = until;
	}

	private hasOrigin(key: string): boolean {
		return this.snapshot.origins.has(key);
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
	private isOriginHealthy(key: string, now = Date.now()): boolean {
		if (this.outliers.isEjected(key, now)) return false;
		if (!this.snapshot.pools.get(poolOfKey(key))?.monitor) return true;
		return this.health.get(key)?.state.healthy ?? true;
	}

	/** The slow-start share that applies to an origin now: 1 unless another origin of its pool is warm. */
	private warmthOf(key: string, now = Date.now()): number {
		const share = (originKey: string) =>
			toSlowStartFactor(
				this.healthySince.get(originKey),
				now,
				this.poolSettings.get(poolOfKey(originKey))?.slowStartS ?? 0,
			);
		const own = share(key);
		if (own >= 1) return 1;
		const pool = this.snapshot.pools.get(poolOfKey(key));
		return pool?.origins.some((origin) => origin.enabled && origin.key !== key && share(origin.key) >= 1) ? own : 1;
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

/** The object an operation names, in a document. */
function findItem(document: ConfigDocument, op: ConfigOperation, key: string): Record<string, unknown> | undefined {
	if (op.target !== "origins" && op.action === "delete") return undefined;
	return findInDocument(document, op.target, key, op.target === "origins" ? op.pool : undefined);
}

/** One item of a document: an origin of `pool` by name, a load balancer by name, anything else by id. */
function findInDocument(
	document: ConfigDocument,
	target: ConfigOperation["target"],
	key: string,
	pool?: string,
): Record<string, unknown> | undefined {
	if (target === "origins") {
		const entry = document.pools.find((candidate) => candidate.id === pool);
		return (entry?.origins as Record<string, unknown>[] | undefined)?.find((origin) => origin.name === key);
	}
	return document[target].find((item) => String(target === "load_balancers" ? item.name : item.id) === key);
}

/** What affinity hashes for a request: header values (`header`), the client's IP (`ip_cookie`), else nothing. */
function toAffinityKey(lb: LoadBalancer, request: RouteRequest): string | undefined {
	if (lb.session_affinity === "ip_cookie") return request.clientIp;
	if (lb.session_affinity !== "header") return undefined;
	const attributes = lb.session_affinity_attributes;
	const values = attributes.headers.map((name) => request.headers?.[name.toLowerCase()]);
	const missing = values.filter((value) => value === undefined).length;
	if (attributes.require_all_headers ? missing > 0 : missing === values.length) return undefined;
	return values.map((value) => value ?? "").join("\u0000");
}

const WRITE_STATEMENT = /^\s*(insert|update|delete|replace|create|drop|alter)\b/i;

/** `sql` with every write statement run to completion and its changed rows reported. */
function toCountingSql(sql: SqlStorage, onWrite: (rows: number) => void): SqlStorage {
	function exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
		const cursor = sql.exec<T>(query, ...bindings);
		if (WRITE_STATEMENT.test(query)) {
			cursor.toArray();
			onWrite(cursor.rowsWritten);
		}
		return cursor;
	}
	// storage.ts uses exec only.
	return { exec } as unknown as SqlStorage;
}

function toIso(ms: number | undefined): string | null {
	return ms ? new Date(ms).toISOString() : null;
}

/** `promise`, or a rejection with `message` after `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => reject(new Error(message)), ms);
	});
	try {
		return await Promise.race([promise, deadline]);
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}
