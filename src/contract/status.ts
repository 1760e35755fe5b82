/**
 * What the authority answers the admin API (configuration writes, drains, status and events) and
 * GET /_lb/metrics (the metrics report).
 * Configuration documents cross RPC as JSON text: loose objects (unknown fields kept) do not fit
 * RPC's serialisable types, and the admin API sends them on as text anyway.
 */
import type { CounterReport } from "./counters";
import type { OriginLabels } from "./metrics";

/** The collections the admin API changes one item at a time (origins go through their pool). */
export type Collection = "monitors" | "pools" | "load_balancers";

/** One CRUD change the admin API asks for (config/operations.ts applies it). */
export type ConfigOperation =
	| { readonly target: Collection; readonly action: "create"; readonly body: Record<string, unknown> }
	| {
			readonly target: Collection;
			readonly action: "replace" | "patch";
			readonly key: string;
			readonly body: Record<string, unknown>;
	  }
	| { readonly target: Collection; readonly action: "delete"; readonly key: string }
	| {
			readonly target: "origins";
			readonly action: "create";
			readonly pool: string;
			readonly body: Record<string, unknown>;
	  }
	| {
			readonly target: "origins";
			readonly action: "patch" | "replace";
			readonly pool: string;
			readonly key: string;
			readonly body: Record<string, unknown>;
	  }
	| { readonly target: "origins"; readonly action: "delete"; readonly pool: string; readonly key: string };

/** One object a configuration change added, removed or changed (config/diff.ts). */
export interface ConfigChange {
	readonly kind: "monitor" | "pool" | "origin" | "load_balancer" | "notification";
	/** The monitor or pool id, the load balancer's hostname, or "<pool id>/<origin name>". */
	readonly id: string;
	readonly change: "added" | "removed" | "changed";
	/** For "changed": the top-level fields that differ. */
	readonly fields?: string[];
}

