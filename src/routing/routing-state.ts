/**
 * What planning knows of the origins besides the configuration: health, drains, passive-health
 * ejections and slow starts, over one snapshot. The authority holds the original and writes what
 * must last; counter objects and Worker isolates hold a replica of it (`toReplica`, `adopt`). One
 * builder for every copy, so the three places agree on what "healthy" means.
 * Pure: time is passed in.
 */
import { type PeakEwma, updatePeakEwma } from "../balancing/ewma";
import type { Config } from "../config/schema";
import { outlierDetectionSchema } from "../config/schema";
import { validateConfig } from "../config/validate";
import type { ReportedEjection } from "../contract/counters";
import type { DiscoveredOrigin } from "../contract/discovery";
import type { Replica } from "../contract/replica";
import { type OutlierSettings, OutlierTracker } from "../health/outliers";
import type { OriginHealth } from "../health/record";
import { toSlowStartFactor } from "../health/slow-start";
import { PENDING } from "../health/state-machine";
import type { PoolFacts } from "../steering/policy";
import { type PlanContext, poolsOf } from "./plan";
import { PolicyCache } from "./policy-cache";
import { type PoolEntry, poolOfKey, type Snapshot, toRenewedOrigins, toSnapshot } from "./snapshot";

export type { OriginHealth };

export const EMPTY_CONFIG: Config = { monitors: [], pools: [], load_balancers: [], notifications: [] };
export const DEFAULT_OUTLIERS: OutlierSettings = outlierDetectionSchema.parse({});

export interface Drain {
	readonly since: number;
	/** Who started it (the authority keeps it; replicas do not carry it). */
	readonly actor: string;
}

interface PoolSettings {
	readonly outliers: OutlierSettings;
	readonly slowStartS: number;
}

export class RoutingState {
	snapshot: Snapshot = toSnapshot(EMPTY_CONFIG, 0);
	/** The snapshot's origin policies (cursors, counters), rebuilt with it. */
	policies = new PolicyCache(this.snapshot);
	readonly health = new Map<string, OriginHealth>();
	drains = new Map<string, Drain>();
	/** Passive health: failures of real traffic, ejections. */
	readonly outliers = new OutlierTracker();
	/** When an origin last became healthy or was added: the start of its slow start. */
	readonly healthySince = new Map<string, number>();
	/** Until when some origin is still in its slow start (0: none is); see noteWarming. */
	warmingUntil = 0;
	/**
	 * Per pool, made on first use and forgotten by noteWarming: when its earliest enabled origin became
	 * healthy (−∞: one has no slow start on record, so is warm; +∞: no enabled origin). The pool has
	 * a warm origin exactly when that one is warm, so warmthOf need not scan the pool.
	 */
	private readonly earliestSince = new Map<string, number>();
	/** Per pool: the outlier detection and slow start settings of the first load balancer using it. */
	private poolSettings = new Map<string, PoolSettings>();
	/** Origins whose identity (address, port, monitor) the last install changed: see install. */
	renewed: readonly string[] = [];
	/** The configuration text of the replica last installed (adoptReplica). */
	private replicaConfigJson: string | undefined;
	/** Origins found at run time (registered, DNS SRV), which install adds to their pools. */
	discovered: readonly DiscoveredOrigin[] = [];
	/** The discovered origins' text of the replica last installed (adoptReplica). */
	private replicaDiscoveredJson = "[]";
	/** The authority only: when each registered origin's lease ends (not replicated; the authority ends them). */
	readonly leases = new Map<string, number>();

