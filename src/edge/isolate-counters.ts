/**
 * The isolate scope (`counter_scope: "isolate"`): the Worker isolate plans a load balancer's
 * requests by itself, from its replica and counters of its own (its own rotation, its own requests
 * in flight for least_connections, p2c, least_outstanding_requests, ewma), as Envoy's per-thread
 * balancers do, with no Durable Object call on the request path. It is the same CounterCore a
 * counter object runs; its leases name the data center's counter object, so outcomes still go there,
 * batched and off the request path, for passive health, ejections and /status.
 */
import type { IsolateReport } from "../contract/counters";
import type { OutcomeRecord } from "../contract/outcome";
import type { Replica } from "../contract/replica";
import type { RoutePlan, RouteRequest } from "../contract/route";
import { BoundedMap } from "../routing/bounded-map";
import { CounterCore } from "../routing/counter";
import type { RoutingState } from "../routing/routing-state";
import { isolateLeaseInstance, shardOfLease, toLeasePrefix } from "../routing/shard-keys";

/** An isolate-scope object's outcomes wait this long for company: no route call carries them, and many isolates share the object. */
export const ISOLATE_OUTCOME_DELAY_MS = 1_000;

/**
 * Counter objects an isolate plans for at once: one per isolate-scope load balancer and data center
 * (an isolate's requests come through one data center). Beyond this the least recently used is
 * forgotten: its leases end unseen here (their outcomes still reach the counter object), and it
 * starts afresh from the replica, counting from zero, when its load balancer is asked for again.
 */
export const MAX_ISOLATE_CORES = 128;

export class IsolateCounters {
	private readonly cores: BoundedMap<string, CounterCore>;
	/** This isolate's id: in its leases and reports. */
	readonly instance: string;

	constructor(
		id: string = crypto.randomUUID().slice(0, 8),
		maxCores = MAX_ISOLATE_CORES,
		/**
		 * The isolate's one RoutingState (its replica cache's), which every core plans from; without
		 * it each core keeps a state of its own (a copy of the whole replica per load balancer).
		 */
		private readonly shared?: () => RoutingState | undefined,
	) {
		this.instance = isolateLeaseInstance(id);
		this.cores = new BoundedMap(maxCores);
	}

	/** Counter objects it plans for now (at most the bound). */
	get size(): number {
		return this.cores.size;
	}

	/** Plans `request` here for the load balancer whose data-center counter object is `key`, from `replica`. */
	plan(
		key: string,
		request: RouteRequest,
		replica: Replica,
		now: number,
		random: () => number = Math.random,
	): RoutePlan {
		const core = this.coreFor(key);
		core.adopt(replica, now);
		// Planned here whatever the key, and whole: nothing crosses a wire. Its releases are the caller's.
		return core.route(request, now, random, true) as RoutePlan;
	}

	/**
	 * An outcome of a request: when this isolate planned it, its lease ends here and the counters
	 * learn (ejections are the data center's counter object's to report). False when it was not ours.
	 */
	release(record: OutcomeRecord, now?: number): boolean {
		if (this.cores.size === 0) return false;
		const core = this.cores.get(shardOfLease(record.leaseId));
		if (!core || !record.leaseId.includes(this.instance)) return false;
		// The lease and the latency only: passive health is the counter object's, checked by the
		// authority, and comes back here with the replica.
		core.endOwnLease(record, now ?? Date.now());
		return true;
	}

	/** Whether this isolate plans for the counter object `key` (so its outcomes come from here). */
	plansFor(key: string): boolean {
		return this.cores.has(key);
	}

	/** The report to send the counter object `key` with a batch of outcomes; undefined when this isolate plans none of its requests. */
	reportFor(key: string, now: number): IsolateReport | undefined {
		const core = this.cores.get(key);
		if (!core) return undefined;
		return { isolate: this.instance, inFlight: core.counters(now).inFlight };
	}

	private coreFor(key: string): CounterCore {
		let core = this.cores.get(key);
		if (!core) {
			const shared = this.shared;
			const routing = shared?.();
			core = new CounterCore(key, toLeasePrefix(key, this.instance), routing ? () => shared?.() ?? routing : undefined);
			this.cores.set(key, core);
		}
		return core;
	}
}