/** A field of a configuration that validation refused, and why (config/validate.ts). */
export interface FieldError {
	readonly path: string;
	readonly message: string;
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
	/** An object too large for its stored row (registry/storage.ts, MAX_STORED_ROW_BYTES); `field` names it. */
	| { ok: false; status: 413; message: string; field: string }
	| { ok: false; status: 412; version: number };

export type DrainResult =
	/** `version`: the configuration version after it (a drain or its end moves it, as every write does). */
	| { ok: true; pool: string; origin: string; draining: boolean; since: string | null; version: number }
	| { ok: false; status: 404; message: string };

export interface OriginStatus {
	name: string;
	address: string;
	enabled: boolean;
	weight: number;
	healthy: boolean;
	monitored: boolean;
	/**
	 * No check has spoken since it was added or its address, port or monitor changed: it takes
	 * traffic only while no checked origin of its pool can (`healthy` says whether it would now).
	 */
	pending: boolean;
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
	/** Its pool's check_regions: each region's view, by region code (`healthy` by their majority); null without. */
	regions: Record<string, OriginRegionStatus> | null;
	/** Found at run time, not configured (issue 22): registered itself, or from DNS SRV. Absent for configured origins. */
	discovered?: "registration" | "dns";
	/** A registered origin: true, with when its lease ends unless renewed. */
	registered?: boolean;
	expires_at?: string | null;
	/** A DNS SRV origin's failover tier (0: the lowest priority value, which takes the traffic). */
	tier?: number;
}

/** One region's view of an origin (check_regions): its own rise/fall, its last check. */
export interface OriginRegionStatus {
	/** True too while the region has not reported yet. */
	healthy: boolean;
	last_check: string | null;
	last_check_at: string | null;
	rtt_ms: number | null;
}

export interface PoolStatus {
	id: string;
	name: string;
	enabled: boolean;
	healthy: boolean;
	monitor: string | null;
	/** Average of its origins' health-check RTT averages. */
	rtt_ewma_ms: number | null;
	/** Its load_shedding settings; null when it sheds nothing. */
	load_shedding: {
		default_percent: number;
		default_policy: "random" | "hash";
		session_percent: number;
		session_policy: "hash";
	} | null;
	/** Requests load shedding steered away from it, as the counter objects that answered counted them since they started. */
	shed: number;
	/** Its check_regions: the pool's health as each region sees it, by region code; null without. */
	regions: Record<string, { healthy: boolean }> | null;
	origins: OriginStatus[];
}

/** One counter object, as /status lists it: where decisions for a load balancer were made. */
export interface CounterStatus {
	/** Its key: "lb:<name>@<colo>", or "lb:<name>" in the global scope ("colo:<colo>" for a hub that did not answer). */
	name: string;
	/** null for a hub that did not answer (its counter objects are unknown). */
	load_balancer: string | null;
	/** The load balancer's counter_scope now (null when the configuration no longer has it). */
	scope: "colo" | "global" | "isolate" | null;
	/** The data center it serves; null in the global scope. */
	colo: string | null;
	/** Since the object started: requests it planned, and the route calls they came in (fewer when requests share one). */
	routed: number;
	route_calls: number;
	/**
	 * Of `routed`, the requests Worker isolates planned themselves because their round trip to this
	 * object was over the load balancer's counter_rtt_budget_ms (0 in the isolate scope, where
	 * isolates plan every request).
	 */
	planned_over_budget: number;
	/** Requests it holds leases for. */
	in_flight: number;
	/** False when it did not answer in time: its requests in flight are missing from the origins' counts. */
	answered: boolean;
	error?: string;
}

/** A load balancing rule, as /status lists it: how often it matched since the counter objects started. */
export interface RuleStatus {
	/** Its name ("#<index>" when it has none). */
	name: string;
	disabled: boolean;
	/** Requests it matched, summed over the counter objects that answered. */
	matched: number;
}

export interface StatusReport {
	version: number;
	/** Set when the stored configuration could not be loaded; PUT a new one. */
	load_errors?: string[];
	load_balancers: {
		name: string;
		enabled: boolean;
		default_pools: string[];
		fallback_pool: string;
		/** Present when it has rules. */
		rules?: RuleStatus[];
	}[];
	pools: PoolStatus[];
	/** The counter objects known through the hubs, whose counts (in flight, passive health) the origins show. */
	counters: CounterStatus[];
}

export type EventEntry =
	| { type: "config"; at: string; actor: string; action: string; version: number; changes: ConfigChange[] }
	| { type: "health"; at: string; pool: string; origin: string; healthy: boolean; reason: string }
	/** An alert's delivery (registry/notifications.ts): never the secret or the signature. */
	| {
			type: "alert";
			at: string;
			notification: string;
			delivery: string;
			event: string;
			url: string;
			attempt: number;
			outcome: "delivered" | "failed" | "dropped";
			status?: number;
			error?: string;
			next_attempt_at?: string;
	  };

/** What the dashboard reads in one call (GET /_lb/api/dashboard): status, each counter object's counts, the latest events. */
export interface DashboardReport {
	readonly status: StatusReport;
	/** Every counter object the hubs know, with its own traffic counts (or why it did not answer). */
	readonly counters: readonly CounterReport[];
	readonly events: readonly EventEntry[];
}

/** What the authority answers for GET /_lb/metrics. */
export interface MetricsReport {
	/** The configuration version (the admin API's ETag). */
	readonly configVersion: number;
	readonly pools: readonly { readonly pool: string; readonly healthy: boolean }[];
	readonly origins: readonly (OriginLabels & {
		readonly healthy: boolean;
		readonly checks: { readonly success: number; readonly failure: number };
		/** The last health check's round trip, when one ran. */
		readonly rttMs: number | null;
	})[];
	/** Every counter object the hubs know, each with its own metrics (or why it did not answer). */
	readonly counters: readonly CounterReport[];
}