	/**
	 * Installs a validated configuration. Origins added by a change (`now` given; not those loaded
	 * at start-up) begin with a slow start. Returns the origin keys it has.
	 */
	install(config: Config, version: number, now?: number): Set<string> {
		const earlier = this.snapshot;
		const before = new Set(earlier.origins.keys());
		this.snapshot = toSnapshot(config, version, this.discovered);
		this.policies = new PolicyCache(this.snapshot);
		this.poolSettings = new Map();
		for (const lb of config.load_balancers) {
			for (const poolId of poolsOf(lb)) {
				if (!this.poolSettings.has(poolId)) {
					this.poolSettings.set(poolId, { outliers: lb.outlier_detection, slowStartS: lb.slow_start_s });
				}
			}
		}
		const keys = new Set(this.snapshot.origins.keys());
		// An origin whose address, port or monitor changed is a new one to health: pending, no
		// ejection, no averages, its slow start afresh (as for an origin added).
		this.renewed = toRenewedOrigins(earlier, this.snapshot);
		for (const key of this.renewed) {
			this.health.delete(key);
			this.healthySince.delete(key);
			before.delete(key);
		}
		this.outliers.retain(new Set([...before].filter((key) => keys.has(key))));
		for (const key of this.healthySince.keys()) if (!keys.has(key)) this.healthySince.delete(key);
		if (now !== undefined) for (const key of keys) if (!before.has(key)) this.healthySince.set(key, now);
		this.noteWarming();
		return keys;
	}

	/** Replaces the discovered origins: the same configuration installed again with them (`now`: new ones warm up). */
	installDiscovered(discovered: readonly DiscoveredOrigin[], now?: number): Set<string> {
		this.discovered = discovered;
		return this.install(this.snapshot.config, this.snapshot.version, now);
	}

	/** Called whenever healthySince or slow start settings change (never per request); warmthOf relies on it. */
	noteWarming(): void {
		let until = 0;
		for (const [key, since] of this.healthySince) {
			const slowStartS = this.poolSettings.get(poolOfKey(key))?.slowStartS ?? 0;
			if (slowStartS > 0) until = Math.max(until, since + slowStartS * 1000);
		}
		this.warmingUntil = until;
		this.earliestSince.clear();
	}

	outlierSettings(poolId: string): OutlierSettings {
		return this.poolSettings.get(poolId)?.outliers ?? DEFAULT_OUTLIERS;
	}

	/**
	 * What every planner of this state knows at `now`: health, drains, the snapshot's policies.
	 * Counter objects add their counters to it; an isolate planning alone uses it as it is.
	 */
	planContext(now: number, random: () => number): PlanContext {
		const policies = this.policies;
		return {
			isHealthy: this.healthAt(now),
			isDraining: (key) => this.drains.has(key),
			policyFor: (poolId) => policies.policyFor(poolId),
			random,
			now,
		};
	}

	/**
	 * Whether an origin can take traffic at `now`: not ejected, and healthy by its checks (origins of
	 * pools without a monitor are, as in Cloudflare). A pending origin (added, or its address, port
	 * or monitor changed, and no check has spoken since) is only while no checked origin of its pool
	 * can take traffic: fail open. `memo` keeps, per pool, whether one can (one plan, one /status).
	 */
	isOriginHealthy(key: string, now: number, memo?: Map<string, boolean>): boolean {
		if (this.outliers.isEjected(key, now)) return false;
		// Its pool by the snapshot's own string (its hash known to the map), not a new one cut from the key.
		const entry = this.snapshot.pools.get(this.snapshot.origins.get(key)?.pool ?? poolOfKey(key));
		if (!entry?.monitor) return true;
		const state = this.health.get(key)?.state;
		if (state && !state.pending) return state.healthy;
		let checked = memo?.get(entry.pool.id);
		if (checked === undefined) {
			checked = this.hasCheckedAvailable(entry, now);
			memo?.set(entry.pool.id, checked);
		}
		return !checked;
	}

	/** isOriginHealthy for many questions at one time: each pool's pending rule worked out once. */
	healthAt(now: number): (key: string) => boolean {
		const memo = new Map<string, boolean>();
		return (key) => this.isOriginHealthy(key, now, memo);
	}

	/** Whether an origin of the pool that a check found healthy can take traffic now. */
	private hasCheckedAvailable(entry: PoolEntry, now: number): boolean {
		return entry.origins.some((origin) => {
			const state = this.health.get(origin.key)?.state;
			return (
				state !== undefined &&
				!state.pending &&
				state.healthy &&
				origin.enabled &&
				origin.weight > 0 &&
				!this.drains.has(origin.key) &&
				!this.outliers.isEjected(origin.key, now)
			);
		});
	}

