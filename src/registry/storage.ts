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
];

/** The audit log and the health events keep this many entries each; older ones are deleted. */
export const EVENTS_KEPT = 1000;

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
		config: { monitors: docs("monitors"), pools: docs("pools"), load_balancers: docs("load_balancers") },
		version: version ? Number(version) : 0,
	};
}

/** Replaces the whole configuration; the caller runs it inside a transaction. */
export function saveConfig(sql: SqlStorage, config: Config, version: number): void {
	sql.exec("DELETE FROM monitors");
	sql.exec("DELETE FROM pools");
	sql.exec("DELETE FROM load_balancers");
	config.monitors.forEach((monitor, i) => {
		sql.exec("INSERT INTO monitors (id, position, doc) VALUES (?, ?, ?)", monitor.id, i, JSON.stringify(monitor));
	});
	config.pools.forEach((pool, i) => {
		sql.exec(
			"INSERT INTO pools (id, position, name, doc) VALUES (?, ?, ?, ?)",
			pool.id,
			i,
			pool.name,
			JSON.stringify(pool),
		);
	});
	config.load_balancers.forEach((lb, i) => {
		sql.exec("INSERT INTO load_balancers (name, position, doc) VALUES (?, ?, ?)", lb.name, i, JSON.stringify(lb));
	});
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

export function saveHealth(sql: SqlStorage, key: string, health: StoredHealth): void {
	sql.exec(
		"INSERT OR REPLACE INTO health (origin_key, healthy, changed_at, reason) VALUES (?, ?, ?, ?)",
		key,
		health.healthy ? 1 : 0,
		health.changedAt,
		health.reason,
	);
}

/** Forgets the health and drain state of origins that are no longer configured. */
export function pruneOriginState(sql: SqlStorage, keep: ReadonlySet<string>): void {
	for (const table of ["health", "drains"]) {
		for (const row of sql.exec<{ origin_key: string }>(`SELECT origin_key FROM ${table}`).toArray()) {
			if (!keep.has(row.origin_key)) sql.exec(`DELETE FROM ${table} WHERE origin_key = ?`, row.origin_key);
		}
	}
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
	sql.exec(
		"INSERT INTO audit (at, actor, action, version, detail) VALUES (?, ?, ?, ?, ?)",
		entry.at,
		entry.actor,
		entry.action,
		entry.version,
		entry.detail,
	);
	sql.exec("DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?", EVENTS_KEPT);
}

export interface HealthEvent {
	readonly at: number;
	readonly originKey: string;
	readonly healthy: boolean;
	readonly reason: string;
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
