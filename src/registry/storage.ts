/**
 * The registry's SQLite storage: one table per kind of configuration object (JSON documents plus
 * the columns needed to query them), health transitions, and a schema version with migrations
 * that run once, in order, inside blockConcurrencyWhile. Counters never come here: only
 * configuration and health transitions are written.
 */
import type { Config } from "../config/schema";

/** Each entry upgrades the schema by one version; never edit a shipped entry, append a new one. */
const MIGRATIONS: readonly string[] = [
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	 CREATE TABLE monitors (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL);
	 CREATE TABLE pools (id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL);
	 CREATE TABLE load_balancers (name TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL);
	 CREATE TABLE health (origin_key TEXT PRIMARY KEY, healthy INTEGER NOT NULL, changed_at INTEGER NOT NULL, reason TEXT NOT NULL);`,
];

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
	const version = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'config_version'").toArray()[0];
	return {
		config: { monitors: docs("monitors"), pools: docs("pools"), load_balancers: docs("load_balancers") },
		version: version ? Number(version.value) : 0,
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
	sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('config_version', ?)", String(version));
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

/** Forgets the health of origins that are no longer configured. */
export function pruneHealth(sql: SqlStorage, keep: ReadonlySet<string>): void {
	for (const row of sql.exec<{ origin_key: string }>("SELECT origin_key FROM health").toArray()) {
		if (!keep.has(row.origin_key)) sql.exec("DELETE FROM health WHERE origin_key = ?", row.origin_key);
	}
}
