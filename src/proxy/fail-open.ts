/**
 * Fail open: when the registry does not answer `route` in time (reset by a deploy, overloaded,
 * unreachable), the Worker plans from its own last copy of configuration and health with the same
 * pure routing code, and marks the outcome `failOpen`. The copy is versioned: every route reply
 * carries the registry's state version, and when it moves the Worker fetches a fresh copy in the
 * background (never on the request's critical path). One per isolate.
 */
import { createOriginPolicy } from "../balancing";
import type { OriginPolicy } from "../balancing/policy";
import type { LoadBalancer } from "../config/schema";
import { validateConfig } from "../config/validate";
import { planRoute, type RoutePlan } from "../registry/plan";
import { findLoadBalancer, type Snapshot, toSnapshot } from "../registry/snapshot";
import { type CompactPlan, fromCompactPlan } from "../registry/wire";
import { DeadlineTimer } from "./deadline";
import type { Planner, RouteRequest } from "./proxy";

/** A `route` slower than this is given up on, and the request planned locally (when a copy exists). */
export const ROUTE_DEADLINE_MS = 1000;
/** A cold isolate's fetch of the copy that has run this long no longer holds other requests back. */
export const COPY_LOAD_STALE_MS = 2000;

/** The registry's state as the Worker keeps it. */
export interface StateCopy {
	/** Moves on every change of configuration, health or drains. */
	readonly state: number;
	readonly configJson: string;
	readonly version: number;
	readonly unhealthy: readonly string[];
	readonly draining: readonly string[];
}

interface LocalState {
	readonly state: number;
	readonly snapshot: Snapshot;
	readonly unhealthy: ReadonlySet<string>;
	readonly draining: ReadonlySet<string>;
	readonly policies: Map<string, OriginPolicy>;
}

export interface RemoteRegistry {
	route(request: RouteRequest): Promise<RoutePlan>;
	stateCopy(): Promise<StateCopy>;
}

export class FailOpenPlanner {
	private local: LocalState | undefined;
	private refreshingState: number | undefined;
	/** When the running `load` started (see `loading`). */
	private loadingSince: number | undefined;

	constructor(private readonly deadlineMs = ROUTE_DEADLINE_MS) {}

	/**
	 * A planner for one request: `remote` is that request's registry stub, `background` its
	 * ctx.waitUntil (a refresh runs in the context of the request that noticed the change).
	 */
	for(
		remote: RemoteRegistry,
		background: (promise: Promise<unknown>) => void,
		onLateLease: (leaseId: string) => unknown = () => undefined,
	): Planner {
		return { route: (request, timer) => this.route(request, remote, background, onLateLease, timer) };
	}

	private async route(
		request: RouteRequest,
		remote: RemoteRegistry,
		background: (promise: Promise<unknown>) => void,
		onLateLease: (leaseId: string) => unknown,
		timer: DeadlineTimer = new DeadlineTimer(),
	): Promise<RoutePlan> {
		const answer = remote.route(request);
		const deadline = new Promise<never>((_resolve, reject) => {
			timer.start(this.deadlineMs, () => {
				// A reply that comes after we gave up carries a lease nobody will use: hand it back.
				background(
					answer.then(
						// The hand-back's flush, if it starts one, stays in this background promise.
						(plan) => (plan.ok && plan.leaseId ? onLateLease(plan.leaseId) : undefined),
						() => {},
					),
				);
				reject(new Error(`route took longer than ${this.deadlineMs} ms`));
			});
		});
		try {
			const plan = await Promise.race([answer, deadline]);
			// Only a newer state: replies come from several counter shards, and one may lag the copy.
			if (
				plan.ok &&
				plan.state !== undefined &&
				plan.state > (this.local?.state ?? Number.NEGATIVE_INFINITY) &&
				plan.state !== this.refreshingState
			) {
				this.refreshingState = plan.state;
				background(this.refresh(remote));
			}
			return plan;
		} catch (error) {
			if (!this.local) throw error;
			console.error(`registry unavailable, planning from state ${this.local.state}:`, error);
			return this.planLocally(request);
		} finally {
			timer.stop();
		}
	}

	/** Whether the isolate holds a copy yet: a cold one fetches it (`load`) before its first route. */
	get hasCopy(): boolean {
		return this.local !== undefined;
	}

	/**
	 * True while some request's `load` runs, for at most COPY_LOAD_STALE_MS: a load whose request
	 * was cancelled never finishes, and must not keep the others waiting. A time, not the pending
	 * promise: the runtime ties promises to the request that made them.
	 */
	get loading(): boolean {
		return this.loadingSince !== undefined && Date.now() - this.loadingSince < COPY_LOAD_STALE_MS;
	}

	/** The registry state of this isolate's copy, if it has one. */
	get state(): number | undefined {
		return this.local?.state;
	}

	/** A compact route reply made whole from the copy; undefined unless the copy is the reply's state. */
	expand(compact: CompactPlan, lb: LoadBalancer): RoutePlan | undefined {
		const local = this.local;
		if (!local || local.state !== compact[1]) return undefined;
		return fromCompactPlan(compact, lb, local.snapshot);
	}

	/** The load balancer `hostname` resolves to in this isolate's copy: which counter shard to ask. */
	loadBalancerOf(hostname: string): LoadBalancer | undefined {
		return this.local && findLoadBalancer(this.local.snapshot, hostname);
	}

	/** Fetches the copy and waits for it; throws when the registry does not answer. */
	async load(remote: Pick<RemoteRegistry, "stateCopy">): Promise<void> {
		const since = Date.now();
		this.loadingSince = since;
		try {
			this.install(await remote.stateCopy());
		} finally {
			if (this.loadingSince === since) this.loadingSince = undefined;
		}
	}

	private async refresh(remote: RemoteRegistry): Promise<void> {
		try {
			this.install(await remote.stateCopy());
		} catch (error) {
			console.error("refreshing the registry copy failed", error);
		} finally {
			this.refreshingState = undefined;
		}
	}

	private install(copy: StateCopy): void {
		if (this.local && copy.state < this.local.state) return;
		const checked = validateConfig(JSON.parse(copy.configJson));
		if (!checked.ok) return;
		this.local = {
			state: copy.state,
			snapshot: toSnapshot(checked.config, copy.version),
			unhealthy: new Set(copy.unhealthy),
			draining: new Set(copy.draining),
			policies: new Map(),
		};
	}

	private planLocally(request: RouteRequest): RoutePlan {
		const local = this.local as LocalState;
		const plan = planRoute(local.snapshot, request.hostname, {
			isHealthy: (key) => !local.unhealthy.has(key),
			isDraining: (key) => local.draining.has(key),
			policyFor: (poolId) => {
				let policy = local.policies.get(poolId);
				if (!policy) {
					policy = createOriginPolicy(local.snapshot.pools.get(poolId)?.pool.origin_steering.policy ?? "random");
					local.policies.set(poolId, policy);
				}
				return policy;
			},
			random: Math.random,
			hashKey: request.clientIp,
			now: Date.now(),
			...(request.location ? { steering: { location: request.location } } : {}),
			...(request.pin ? { affinity: { pin: request.pin } } : {}),
		});
		return plan.ok ? { ...plan, failOpen: true } : plan;
	}
}
