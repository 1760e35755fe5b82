/**
 * The authority: one Durable Object ("global") holding configuration, health, drains, events and
 * the audit log, running the probe rounds (its alarm, and the cron's at its scheduled time), and
 * answering the admin API. It routes nothing: counter objects (counter.ts) plan requests from
 * replicas it pushes them (replication.ts). A thin RPC shell: configuration writes live in
 * config-store.ts, status and events in status.ts, what is due in health/schedule.ts, what
 * planning knows in routing/routing-state.ts, registered and DNS SRV origins in discovery-store.ts;
 * this class adds SQLite, the alarm and the calls.
 *
 * The class keeps the name `Registry`: local storage (Miniflare) and deployed objects are keyed by it.
 */
import { connect } from "cloudflare:sockets";
import { DurableObject } from "cloudflare:workers";
import type { ConfigOperation } from "../config/operations";
import type { ReportedEjection } from "../contract/counters";
import type { Replica, ReplicaMark } from "../contract/replica";
import { LOCAL_COLO, type OtherShard, type RoutePlan } from "../contract/route";
import type { AuthorityRpc, SweepSummary } from "../contract/rpc";
import type { DrainResult, EventEntry, StatusReport, WriteOptions, WriteResult } from "../contract/status";
import type { Env } from "../env";
import type { ProbeResult } from "../health/probe";
import { applyProbeResults } from "../health/record";
import { toNextDueAt } from "../health/schedule";
import { runHealthSweep } from "../health/sweep";
import { BoundedMap } from "../routing/bounded-map";
import { RoutingState } from "../routing/routing-state";
import { AUTHORITY, toOtherShard } from "../routing/shard-keys";
import { SEED } from "../seed/seed.generated";
import { AffinityKeyStore, longestAffinityTtlS, type RotationResult, toRotationAction } from "./affinity-keys";
import { ConfigStore } from "./config-store";
import { DiscoveryStore } from "./discovery-store";
import { decideEjections } from "./ejections";
import { toMetricsReport } from "./metrics-report";
import { Notifier } from "./notifications";
import { handOutProbes, toProbeBook } from "./probe-hand-out";
import { RegionProbes } from "./region-probes";
import { Replication } from "./replication";
import { gatherCounterReports, listEvents, toStatusReport } from "./status";
import { type HealthEvent, loadHealth, migrate, restoreHealth, saveHealth } from "./storage";

/** The alarm never fires more often than this, whatever the monitors ask. */
const MIN_ALARM_GAP_MS = 1000;
const READMITTED = "readmitted on probation after its ejection";

