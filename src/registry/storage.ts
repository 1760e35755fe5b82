/**
 * The registry's SQLite storage: one table per kind of configuration object (JSON documents plus
 * the columns needed to query them), health transitions, and a schema version with migrations
 * that run once, in order, inside blockConcurrencyWhile. Counters never come here: only
 * configuration and health transitions are written.
 */
import type { Config } from "../config/schema";
import type { Drain } from "../routing/routing-state";

/** Each entry upgrades the schema by one version; never edit a shipped entry, append a new one. */
const MIGRATIONS: readonly string[] = [
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	 CREATE TABLE monitors (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL);
	 CREATE TABLE pools (id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL);
	 CREATE TABLE load_balancers (name TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL);
	 CREATE TABLE health (origin_key TEXT PRIMARY KEY, healthy INTEGER NOT NULL, changed_at INTEGER NOT NULL, reason TEXT NOT NULL);`,
	`CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, version INTEGER NOT NULL, detail TEXT NOT NULL);
	 CREATE TABLE health_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, origin_key TEXT NOT NULL, healthy INTEGER NOT NULL, reason TEXT NOT NULL);
	 CREATE TABLE drains (origin_key TEXT PRIMARY KEY, since INTEGER NOT NULL, actor TEXT NOT NULL);`,
	// Issue 18: alerts (notifications.ts). Deliveries wait here until sent or given up on.
	`CREATE TABLE notifications (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL);
	 CREATE TABLE deliveries (id TEXT PRIMARY KEY, notification_id TEXT NOT NULL, url TEXT NOT NULL, secret_name TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL, first_at INTEGER NOT NULL, next_at INTEGER NOT NULL);
	 CREATE TABLE alert_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, doc TEXT NOT NULL);`,
];

/** The audit log and the health events keep this many entries each; older ones are deleted. */
export const EVENTS_KEPT = 1000;

/**
 * Durable Object SQLite's limit on one string, BLOB or row: 2 MB
 * (https://developers.cloudflare.com/durable-objects/platform/limits/). Local workerd allows more,
 * so it is checked here, before writing, for every row a configuration becomes (one per monitor,
 * pool and load balancer): what fits locally fits deployed, and no write fails with SQLITE_TOOBIG.
 */
export const MAX_STORED_ROW_BYTES = 2_000_000;
/** What a row holds besides its text: SQLite's record header and the integer columns, generously. */
const ROW_OVERHEAD_BYTES = 64;
/** An audit entry lists changes up to this size; the action says how many more there were. */
const MAX_AUDIT_DETAIL_BYTES = 64 * 1024;

const encoder = new TextEncoder();

function utf8Bytes(text: string): number {
	return encoder.encode(text).byteLength;
}

type ConfigTable = "monitors" | "pools" | "load_balancers" | "notifications";

/** One row of a configuration table: the values of its INSERT, and what names it. */
interface ConfigRow {
	readonly table: ConfigTable;
	readonly index: number;
	readonly key: string;
	readonly values: readonly (string | number)[];
}

const INSERT: Record<ConfigTable, string> = {
	monitors: "INSERT INTO monitors (id, position, doc) VALUES (?, ?, ?)",
	pools: "INSERT INTO pools (id, position, name, doc) VALUES (?, ?, ?, ?)",
	load_balancers: "INSERT INTO load_balancers (name, position, doc) VALUES (?, ?, ?)",
	notifications: "INSERT INTO notifications (id, position, doc) VALUES (?, ?, ?)",
};

function toConfigRows(config: Config): ConfigRow[] {
	return [
		...config.monitors.map((monitor, i) => ({
			table: "monitors" as const,
			index: i,
			key: monitor.id,
			values: [monitor.id, i, JSON.stringify(monitor)],
		})),
		...config.pools.map((pool, i) => ({
			table: "pools" as const,
			index: i,
			key: pool.id,
			values: [pool.id, i, pool.name, JSON.stringify(pool)],
		})),
		...config.load_balancers.map((lb, i) => ({
			table: "load_balancers" as const,
			index: i,
			key: lb.name,
			values: [lb.name, i, JSON.stringify(lb)],
		})),
		// A configuration from before notifications (issue 18) has none.
		...(config.notifications ?? []).map((notification, i) => ({
			table: "notifications" as const,
			index: i,
			key: notification.id,
			values: [notification.id, i, JSON.stringify(notification)],
		})),
	];
}

const NOUN: Record<ConfigTable, string> = {
	monitors: "monitor",
	pools: "pool",
	load_balancers: "load balancer",
	notifications: "notification",
};

/**
 * The first object of a configuration too large for its stored row (MAX_STORED_ROW_BYTES), as a
 * field error naming it (`pools[2]`), or undefined when every row fits.
 */
export function findOversizedRow(config: Config): { path: string; message: string } | undefined {
	for (const row of toConfigRows(config)) {
		let bytes = ROW_OVERHEAD_BYTES;
		for (const value of row.values) bytes += typeof value === "string" ? utf8Bytes(value) : 8;
		if (bytes > MAX_STORED_ROW_BYTES) {
			return {
				path: `${row.table}[${row.index}]`,
				message: `${NOUN[row.table]} "${row.key}" would take ${bytes} bytes stored; one stored row (a monitor, pool or load balancer) holds at most ${MAX_STORED_ROW_BYTES} bytes (Durable Object SQLite's limit): make it smaller, e.g. spread its origins over more pools`,
			};
		}
	}
	return undefined;
}

