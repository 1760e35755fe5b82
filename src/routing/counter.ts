/**
 * A counter object's core, pure: it plans route requests from its replica of the authority's state
 * and its own counters (leases of requests in flight, policy cursors, latency EWMAs, passive
 * health), and learns from outcomes. The Durable Object (registry/counter.ts) only adds the calls:
 * fetching and revalidating the replica, reporting ejections. Time and randomness are passed in.
 */
import { type PeakEwma, updatePeakEwma } from "../balancing/ewma";
import type { LoadBalancer } from "../config/schema";
import type { IsolateReport, ReportedEjection, ShardCounters } from "../contract/counters";
import type { OutcomeRecord } from "../contract/outcome";
import type { Replica, ReplicaMark } from "../contract/replica";
import { LOCAL_COLO, type ShardRouteRequest } from "../contract/route";
import type { RouteReply } from "../contract/wire";
import { BoundedMap } from "./bounded-map";
import { LeaseTable } from "./leases";
import { type AffinityContext, type PlanContext, planRoute, type SteeringContext, toAffinityKey } from "./plan";
import { RoutingState } from "./routing-state";
import { RuleMatchCounts } from "./rule-matches";
import { applyRuleOverrides } from "./rule-overrides";
import {
	counterKeyFor,
	isDueForRevalidation,
	isForOtherShard,
	isIsolateLease,
	isNewerReplica,
	REVALIDATE_MS,
} from "./shard-keys";
import { findLoadBalancer, poolOfKey } from "./snapshot";
import type { TrafficMetrics } from "./traffic-metrics";
import { toCompactPlan, toLeasedPlan } from "./wire";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What planRoute reads, kept by a core and set for each plan (see CounterCore.context). */
interface PlanningContext extends Mutable<PlanContext> {
	now: number;
	readonly steering: Mutable<SteeringContext>;
	readonly affinity: Mutable<AffinityContext>;
}

/** An isolate's report of what it has in flight counts for this long; one not renewed is dropped (the isolate went away). */
export const ISOLATE_REPORT_TTL_MS = 30_000;
/**
 * (pool, colo) latencies a core keeps: pools × the data centers its outcomes come from (one for an
 * isolate, up to all of them for a global-scope object). Beyond this the least recently used is
 * forgotten, and dynamic_latency ranks that pool for that colo as before its first sample (by
 * health-check RTT) until outcomes measure it again.
 */
export const MAX_COLO_LATENCIES = 4096;

export class CounterCore {
	/** Its own state, unless it plans from one it shares (`shared`: an isolate's replica). */
	private readonly own: RoutingState | undefined;
	readonly leases: LeaseTable;
	/** Peak-EWMA of each origin's time to first byte, from released outcomes. */
	private readonly latency = new Map<string, PeakEwma>();
	/** Peak-EWMA of each pool's time to first byte as seen from each colo ("<pool>\0<colo>"), for dynamic_latency. */
	private readonly coloLatency = new BoundedMap<string, PeakEwma>(MAX_COLO_LATENCIES);
	/** Which replica it holds; undefined until it has one. */
	private mark: ReplicaMark | undefined;
	/** When the replica was last confirmed current (or replaced). */
	validatedAt = 0;
	/** Ejections not yet reported to the authority, and when to try again after a failed report. */
	private unreported: ReportedEjection[] = [];
	private reportAfter = 0;
	/** Requests planned since the object started. */
	routed = 0;
	/** Requests load shedding steered away from each pool since the object started (by pool id). */
	readonly shed = new Map<string, number>();
	/** A counter object's traffic counts for /_lb/metrics, learnt from outcomes (none in an isolate's cores). */
	metrics: TrafficMetrics | undefined;
	/** How often each load balancing rule matched, from the outcomes heard of (the Worker matched them). */
	readonly ruleMatches = new RuleMatchCounts();
	/** Requests isolates planned by themselves (the isolate scope) and reported here since it started. */
	isolateRouted = 0;
	/** What each such isolate last said it has in flight, and when. */
	private readonly isolateInFlight = new Map<
		string,
		{ readonly at: number; readonly inFlight: Record<string, number> }
	>();