	isDraining(key: string): boolean {
		return this.drains.has(key);
	}

	/** The slow-start share that applies to an origin now: 1 unless another origin of its pool is warm. */
	warmthOf(key: string, now: number): number {
		const poolId = poolOfKey(key);
		const slowStartS = this.poolSettings.get(poolId)?.slowStartS ?? 0;
		const own = toSlowStartFactor(this.healthySince.get(key), now, slowStartS);
		if (own >= 1) return 1;
		// Its pool's earliest origin is the warmest; it is not this one, which is still warming.
		return toSlowStartFactor(this.earliestSinceOf(poolId), now, slowStartS) >= 1 ? own : 1;
	}

	/** See earliestSince: O(pool) once per pool until the next noteWarming, O(1) after. */
	private earliestSinceOf(poolId: string): number {
		let earliest = this.earliestSince.get(poolId);
		if (earliest === undefined) {
			earliest = Number.POSITIVE_INFINITY;
			for (const origin of this.snapshot.pools.get(poolId)?.origins ?? []) {
				if (origin.enabled)
					earliest = Math.min(earliest, this.healthySince.get(origin.key) ?? Number.NEGATIVE_INFINITY);
			}
			this.earliestSince.set(poolId, earliest);
		}
		return earliest;
	}

	/**
	 * What pool steering may know about a pool: place, load (`inFlight` per origin), capacity,
	 * latency from the visitor's colo, health-check RTT.
	 */
	poolFacts(poolId: string, now: number, inFlight: (key: string) => number = () => 0, fromColo?: PeakEwma): PoolFacts {
		const entry = this.snapshot.pools.get(poolId);
		if (!entry) return { inFlight: 0, capacity: 0 };
		let load = 0;
		let capacity = 0;
		let rttSum = 0;
		let rttCount = 0;
		const isHealthy = this.healthAt(now);
		for (const origin of entry.origins) {
			load += inFlight(origin.key);
			if (origin.enabled && !this.drains.has(origin.key) && isHealthy(origin.key)) capacity += origin.weight;
			const rtt = this.health.get(origin.key)?.rttEwmaMs;
			if (rtt !== undefined) {
				rttSum += rtt;
				rttCount++;
			}
		}
		return {
			...(entry.pool.latitude !== undefined ? { latitude: entry.pool.latitude } : {}),
			...(entry.pool.longitude !== undefined ? { longitude: entry.pool.longitude } : {}),
			inFlight: load,
			capacity: entry.pool.enabled ? capacity : 0,
			...(fromColo ? { latencyFromColoMs: updatePeakEwma(fromColo, 0, now).valueMs } : {}),
			...(rttCount > 0 ? { rttMs: rttSum / rttCount } : {}),
		};
	}

	/** Whether another origin of the pool can take traffic: the last one is never ejected (it would empty the pool). */
	othersAvailable(entry: PoolEntry, key: string, now: number): boolean {
		const isHealthy = this.healthAt(now);
		return entry.origins.some(
			(origin) =>
				origin.key !== key &&
				origin.enabled &&
				origin.weight > 0 &&
				!this.drains.has(origin.key) &&
				isHealthy(origin.key),
		);
	}

	healthOf(key: string): OriginHealth {
		let health = this.health.get(key);
		if (!health) {
			health = { state: PENDING };
			this.health.set(key, health);
		}
		return health;
	}