export interface StoredHealth {
	readonly healthy: boolean;
	readonly changedAt: number;
	readonly reason: string;
}

export function migrate(sql: SqlStorage): number {
	sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
	const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
	let version = row?.version ?? 0;
	if (!row) sql.exec("INSERT INTO schema_version (version) VALUES (0)");
	while (version < MIGRATIONS.length) {
		sql.exec(MIGRATIONS[version] as string);
		version++;
		sql.exec("UPDATE schema_version SET version = ?", version);
	}
	return version;
}

export function loadConfig(sql: SqlStorage): { config: Config; version: number } {
	const docs = (table: string) =>
		sql
			.exec<{ doc: string }>(`SELECT doc FROM ${table} ORDER BY position`)
			.toArray()
			.map((row) => JSON.parse(row.doc));
	const version = getMeta(sql, "config_version");
	return {
		config: {
			monitors: docs("monitors"),
			pools: docs("pools"),
			load_balancers: docs("load_balancers"),
			notifications: docs("notifications"),
		},
		version: version ? Number(version) : 0,
	};
}

/** Replaces the whole configuration; the caller runs it inside a transaction. */
export function saveConfig(sql: SqlStorage, config: Config, version: number): void {
	sql.exec("DELETE FROM monitors");
	sql.exec("DELETE FROM pools");
	sql.exec("DELETE FROM load_balancers");
	sql.exec("DELETE FROM notifications");
	for (const row of toConfigRows(config)) sql.exec(INSERT[row.table], ...row.values);
	setMeta(sql, "config_version", String(version));
}

export function loadHealth(sql: SqlStorage): Map<string, StoredHealth> {
	const rows = sql
		.exec<{ origin_key: string; healthy: number; changed_at: number; reason: string }>(
			"SELECT origin_key, healthy, changed_at, reason FROM health",
		)
		.toArray();
	return new Map(
		rows.map((row) => [row.origin_key, { healthy: row.healthy === 1, changedAt: row.changed_at, reason: row.reason }]),
	);
}

/** Health loaded at start-up into the authority's map: up or down since when, streaks afresh. */
export function restoreHealth(
	health: Map<
		string,
		{ state: { healthy: boolean; upStreak: number; downStreak: number; changedAt: number }; lastReason?: string }
	>,
	stored: ReadonlyMap<string, StoredHealth>,
): void {
	for (const [key, { healthy, changedAt, reason }] of stored) {
		health.set(key, { state: { healthy, upStreak: 0, downStreak: 0, changedAt }, lastReason: reason });
	}
}

export function saveHealth(sql: SqlStorage, key: string, health: StoredHealth): void {
	sql.exec(
		"INSERT OR REPLACE INTO health (origin_key, healthy, changed_at, reason) VALUES (?, ?, ?, ?)",
		key,
		health.healthy ? 1 : 0,
		health.changedAt,
		health.reason,
	);
}

/**
 * Forgets the health and drain state of origins that are no longer configured, and the health of
 * `renewed` ones (their address, port or monitor changed: the stored health was the old one's; a
 * drain, the operator's word about the named origin, stays).
 */