	constructor(
		/** The object's key ("lb:<name>"): a first try for another load balancer is sent on. */
		readonly shardKey: string,
		leasePrefix: string,
		/**
		 * The state it plans from, when shared with the holder of the replica (a Worker isolate's
		 * cores plan from the isolate's one RoutingState: a copy each would cost the whole replica per
		 * load balancer). A shared state is adopted by its holder, never here.
		 */
		private readonly shared?: () => RoutingState,
	) {
		this.leases = new LeaseTable(leasePrefix);
		this.own = shared ? undefined : new RoutingState();
	}

	/** What planning knows besides counters: health, drains, ejections, slow starts, the snapshot. */
	get routing(): RoutingState {
		return this.own ?? (this.shared as () => RoutingState)();
	}

	get hasReplica(): boolean {
		return this.mark !== undefined;
	}

	/** The authority's state the replica was taken at (the version of every plan it answers). */
	get state(): number | undefined {
		return this.mark?.state;
	}

	/** The mark to revalidate with: null while it has none. */
	get held(): ReplicaMark | null {
		return this.mark ?? null;
	}

	isDueForRevalidation(now: number): boolean {
		return isDueForRevalidation(this.validatedAt, now);
	}

	/**
	 * Takes a replica that is newer than the one held (an older one arriving late, a push overtaken
	 * by a pull, is ignored). The snapshot, and with it the policies' cursors, is rebuilt only when
	 * the configuration itself changed. False when it was not newer.
	 */
	adopt(replica: Replica, now: number): boolean {
		if (!isNewerReplica(replica, this.mark)) return false;
		if (!this.own) {
			// The holder of the shared state adopted it already: only where the core stands moves.
			this.mark = { state: replica.state, checks: replica.checks };
			this.validatedAt = now;
			return true;
		}
		const before = this.routing.snapshot;
		const { refused } = this.routing.adoptReplica(replica, now);
		// An origin whose address, port or monitor changed keeps none of the old one's latency.
		if (this.routing.snapshot !== before) for (const key of this.routing.renewed) this.latency.delete(key);
		if (refused)
			console.error(
				`switchyard: ${this.shardKey} refused the authority's configuration ${replica.version}: ${refused}`,
			);
		this.mark = { state: replica.state, checks: replica.checks };
		this.validatedAt = now;
		return true;
	}

	/**
	 * Which origins, in which order, should take a request, with a lease that counts it in flight on
	 * the chosen origin until its outcome is released. A first try for a load balancer whose
	 * counters live in another object is sent on there instead. Outcomes riding along are applied
	 * first.
	 */
	route(
		request: ShardRouteRequest,
		now: number,
		random: () => number = Math.random,
		/** Planned here whatever the key, whole, its releases already applied: an isolate's own plan. */
		here = false,
	): RouteReply {
		this.routed++;
		if (!here && request.releases?.length) this.applyOutcomes(request.releases, now);
		const state = this.mark?.state ?? 0;
		const routing = this.routing;
		const found = findLoadBalancer(routing.snapshot, request.hostname);
		if (found && !here && isForOtherShard(request, this.shardKey, found)) {
			const shard = counterKeyFor(found, request.colo ?? LOCAL_COLO);
			return { ok: false, problem: "other_shard", loadBalancer: found.name, shard, state };
		}
		// The load balancer as the rules the request matched in the Worker make it.
		const lb = applyRuleOverrides(routing.snapshot, found, request.rules);
		const plan = planRoute(routing.snapshot, request.hostname, this.contextFor(request, lb, now, random), lb);
		this.releaseContext();
		if (!plan.ok) return plan;
		const leaseId = this.leases.take((plan.attempts[0] as { key: string }).key, now);
		// The Worker's replica is this state: send only what it cannot fill in from it.
		const compact = !here && request.known === state ? toCompactPlan(plan, state, leaseId) : undefined;
		return compact ?? toLeasedPlan(plan, state, leaseId);
	}