	/**
	 * The authority's decision on an ejection a counter object reports: refused when the origin is
	 * gone, or when it would break the pool's max_ejection_percent or take its last available
	 * origin (checked against every object's ejections, which all end up here). `event`: a new
	 * ejection, to record; `moved`: replicas must hear of it.
	 */
	decideEjection(
		ejection: ReportedEjection,
		now: number,
	): { readonly accepted: boolean; readonly event: boolean; readonly moved: boolean } {
		const entry = this.snapshot.pools.get(poolOfKey(ejection.key));
		if (!entry?.origins.some((origin) => origin.key === ejection.key))
			return { accepted: false, event: false, moved: false };
		// Over already: nothing to honour.
		if (ejection.until <= now) return { accepted: true, event: false, moved: false };
		// Decided by another object too: one event is enough, but a later end goes to every object.
		if (this.outliers.isEjected(ejection.key, now)) {
			const moved = this.outliers.recordEjection(ejection.key, ejection.until, now);
			return { accepted: true, event: false, moved };
		}
		const poolKeys = entry.origins.filter((origin) => origin.enabled).map((origin) => origin.key);
		const othersAvailable = this.othersAvailable(entry, ejection.key, now);
		if (!this.outliers.mayEject(ejection.key, poolKeys, this.outlierSettings(entry.pool.id), now, othersAvailable))
			return { accepted: false, event: false, moved: false };
		this.outliers.recordEjection(ejection.key, ejection.until, now);
		return { accepted: true, event: true, moved: true };
	}

	/** The replica of this state at (`state`, `checks`); without the configuration when the holder has it. */
	toReplica(state: number, checks: number, now: number, withConfig = true): Replica {
		return {
			state,
			checks,
			...(withConfig ? { configJson: JSON.stringify(this.snapshot.config), discovered: this.discovered } : {}),
			version: this.snapshot.version,
			// A pending origin is left out: absent is pending to every holder.
			health: [...this.health]
				.filter(([, health]) => !health.state.pending)
				.map(([key, health]) => ({
					key,
					healthy: health.state.healthy,
					changedAt: health.state.changedAt,
					...(health.rttEwmaMs !== undefined ? { rttEwmaMs: health.rttEwmaMs } : {}),
				})),
			healthySince: [...this.healthySince].map(([key, since]) => ({ key, since })),
			drains: [...this.drains].map(([key, drain]) => ({ key, since: drain.since })),
			ejections: this.outliers.ejections(now),
		};
	}

	/**
	 * Takes a replica: its configuration when it differs from the one this state installed from a
	 * replica last (so policies keep their cursors otherwise; a configuration that fails validation
	 * is refused with an error, the rest is taken all the same unless `wholeOrNothing`), then health, drains, ejections and
	 * slow starts. Whether the replica is newer is the caller's question.
	 */
	adoptReplica(replica: Replica, now: number, wholeOrNothing = false): { readonly refused?: string } {
		let refused: string | undefined;
		const discoveredJson = replica.configJson === undefined ? undefined : JSON.stringify(replica.discovered ?? []);
		if (
			replica.configJson !== undefined &&
			(replica.configJson !== this.replicaConfigJson || discoveredJson !== this.replicaDiscoveredJson)
		) {
			const checked = validateConfig(JSON.parse(replica.configJson));
			if (checked.ok) {
				this.discovered = replica.discovered ?? [];
				this.install(checked.config, replica.version);
				this.replicaConfigJson = replica.configJson;
				this.replicaDiscoveredJson = discoveredJson as string;
			} else {
				refused = checked.errors.map((error) => `${error.path}: ${error.message}`).join("; ");
				// A holder that would rather keep what it has than mix (the isolate's replica cache).
				if (wholeOrNothing) return { refused };
			}
		}
		this.adopt(replica, now);
		return refused === undefined ? {} : { refused };
	}

	/** Takes health, drains, ejections and slow starts from a replica (the configuration: see adoptReplica). */
	adopt(replica: Replica, now: number): void {
		this.health.clear();
		for (const entry of replica.health) {
			this.health.set(entry.key, {
				state: { healthy: entry.healthy, upStreak: 0, downStreak: 0, changedAt: entry.changedAt },
				...(entry.rttEwmaMs !== undefined ? { rttEwmaMs: entry.rttEwmaMs } : {}),
			});
		}
		this.healthySince.clear();
		for (const { key, since } of replica.healthySince) this.healthySince.set(key, since);
		this.noteWarming();
		this.drains = new Map(replica.drains.map((drain) => [drain.key, { since: drain.since, actor: "" }]));
		for (const ejection of replica.ejections) this.outliers.recordEjection(ejection.key, ejection.until, now);
	}
}