export function pruneOriginState(sql: SqlStorage, keep: ReadonlySet<string>, renewed: readonly string[] = []): void {
	for (const table of ["health", "drains"]) {
		for (const row of sql.exec<{ origin_key: string }>(`SELECT origin_key FROM ${table}`).toArray()) {
			if (!keep.has(row.origin_key)) sql.exec(`DELETE FROM ${table} WHERE origin_key = ?`, row.origin_key);
		}
	}
	for (const key of renewed) sql.exec("DELETE FROM health WHERE origin_key = ?", key);
}

export function getMeta(sql: SqlStorage, key: string): string | undefined {
	return sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
}

export function setMeta(sql: SqlStorage, key: string, value: string): void {
	sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
}

export interface AuditEntry {
	readonly at: number;
	readonly actor: string;
	readonly action: string;
	readonly version: number;
	/** JSON: what changed. */
	readonly detail: string;
}

export function appendAudit(sql: SqlStorage, entry: AuditEntry): void {
	const { action, detail } = toBoundedAudit(entry.action, entry.detail);
	sql.exec(
		"INSERT INTO audit (at, actor, action, version, detail) VALUES (?, ?, ?, ?, ?)",
		entry.at,
		entry.actor,
		action,
		entry.version,
		detail,
	);
	sql.exec("DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?", EVENTS_KEPT);
}

/**
 * An audit entry's changes cut to MAX_AUDIT_DETAIL_BYTES (a write of many origins lists tens of
 * thousands, more than one stored row holds), the action saying how many are not listed.
 */
function toBoundedAudit(action: string, detail: string): { action: string; detail: string } {
	if (utf8Bytes(detail) <= MAX_AUDIT_DETAIL_BYTES) return { action, detail };
	const changes = JSON.parse(detail) as unknown[];
	const listed: unknown[] = [];
	let bytes = 2;
	for (const change of changes) {
		bytes += utf8Bytes(JSON.stringify(change)) + 1;
		if (bytes > MAX_AUDIT_DETAIL_BYTES) break;
		listed.push(change);
	}
	return {
		action: `${action} (${changes.length} changes; the first ${listed.length} are listed)`,
		detail: JSON.stringify(listed),
	};
}

export interface HealthEvent {
	readonly at: number;
	readonly originKey: string;
	readonly healthy: boolean;
	readonly reason: string;
	/** An ejection the authority accepted (alerts send these as `ejection`). */
	readonly ejection?: boolean;
}

export function appendHealthEvent(sql: SqlStorage, event: HealthEvent): void {
	sql.exec(
		"INSERT INTO health_events (at, origin_key, healthy, reason) VALUES (?, ?, ?, ?)",
		event.at,
		event.originKey,
		event.healthy ? 1 : 0,
		event.reason,
	);
	sql.exec("DELETE FROM health_events WHERE id <= (SELECT MAX(id) FROM health_events) - ?", EVENTS_KEPT);
}

/** The newest entries first. */
export function listAudit(sql: SqlStorage, limit: number): AuditEntry[] {
	return sql
		.exec<{ at: number; actor: string; action: string; version: number; detail: string }>(
			"SELECT at, actor, action, version, detail FROM audit ORDER BY id DESC LIMIT ?",
			limit,
		)
		.toArray();
}

/** The newest events first. */
export function listHealthEvents(sql: SqlStorage, limit: number): HealthEvent[] {
	return sql
		.exec<{ at: number; origin_key: string; healthy: number; reason: string }>(
			"SELECT at, origin_key, healthy, reason FROM health_events ORDER BY id DESC LIMIT ?",
			limit,
		)
		.toArray()
		.map((row) => ({ at: row.at, originKey: row.origin_key, healthy: row.healthy === 1, reason: row.reason }));
}

export type { Drain };

export function loadDrains(sql: SqlStorage): Map<string, Drain> {
	const rows = sql.exec<{ origin_key: string; since: number; actor: string }>(
		"SELECT origin_key, since, actor FROM drains",
	);
	return new Map(rows.toArray().map((row) => [row.origin_key, { since: row.since, actor: row.actor }]));
}

export function saveDrain(sql: SqlStorage, key: string, drain: Drain | undefined): void {
	if (drain)
		sql.exec(
			"INSERT OR REPLACE INTO drains (origin_key, since, actor) VALUES (?, ?, ?)",
			key,
			drain.since,
			drain.actor,
		);
	else sql.exec("DELETE FROM drains WHERE origin_key = ?", key);
}