	/**
	 * The context planning reads: one object per core, its fields set for each plan (route is
	 * synchronous) rather than a new one spread together from several. Built afresh, the objects of
	 * every plan had shapes nothing else kept alive, and each garbage collection that took those
	 * shapes away threw away the optimised code of everything that had read them (bench:deopts).
	 */
	private readonly context: PlanningContext = {
		isHealthy: (key) => this.routing.isOriginHealthy(key, this.context.now, this.healthMemo),
		isDraining: (key) => this.routing.drains.has(key),
		policyFor: (poolId) => this.routing.policies.policyFor(poolId),
		random: Math.random,
		now: 0,
		inFlight: (key) => this.leases.inFlight(key),
		// Decayed as of now (Finagle decays on read too), so an origin that was slow once recovers.
		latencyMs: (key) => {
			const stored = this.latency.get(key);
			return stored && updatePeakEwma(stored, 0, this.context.now).valueMs;
		},
		hashKey: undefined,
		noteShed: (poolId) => {
			this.shed.set(poolId, (this.shed.get(poolId) ?? 0) + 1);
		},
		warmth: undefined,
		steering: {
			location: undefined,
			facts: (poolId) => {
				const colo = this.context.steering.location?.colo;
				const fromColo = colo === undefined ? undefined : this.coloLatency.get(`${poolId}\u0000${colo}`);
				return this.routing.poolFacts(poolId, this.context.now, this.context.inFlight, fromColo);
			},
		},
		affinity: {
			pin: undefined,
			key: undefined,
			drainingSince: (key) => this.routing.drains.get(key)?.since,
			hashPolicyFor: (poolId) => this.routing.policies.hashPolicyFor(poolId),
		},
	};
	/** Per pool, whether a checked origin of it can take traffic: worked out once per plan (RoutingState.isOriginHealthy). */
	private readonly healthMemo = new Map<string, boolean>();
	/** Slow start, while some origin is still warming (otherwise every share is 1). */
	private readonly warmthOf = (key: string) => this.routing.warmthOf(key, this.context.now);

	private contextFor(
		request: ShardRouteRequest,
		lb: LoadBalancer | undefined,
		now: number,
		random: () => number,
	): PlanningContext {
		const context = this.context;
		this.healthMemo.clear();
		context.now = now;
		context.random = random;
		context.hashKey = request.clientIp;
		context.warmth = now < this.routing.warmingUntil ? this.warmthOf : undefined;
		context.steering.location = request.location;
		context.affinity.pin = request.pin;
		context.affinity.key = lb ? toAffinityKey(lb, request) : undefined;
		return context;
	}

	/** Nothing of the request stays reachable from the core once it is planned. */
	private releaseContext(): void {
		const context = this.context;
		context.hashKey = undefined;
		context.steering.location = undefined;
		context.affinity.pin = undefined;
		context.affinity.key = undefined;
	}

	/**
	 * The outcome of a request an isolate planned itself: its lease ends and the serving origin's
	 * latency is learnt. Passive health is the counter object's (checked by the authority, back here
	 * with the replica), so failures and statuses are not read: a served request counts as served.
	 */
	endOwnLease(record: OutcomeRecord, now: number): void {
		this.leases.release(record.leaseId);
		if (record.servedBy === undefined) return;
		this.routing.outliers.succeeded(record.servedBy);
		this.learnLatency(record, now);
	}

	/**
	 * Outcomes of finished requests: their leases end (idempotent), failures count towards passive
	 * health (an ejection waits in `takeUnreported` for the authority), and the serving origin's time
	 * to first byte feeds its latency EWMAs. Returns how many leases it ended.
	 */
	applyOutcomes(records: readonly OutcomeRecord[], now: number): number {
		let released = 0;
		for (const record of records) {
			if (this.leases.release(record.leaseId)) released++;
			if (record.rules) this.ruleMatches.note(this.routing.snapshot, this.shardKey, record.rules);
			this.metrics?.note(record);
			for (const failure of record.failures ?? []) {
				this.noteFailure(failure.origin, failure.kind === "status" ? `status ${failure.status}` : failure.kind, now);
			}
			if (record.servedBy === undefined) continue;
			if (record.status !== undefined && record.status >= 500)
				this.noteFailure(record.servedBy, `status ${record.status}`, now);
			else this.routing.outliers.succeeded(record.servedBy);
			this.learnLatency(record, now);
		}
		return released;
	}

	/** The serving origin's time to first byte, into its EWMAs (and its pool's from the request's colo). */
	private learnLatency(record: OutcomeRecord, now: number): void {
		if (record.servedBy === undefined || record.ttfbMs === undefined) return;
		this.latency.set(record.servedBy, updatePeakEwma(this.latency.get(record.servedBy), record.ttfbMs, now));
		if (record.colo) {
			const key = `${poolOfKey(record.servedBy)}\u0000${record.colo}`;
			this.coloLatency.set(key, updatePeakEwma(this.coloLatency.get(key), record.ttfbMs, now));
		}
	}

