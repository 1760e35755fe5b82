/**
 * A counter object: one per load balancer ("lb:<name>"), created by that load balancer's traffic.
 * It plans its requests (`route`, `routeMany`) and learns from their outcomes (`release`) in
 * memory, from a replica of the authority's state; it keeps nothing in storage. A thin RPC shell
 * over routing/counter.ts: it adds fetching the replica when it has none, revalidating it every
 * few seconds (a push may be lost), and reporting its ejections to the authority.
 */
import { DurableObject } from "cloudflare:workers";
import type { IsolateReport, ShardCounters } from "../contract/counters";
import type { OutcomeRecord } from "../contract/outcome";
import type { Replica, ReplicaMark } from "../contract/replica";
import type { ShardRouteRequest } from "../contract/route";
import type { CounterRpc } from "../contract/rpc";
import type { RouteReply, WireOutcomes, WireRouteRequest } from "../contract/wire";
import type { Env } from "../env";
import { CounterCore } from "../routing/counter";
import { fromCounterKey, toLeasePrefix } from "../routing/shard-keys";
import { TrafficMetrics } from "../routing/traffic-metrics";
import { fromWireOutcomes, fromWireRoute } from "../routing/wire";
import { getAuthority, getHub } from "./objects";

export class Counter extends DurableObject<Env> implements CounterRpc {
	private readonly core: CounterCore;
	/** Route calls since the object started (several requests may share one, see routeMany). */
	private routeCalls = 0;
	/** True while a revalidation of the replica is out. */
	private validating = false;
	/** The data center whose traffic created this object: its hub serves the replica (and pushes it here). */
	private colo: string | undefined;
	/** When its replica was last confirmed current (taken, pushed, or revalidated): /_lb/metrics' replica age. */
	private confirmedAt: number | undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		const key = ctx.id.name ?? ctx.id.toString();
		// A data center's object knows its data center from its name; a global one from its first request.
		this.colo = fromCounterKey(key).colo ?? undefined;
		// Each lease names its object, so the Worker sends its release back here.
		this.core = new CounterCore(key, toLeasePrefix(key, crypto.randomUUID().slice(0, 8)));
		this.core.metrics = new TrafficMetrics();
	}

	/** Plans one request (see CounterCore.route), with a lease on the chosen origin. */
	route(request: WireRouteRequest): RouteReply | Promise<RouteReply> {
		this.routeCalls++;
		return this.routeOne(request);
	}

	/**
	 * Several route requests in one call (edge/route-lanes.ts), planned one after another in this
	 * order, exactly as separate `route` calls arriving in this order would be. A request that
	 * cannot be planned gets its Error in its place; the others are planned all the same.
	 */
	async routeMany(requests: readonly WireRouteRequest[]): Promise<(RouteReply | Error)[]> {
		this.routeCalls++;
		const replies: (RouteReply | Error)[] = [];
		for (const request of requests) {
			try {
				replies.push(await this.routeOne(request));
			} catch (error) {
				replies.push(error instanceof Error ? error : new Error(String(error)));
			}
		}
		return replies;
	}

	/**
	 * Outcomes of finished requests, batched by each Worker isolate: their leases end, latency and
	 * passive health learn. The ejections they caused are reported before answering (a release is
	 * never on a request's critical path), so /status and /events show them when the batch is done.
	 */
	async release(
		batch: WireOutcomes | readonly OutcomeRecord[],
		report?: IsolateReport,
	): Promise<{ released: number; state?: number }> {
		const records = fromWireOutcomes(batch);
		if (!this.core.hasReplica) await this.fetchReplica();
		const now = Date.now();
		this.core.noteIsolates(records, report, now);
		const released = this.core.applyOutcomes(records, now);
		this.checkReplica(now);
		await this.reportEjections();
		const state = this.core.state;
		return state === undefined ? { released } : { released, state };
	}

	/** The authority pushes its replica here whenever its state moves. Best effort: revalidation covers a lost push. */
	adopt(replica: Replica): { state: number | undefined } {
		this.core.adopt(replica, Date.now());
		this.confirmedAt = Date.now();
		return { state: this.core.state };
	}

	/** Counters per origin and traffic, for the authority's /status; with its traffic counts for /_lb/metrics. */
	counters(withMetrics = false): ShardCounters {
		const core = this.core;
		const now = Date.now();
		const ageS = this.confirmedAt === undefined ? null : (now - this.confirmedAt) / 1000;
		return {
			...(withMetrics && core.metrics ? { metrics: core.metrics.toMetrics(ageS) } : {}),
			...core.counters(now),
			traffic: {
				routed: core.routed + core.isolateRouted,
				routeCalls: this.routeCalls,
				plannedByIsolates: core.isolateRouted,
				shed: Object.fromEntries(core.shed),
			},
		};
	}

	/** Planned at once when the object holds a replica: no promise of its own, so the reply leaves sooner. */
	private routeOne(wire: WireRouteRequest): RouteReply | Promise<RouteReply> {
		const request = fromWireRoute(wire);
		this.colo ??= request.colo;
		if (!this.core.hasReplica) return this.fetchReplica().then(() => this.planOne(request));
		return this.planOne(request);
	}

	private planOne(request: ShardRouteRequest): RouteReply {
		const now = Date.now();
		const reply = this.core.route(request, now);
		this.checkReplica(now);
		if (this.core.hasUnreported) this.ctx.waitUntil(this.reportEjections());
		return reply;
	}

	/** Off the caller's path: checks the replica with the hub now and then (which keeps this object on its list). */
	private checkReplica(now: number): void {
		if (this.validating || !this.core.isDueForRevalidation(now)) return;
		this.validating = true;
		this.ctx.waitUntil(this.revalidate());
	}

	/**
	 * No replica yet (new, or evicted): pulls one from its hub before answering, and so registers
	 * there for pushes. Other calls wait meanwhile; when the hub does not answer, the call fails (the
	 * Worker then plans from its own replica) and the object starts afresh.
	 */
	private async fetchReplica(): Promise<void> {
		await this.ctx.blockConcurrencyWhile(async () => {
			if (this.core.hasReplica) return;
			const replica = await this.askReplica(null);
			if (!replica) return;
			this.core.adopt(replica, Date.now());
			this.confirmedAt = Date.now();
		});
	}

	/**
	 * The replica from this object's hub, registering with it; from the authority while it knows no
	 * hub (its first call was a release: an object evicted with leases out), which it learns with its
	 * next route request.
	 */
	private askReplica(held: ReplicaMark | null): Promise<Replica | null> {
		if (this.colo === undefined) return getAuthority(this.env).replica(held);
		return getHub(this.env, this.colo).replica(held, this.core.shardKey);
	}

	/** Asks its hub whether the replica is current, and takes the new one if not. */
	private async revalidate(): Promise<void> {
		try {
			const replica = await this.askReplica(this.core.held);
			if (replica) this.core.adopt(replica, Date.now());
			this.confirmedAt = Date.now();
		} catch (error) {
			console.error(`switchyard: ${this.core.shardKey} could not revalidate its replica`, error);
		} finally {
			// After a failure too: the next check waits its turn rather than following every request.
			this.core.validatedAt = Date.now();
			this.validating = false;
		}
	}

	/** Tells the authority about new ejections in one call; lifts those it refuses. */
	private async reportEjections(): Promise<void> {
		const batch = this.core.takeUnreported(Date.now());
		if (batch.length === 0) return;
		try {
			const { refused } = await getAuthority(this.env).recordEjections(batch);
			this.core.reported(refused);
		} catch (error) {
			console.error(`switchyard: ${this.core.shardKey} could not report ${batch.length} ejections`, error);
			this.core.reportFailed(batch, Date.now());
		}
	}
}