export class Registry extends DurableObject<Env> implements AuthorityRpc {
	private readonly routing = new RoutingState();
	/** Configuration writes (tests reach its applySeed through runInDurableObject). */
	private readonly config: ConfigStore;
	private readonly replication: Replication;
	/** Session affinity cookie keys, generated here, replicated with the state (never shown). */
	private readonly affinity: AffinityKeyStore;
	/**
	 * Moves whenever configuration, health, drains or ejections change: the version of every
	 * replica. Starts from the clock, so a restarted authority never repeats a number a replica
	 * has already seen.
	 */
	private state = Date.now() * 1000;
	/** Rounds of health checks applied: RTT averages move with it, without a new state. */
	private checks = 0;
	/** Health events noticed between rounds (ejections, readmissions), written by the next alarm in one batch. */
	private pendingEvents: HealthEvent[] = [];
	/** Origins whose probe is out now: a round never hands out one another round is still probing. */
	private readonly probing = new Set<string>();
	/** Monitor previews' results (JSON) by preview id, the latest 100, in memory (admin/previews.ts). */
	private readonly previews = new BoundedMap<string, string>(100);
	/** Alerts: queued with the health events they are about, sent by the alarm (notifications.ts). */
	private readonly notifier: Notifier;
	/** The probe objects of pools' check_regions (region-probes.ts). */
	private readonly regions: RegionProbes;
	private readonly discovery: DiscoveryStore;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		const sql = ctx.storage.sql;
		this.affinity = new AffinityKeyStore(sql);
		this.regions = new RegionProbes(env, this.routing);
		this.notifier = new Notifier(sql, env, this.routing, { queued: () => void this.armAlarm() });
		this.replication = new Replication({
			replica: () => this.toReplica(true),
			send: (hub, replica) => env.HUBS.getByName(hub).adopt(replica),
			background: (promise) => ctx.waitUntil(promise),
			roundsWaiting: () => void this.armAlarm(),
		});
		this.discovery = new DiscoveryStore(this.routing, ctx.storage, this.notifier, {
			changed: () => this.bumpState(),
			settle: () => this.armAlarm().then(() => this.replication.settled()),
		});
		this.config = new ConfigStore(this.routing, sql, {
			transaction: (body) => ctx.storage.transactionSync(body),
			changed: () => this.bumpState(),
			hasSecret: (name) => Notifier.hasSecret(env, name),
			installed: (_before, _after, written) => {
				this.discovery.prune();
				// A stored configuration keeps the alarm it had; a written one may be due sooner.
				if (written) void this.armAlarm();
				ctx.waitUntil(this.regions.sync());
			},
		});
		// Only "global" is the authority. Before counter objects had a class of their own, this class
		// also served as counter shards ("lb:<name>"), and a Worker still running that code may address
		// one: it gets no storage, no seed and no alarm, and its calls fail (that Worker fails open).
		if (ctx.id.name !== undefined && ctx.id.name !== AUTHORITY) return;
		ctx.blockConcurrencyWhile(async () => {
			migrate(sql);
			this.discovery.load();
			this.config.load();
			this.affinity.load();
			restoreHealth(this.routing.health, loadHealth(sql));
			if (SEED) this.config.applySeed(SEED, Date.now());
			// Not before: counter objects that outlived a restart see the new state when they next revalidate.
			this.replication.pushing = true;
		});
	}

	// --- Replicas: what counter objects and Worker isolates plan from ---

	/**
	 * The replica, or null when `held` is current already (the cheap check hubs revalidate with). A
	 * hub that asks (`hub`: its name) gets the pushes from now on.
	 */
	replica(held: ReplicaMark | null, hub?: string): Replica | null {
		if (hub !== undefined) this.replication.heardFrom(hub, Date.now());
		if (held && held.state === this.state && held.checks === this.checks) return null;
		// Only RTT averages moved: the configuration stays where it was.
		return this.toReplica(held?.state !== this.state);
	}

	private toReplica(withConfig: boolean): Replica {
		const now = Date.now();
		return {
			...this.routing.toReplica(this.state, this.checks, now, withConfig),
			affinityKeys: this.affinity.secrets(now),
		};
	}

	/**
	 * A new session affinity key: cookies sealed with the earlier one still open for the longest
	 * session_affinity_ttl configured (none with `dropEarlier`). Answers when, never the key.
	 */
	async rotateAffinityKey(actor: string, dropEarlier: boolean): Promise<RotationResult> {
		const now = Date.now();
		const keepMs = longestAffinityTtlS(this.routing.snapshot.config) * 1000;
		const result = this.affinity.rotate(now, keepMs, dropEarlier);
		this.config.audit(actor, toRotationAction(result, dropEarlier), []);
		this.bumpState();
		await this.replication.settled();
		return result;
	}

	/** Which counter object plans for `hostname`: asked by isolates whose replica has no load balancer for it (yet). */
	resolve(hostname: string, colo: string = LOCAL_COLO): OtherShard | RoutePlan {
		return toOtherShard(this.routing.snapshot, hostname, colo, this.state);
	}

	/**
	 * Ejections counter objects decided. Each is checked again here against every object's
	 * ejections (the pool's max_ejection_percent, never its last available origin), recorded as a
	 * health event and pushed to every object, so other load balancers sharing the pool stop using
	 * the origin too. Returns the ones refused; the object lifts them.
	 */
	async recordEjections(ejections: readonly ReportedEjection[]): Promise<{ refused: string[] }> {
		const now = Date.now();
		const { refused, events, moved } = decideEjections(this.routing, ejections, now);
		this.pendingEvents.push(...events);
		// Written off the caller's path: the alarm flushes pending events soon.
		if (events.length > 0) void this.armAlarm(now + MIN_ALARM_GAP_MS);
		if (moved) this.bumpState();
		return this.pushed({ refused });
	}

	// --- The admin API ---

	getConfig(): { version: number; json: string } {
		return this.config.getConfig();
	}

	/** Replaces the whole configuration, all or nothing. */
	putConfig(input: unknown, options: WriteOptions): Promise<WriteResult> {
		return this.pushed(this.config.write(input, options, "replaced the configuration"));
	}

	/** One CRUD change, applied to the current document and validated as a whole, atomically. */
	changeConfig(op: ConfigOperation, options: WriteOptions): Promise<WriteResult> {
		return this.pushed(this.config.applyChange(op, options));
	}

	/** The object a CRUD read names, as JSON, or undefined. */
	readItem(target: ConfigOperation["target"], key: string, pool?: string): string | undefined {
		return this.config.readItem(target, key, pool);
	}

	drain(poolId: string, originName: string, actor: string): Promise<DrainResult> {
		return this.pushed(this.config.drain(poolId, originName, actor));
	}

	enable(poolId: string, originName: string, actor: string): Promise<DrainResult | WriteResult> {
		return this.pushed(this.config.enable(poolId, originName, actor));
	}

	/** `result`, once the change it made was pushed to the counter objects (or PUSH_WAIT_MS passed). */
	private async pushed<T>(result: T): Promise<T> {
		await this.replication.settled();
		return result;
	}

	register(poolId: string, name: string, body: unknown, actor: string) {
		return this.discovery.register(poolId, name, body, actor, Date.now());
	}
	deregister(poolId: string, name: string, actor: string) {
		return this.discovery.deregister(poolId, name, actor);
	}
	registrations(poolId: string) {
		return this.discovery.list(poolId);
	}

	/** Configuration, health and drains as the authority holds them, with every counter object's counters added up. */
	async status(): Promise<StatusReport> {
		return toStatusReport(this.routing, this.config.loadErrors, await this.counterReports(false), Date.now());
	}

	/** Health as it holds it, and every counter object's own counts, each object apart: GET /_lb/metrics. */
	async metrics() {
		return toMetricsReport(this.routing, await this.counterReports(true), Date.now());
	}

	/** What the dashboard shows, from one gather through the hubs. */
	async dashboard(eventLimit: number) {
		const counters = await this.counterReports(true);
		return {
			status: toStatusReport(this.routing, this.config.loadErrors, counters, Date.now()),
			counters,
			events: this.events(eventLimit),
		};
	}

	/** Every counter object's counters, through the hubs, within one invocation's calls. */
	private counterReports(withMetrics: boolean) {
		return gatherCounterReports(this.env, this.replication.registered(Date.now()), withMetrics);
	}

	/** The audit log and health transitions, newest first. */
	events(limit: number): EventEntry[] {
		return listEvents(this.ctx.storage.sql, limit);
	}

	keepPreview(id: string, json: string): void {
		this.previews.set(id, json);
	}
	preview(id: string): string | undefined {
		return this.previews.get(id);
	}

	// --- Health: one probe round, run by the alarm and by the cron at its scheduled time ---

	/** The cron's round: probes what is due at `scheduledTime` (a cron may run late). */
	async sweep(scheduledTime: number): Promise<SweepSummary> {
		return this.runRound(scheduledTime);
	}

	/** Called by the cron: arms the alarm if it is not set (lost, or never armed). */
	async ensureAlarm(): Promise<{ armedFor: number | null }> {
		await this.regions.sync(); // probe objects a failed call (or a restart) left untold
		const current = await this.ctx.storage.getAlarm();
		if (current === null) await this.armAlarm();
		return { armedFor: await this.ctx.storage.getAlarm() };
	}

	/**
	 * Sub-minute health checks: the alarm writes pending health events, runs the probes that are due,
	 * and re-arms itself for the next due probe however that ended (cron fires at most once a minute).
	 */
	override async alarm(): Promise<void> {
		// A push too large for one invocation: this alarm sends its next round, and nothing else.
		if (this.replication.roundsPending) {
			await this.replication.nextRound();
			await this.armAlarm();
			return;
		}
		const now = Date.now();
		// One push per invocation at most: the round's results may need this one's calls, so the
		// readmissions' push goes whole to the next alarm.
		this.replication.deferring = true;
		for (const key of this.routing.outliers.readmitted(now)) {
			this.pendingEvents.push({ at: now, originKey: key, healthy: true, reason: READMITTED });
			this.bumpState();
		}
		try {
			// Leases that ran out, DNS lookups due: pushed with the readmissions; lookups spend the round's subrequests.
			const looked = await this.discovery.runDue(now, fetch);
			this.replication.deferring = false;
			this.flushEvents();
			await this.runRound(now, looked + (await this.notifier.deliverDue(Date.now())));
		} finally {
			this.replication.deferring = false;
			await this.armAlarm(); // issue 15: a round that threw left no alarm (the runtime's few retries, then the cron)
		}
	}

	/** One probe round: what is due at `dueAt`, probed, recorded. Its origins are free again when it ends, however it ends. */
	private async runRound(dueAt: number, spentSubrequests = 0): Promise<SweepSummary> {
		const handedOut: string[] = [];
		try {
			return await runHealthSweep(
				{
					dueProbes: async (at) => {
						const due = handOutProbes(this.routing, this.probing, at, spentSubrequests);
						for (const target of due) handedOut.push(target.key);
						return due;
					},
					recordProbes: (results) => this.recordProbes(results),
				},
				fetch,
				Date.now,
				dueAt,
				connect,
			);
		} finally {
			for (const key of handedOut) this.probing.delete(key);
		}
	}

	/** A region's probe object's round (check_regions): recorded by majority; answers what it checks now. */
	async recordRegionProbes(region: string, results: readonly ProbeResult[]) {
		await this.recordProbes(this.regions.toMajority(region, results), true);
		return { targets: this.regions.targetsOf(region) };
	}

	/**
	 * Applies check results (rise/fall; `decided`: by majority of regions, whose own rise/fall is
	 * applied already); writes only transitions, with their events, in one transaction, and returns
	 * once the counter objects have them (or PUSH_WAIT_MS passed).
	 */
	private async recordProbes(results: readonly ProbeResult[], decided = false): Promise<void> {
		const routing = this.routing;
		// Pending origins whose first check passed are `settled`: no event, but stored, and replicas must know.
		const { changed, settled } = applyProbeResults(results, toProbeBook(routing, decided));
		// RTT averages moved: counter objects pick them up at their next check (they steer by them, but need no push).
		if (results.length > 0) this.checks++;
		if (changed.length === 0 && settled.length === 0) return;
		routing.noteWarming();
		this.bumpState();
		const sql = this.ctx.storage.sql;
		this.ctx.storage.transactionSync(() => {
			for (const key of [...changed, ...settled]) {
				const { state, lastReason = "" } = routing.healthOf(key);
				saveHealth(sql, key, { healthy: state.healthy, changedAt: state.changedAt, reason: lastReason });
			}
			this.notifier.record(
				changed.map((key) => {
					const { state, lastReason = "" } = routing.healthOf(key);
					return { at: state.changedAt, originKey: key, healthy: state.healthy, reason: lastReason };
				}),
			);
		});
		await this.replication.settled();
	}

	/** Arms the alarm for the next due probe (or `at`, if sooner); clears it when nothing is due. */
	private async armAlarm(at?: number): Promise<void> {
		const now = Date.now();
		let next = at ?? Number.POSITIVE_INFINITY;
		if (this.pendingEvents.length > 0) next = Math.min(next, now + MIN_ALARM_GAP_MS);
		const readmission = this.routing.outliers.nextReadmission(now);
		if (readmission !== undefined) next = Math.min(next, readmission);
		const health = this.routing.health;
		const probe = toNextDueAt(
			{ pools: this.routing.snapshot.pools.values(), lastDueAt: (key) => health.get(key)?.dueAt },
			now,
		);
		if (probe !== undefined) next = Math.min(next, probe);
		const discovery = this.discovery.nextDueAt(now);
		if (discovery !== undefined) next = Math.min(next, discovery);
		const delivery = this.notifier.nextDueAt();
		if (delivery !== undefined) next = Math.min(next, delivery);
		const current = await this.ctx.storage.getAlarm();
		// Rounds of a push go at once, each in an alarm of its own.
		if (this.replication.roundsPending) {
			if (current === null || current > now) await this.ctx.storage.setAlarm(now);
			return;
		}
		if (next === Number.POSITIVE_INFINITY) {
			if (current !== null) await this.ctx.storage.deleteAlarm();
			return;
		}
		next = Math.max(next, now + MIN_ALARM_GAP_MS);
		if (current === null || current > next || current < now) await this.ctx.storage.setAlarm(next);
	}

	/** Writes the health events noticed between rounds, with the alerts they send, in one transaction. */
	private flushEvents(): void {
		const events = this.pendingEvents.splice(0);
		if (events.length > 0) this.ctx.storage.transactionSync(() => this.notifier.record(events));
	}

	/** Moves `state`: isolates refresh their replicas, and the counter objects get a push. */
	private bumpState(): void {
		this.state++;
		this.replication.schedule();
	}
}