	/** A failed request to `key`: may eject it here at once; the authority hears of it next. */
	private noteFailure(key: string, why: string, now: number): void {
		const routing = this.routing;
		const entry = routing.snapshot.pools.get(poolOfKey(key));
		if (!entry) return;
		const poolKeys = entry.origins.filter((origin) => origin.enabled).map((origin) => origin.key);
		const settings = routing.outlierSettings(entry.pool.id);
		const ejection = routing.outliers.failed(
			key,
			poolKeys,
			settings,
			now,
			why,
			routing.othersAvailable(entry, key, now),
		);
		if (!ejection) return;
		this.metrics?.ejected(ejection.key);
		console.warn(`switchyard: ${this.shardKey}: ${ejection.key} ${ejection.reason}`);
		this.unreported.push({ key: ejection.key, until: ejection.until, reason: ejection.reason, at: now });
	}

	/**
	 * Outcomes of requests isolates planned by themselves (the isolate scope) count as this data
	 * center's traffic, and the isolate's report of what it has in flight replaces its last one.
	 */
	noteIsolates(records: readonly OutcomeRecord[], report: IsolateReport | undefined, now: number): void {
		for (const record of records) if (isIsolateLease(record.leaseId)) this.isolateRouted++;
		if (!report) return;
		// Kept in the order last heard from, so the stale ones are at the front: dropped as reports come,
		// not only when /status asks (every isolate that ever reported would stay until then).
		this.isolateInFlight.delete(report.isolate);
		this.isolateInFlight.set(report.isolate, { at: now, inFlight: report.inFlight });
		for (const [isolate, { at }] of this.isolateInFlight) {
			if (now - at <= ISOLATE_REPORT_TTL_MS) break;
			this.isolateInFlight.delete(isolate);
		}
	}

	/** Ejections to report now (none while a failed report waits its turn); the caller reports them. */
	takeUnreported(now: number): ReportedEjection[] {
		if (this.unreported.length === 0 || now < this.reportAfter) return [];
		const batch = this.unreported;
		this.unreported = [];
		return batch;
	}

	/** The authority answered a report: it refused these, which are lifted here too. */
	reported(refused: readonly string[]): void {
		for (const key of refused) this.routing.outliers.lift(key);
	}

	/** A report failed: its ejections still in force are tried again with later outcomes, after REVALIDATE_MS. */
	reportFailed(batch: readonly ReportedEjection[], now: number): void {
		this.reportAfter = now + REVALIDATE_MS;
		this.unreported.push(...batch.filter((ejection) => this.routing.outliers.isEjected(ejection.key, now)));
	}

	get hasUnreported(): boolean {
		return this.unreported.length > 0;
	}

	/** Counters per origin, for the authority's /status. */
	counters(now: number): ShardCounters {
		const counters: ShardCounters = {
			inFlight: {},
			passiveFailures: {},
			ejectedUntil: {},
			...(this.ruleMatches.size > 0 ? { rules: this.ruleMatches.toRecord() } : {}),
		};
		for (const [isolate, { at, inFlight }] of this.isolateInFlight) {
			if (now - at > ISOLATE_REPORT_TTL_MS) {
				this.isolateInFlight.delete(isolate);
				continue;
			}
			for (const [key, count] of Object.entries(inFlight)) {
				if (count > 0) counters.inFlight[key] = (counters.inFlight[key] ?? 0) + count;
			}
		}
		const outliers = this.routing.outliers;
		for (const entry of this.routing.snapshot.pools.values()) {
			for (const { key } of entry.origins) {
				const inFlight = this.leases.inFlight(key);
				if (inFlight > 0) counters.inFlight[key] = (counters.inFlight[key] ?? 0) + inFlight;
				const failures = outliers.consecutiveFailures(key);
				if (failures > 0) counters.passiveFailures[key] = failures;
				const until = outliers.ejectedUntil(key, now);
				if (until !== undefined) counters.ejectedUntil[key] = until;
			}
		}
		return counters;
	}
}
