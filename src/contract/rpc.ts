/**
 * The Durable Objects' RPC surfaces, as their callers see them: the Worker (edge/, admin/, the
 * cron) and the objects themselves call each other through these, so no caller imports a class.
 * `registry/registry.ts` (the authority) and `registry/counter.ts` implement them.
 */
import type { CounterReport, IsolateReport, ReportedEjection, ShardCounters } from "./counters";
import type { RegistrationResult, RegistrationView } from "./discovery";
import type { OutcomeRecord } from "./outcome";
import type { ProbeResult, RegionTarget } from "./probe";
import type { Replica, ReplicaMark } from "./replica";
import type { OtherShard, RoutePlan } from "./route";
import type {
	ConfigOperation,
	DashboardReport,
	DrainResult,
	EventEntry,
	MetricsReport,
	StatusReport,
	WriteOptions,
	WriteResult,
} from "./status";
import type { RouteReply, WireOutcomes, WireRouteRequest } from "./wire";

/** What a probe round did: origins probed, and how many of them failed. */
export interface SweepSummary {
	readonly probed: number;
	readonly failed: number;
}

/** The authority ("global"): configuration, health, drains, events, the audit log; routes nothing. */
export interface AuthorityRpc extends Rpc.DurableObjectBranded {
	/** The replica, or null when `held` is current already; `hub`: the hub asking, which gets pushes from now on. */
	replica(held: ReplicaMark | null, hub?: string): Replica | null;
	/** Which counter object plans for a hostname the caller's replica does not know, from data center `colo`. */
	resolve(hostname: string, colo?: string): OtherShard | RoutePlan;
	/** Ejections a counter object decided; answers those it refuses. */
	recordEjections(ejections: readonly ReportedEjection[]): Promise<{ refused: string[] }>;
	getConfig(): { version: number; json: string };
	putConfig(input: unknown, options: WriteOptions): Promise<WriteResult>;
	changeConfig(op: ConfigOperation, options: WriteOptions): Promise<WriteResult>;
	readItem(target: ConfigOperation["target"], key: string, pool?: string): string | undefined;
	drain(poolId: string, originName: string, actor: string): Promise<DrainResult>;
	enable(poolId: string, originName: string, actor: string): Promise<DrainResult | WriteResult>;
	status(): Promise<StatusReport>;
	/** Health as it holds it, and every counter object's own counts (through the hubs), for GET /_lb/metrics. */
	metrics(): Promise<MetricsReport>;
	events(limit: number): EventEntry[];
	/** Status, every counter object's traffic counts and the latest `eventLimit` events, in one gather (the dashboard). */
	dashboard(eventLimit: number): Promise<DashboardReport>;
	/** Keeps a monitor preview's results (JSON) under its id, for a while (the latest few). */
	keepPreview(id: string, json: string): void;
	/** A kept preview's results (JSON), or undefined when unknown or forgotten. */
	preview(id: string): string | undefined;
	/** A new session affinity cookie key; earlier ones still open cookies for the longest TTL (not with `dropEarlier`). */
	rotateAffinityKey(
		actor: string,
		dropEarlier: boolean,
	): Promise<{ rotated_at: string; earlier_keys_valid_until: string | null; earlier_keys: number }>;
	/** Registers an origin in a pool that allows it, or renews its lease (issue 22). */
	register(poolId: string, name: string, body: unknown, actor: string): Promise<RegistrationResult>;
	/** Ends a registration at once; 404 when there is none. */
	deregister(poolId: string, name: string, actor: string): Promise<RegistrationResult>;
	/** A pool's registrations; undefined when there is no such pool. */
	registrations(poolId: string): RegistrationView[] | undefined;
	/** The cron's probe round, at its scheduled time. */
	sweep(scheduledTime: number): Promise<SweepSummary>;
	/** Arms the alarm if it is not set. */
	ensureAlarm(): Promise<{ armedFor: number | null }>;
	/**
	 * A region's probe object's round (check_regions): its results recorded; answers what the region
	 * checks now, which the probe object takes (so a lost assignment repairs itself).
	 */
	recordRegionProbes(region: string, results: readonly ProbeResult[]): Promise<{ targets: RegionTarget[] }>;
}

/** A region's probe object ("probe:<region>"): checks the origins of the pools listing the region, on its own alarm. */
export interface ProberRpc extends Rpc.DurableObjectBranded {
	/** What to check from now on (the authority's, when the configuration changes); arms its alarm. */
	assign(targets: readonly RegionTarget[]): Promise<{ region: string; targets: number; armedFor: number | null }>;
}

/**
 * A data center's hub ("colo:<colo>"): holds the replica for that data center, serves it to the
 * isolates and counter objects there, and passes the authority's pushes on to the counter objects.
 */
export interface HubRpc extends Rpc.DurableObjectBranded {
	/** The replica, or null when `held` is current; `member`: the counter object asking, which gets pushes from now on. */
	replica(held: ReplicaMark | null, member?: string): Promise<Replica | null>;
	/** The authority's push: taken when newer, and passed on to the hub's counter objects. */
	adopt(replica: Replica): Promise<{ state: number | undefined }>;
	/** Its counter objects' counters, for /status, with their metrics when asked (at most one invocation's worth of calls). */
	counters(withMetrics?: boolean): Promise<CounterReport[]>;
}

/** A counter object ("lb:<name>"): plans and counts one load balancer's requests. */
export interface CounterRpc extends Rpc.DurableObjectBranded {
	route(request: WireRouteRequest): RouteReply | Promise<RouteReply>;
	routeMany(requests: readonly WireRouteRequest[]): Promise<(RouteReply | Error)[]>;
	/**
	 * Outcomes of finished requests (as WireOutcomes; records as objects from a Worker of the version
	 * before); answers with the state of its replica, news for the isolate that sent them.
	 */
	release(
		records: WireOutcomes | readonly OutcomeRecord[],
		report?: IsolateReport,
	): Promise<{ released: number; state?: number }>;
	adopt(replica: Replica): { state: number | undefined };
	/** Its counters; with its traffic counts for /_lb/metrics when asked. */
	counters(withMetrics?: boolean): ShardCounters;
}
