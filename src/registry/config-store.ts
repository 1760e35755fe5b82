/**
 * The authority's configuration writes: validate, diff, store with an audit entry, install, all or
 * nothing; CRUD changes applied to the whole document; the bundled seed; drains. One path for
 * every write (`write`), so a document is validated and installed the same way whoever sends it.
 * SQLite through storage.ts; what the rest of the authority must do after a change (move its
 * state, push, re-arm the alarm) comes in as hooks.
 */
import { diffConfig } from "../config/diff";
import {
	needsRegistryFields,
	repairStored,
	toStamped,
	withLoadBalancerIds,
	withRegistryFields,
} from "../config/identity";
import { applyOperation, type ConfigDocument, type ConfigOperation, toDocument } from "../config/operations";
import type { Config } from "../config/schema";
import { validateConfig } from "../config/validate";
import type { ConfigChange, DrainResult, WriteOptions, WriteResult } from "../contract/status";
import { EMPTY_CONFIG, type RoutingState } from "../routing/routing-state";
import { toOriginKey, toRenewedOrigins, toSnapshot } from "../routing/snapshot";
import type { Seed } from "../seed/seed";
import { toIso } from "./status";
import {
	appendAudit,
	type Drain,
	findOversizedRow,
	getMeta,
	loadConfig,
	loadDrains,
	pruneOriginState,
	saveConfig,
	saveDrain,
	setMeta,
} from "./storage";

export interface ConfigStoreHooks {
	/** Runs `body` in one storage transaction. */
	transaction(body: () => void): void;
	/** Configuration or drains changed: the authority's state moves. */
	changed(): void;
	/**
	 * A configuration replaced one with the load balancers `before`; `written`: by a write (not
	 * loaded from storage at start-up).
	 */
	installed(before: readonly string[], after: readonly string[], written: boolean): void;
	/** Whether the Worker has a secret by this name (notifications' secret_name); unchecked without it. */
	hasSecret?(name: string): boolean;
}

export class ConfigStore {
	/** Why the stored configuration could not be loaded (written by an older version, say); empty when fine. */
	loadErrors: string[] = [];

	constructor(
		private readonly routing: RoutingState,
		private readonly sql: SqlStorage,
		private readonly hooks: ConfigStoreHooks,
	) {}

	/**
	 * Loads the stored configuration and drains at start-up. Stored documents go through today's
	 * validation: defaults added since are filled in, and a document this version refuses leaves
	 * the registry empty but working, not wedged.
	 */
	load(): void {
		const { config, version } = loadConfig(this.sql);
		// Values an older version kept as unknown fields and today's schema refuses (an id "web", say): dropped first.
		const { document, repaired } = repairStored(config);
		if (repaired.length > 0) {
			console.warn(`switchyard: the stored configuration (version ${version}) was repaired: ${repaired.join("; ")}`);
		}
		const checked = validateConfig(document);
		if (checked.ok) {
			let loaded = checked.config;
			// Stored by a version before ids and timestamps: given them once, at the same version.
			if (needsRegistryFields(loaded) || repaired.length > 0) {
				loaded = toStamped(withLoadBalancerIds(loaded, newId), loaded, new Date().toISOString());
				const filled = loaded;
				this.hooks.transaction(() => saveConfig(this.sql, filled, version));
			}
			this.install(loaded, version);
		} else {
			this.loadErrors = checked.errors.map((error) => `${error.path}: ${error.message}`);
			console.error(
				`switchyard: the stored configuration (version ${version}) is invalid: ${this.loadErrors.join("; ")}`,
			);
			this.install(EMPTY_CONFIG, version);
		}
		this.routing.drains = loadDrains(this.sql);
	}

	get version(): number {
		return this.routing.snapshot.version;
	}

	getConfig(): { version: number; json: string } {
		return { version: this.version, json: JSON.stringify(this.routing.snapshot.config) };
	}

	/** Validates and stores a whole document (or only reports, on a dry run), with its audit entry. */
	write(input: unknown, options: WriteOptions, action: string): WriteResult {
		// A stale precondition wins over the body's errors: the caller's picture is out of date.
		const current = this.version;
		if (options.ifMatch !== undefined && options.ifMatch !== current) {
			return { ok: false, status: 412, version: current };
		}
		const stored = this.routing.snapshot.config;
		// Load balancer ids and timestamps are the registry's: kept by name and stamped here, whatever was sent.
		const result = validateConfig(withRegistryFields(input, stored, newId));
		if (!result.ok) return { ok: false, status: 400, errors: result.errors };
		const unknownSecrets = toUnknownSecrets(result.config, stored, this.hooks.hasSecret);
		if (unknownSecrets.length > 0) return { ok: false, status: 400, errors: unknownSecrets };
		const now = Date.now();
		const config = toStamped(result.config, stored, new Date(now).toISOString());
		const oversized = findOversizedRow(config);
		if (oversized) return { ok: false, status: 413, message: oversized.message, field: oversized.path };
		const changes = diffConfig(toDocument(stored), toDocument(config));
		const changed = changes.length > 0;
		const base = {
			ok: true as const,
			changed,
			messages: result.messages,
			changes,
			resultJson: JSON.stringify(config),
		};
		if (options.dryRun || !changed) return { ...base, version: current };
		const version = current + 1;
		// Discovered origins (registered, DNS SRV) stay, with their health, in the pools that still take them.
		const next = toSnapshot(config, version, this.routing.discovered);
		const keys = new Set(next.origins.keys());
		// Origins whose address, port or monitor changed start again as pending: their stored health was the old one's.
		const renewed = toRenewedOrigins(this.routing.snapshot, next);
		const sql = this.sql;
		this.hooks.transaction(() => {
			saveConfig(sql, config, version);
			pruneOriginState(sql, keys, renewed);
			appendAudit(sql, { at: now, actor: options.actor, action, version, detail: JSON.stringify(changes) });
		});
		this.install(config, version, now);
		this.loadErrors = [];
		for (const key of this.routing.health.keys()) if (!keys.has(key)) this.routing.health.delete(key);
		for (const key of this.routing.drains.keys()) if (!keys.has(key)) this.routing.drains.delete(key);
		return { ...base, version };
	}

	/** One CRUD change, applied to the current document and validated as a whole, atomically. */
	applyChange(op: ConfigOperation, options: WriteOptions): WriteResult {
		const outcome = applyOperation(toDocument(this.routing.snapshot.config), op, newId);
		if (!outcome.ok) {
			if (outcome.status === 400) {
				return { ok: false, status: 400, errors: [{ path: outcome.field ?? "(body)", message: outcome.message }] };
			}
			return { ok: false, status: outcome.status, message: outcome.message };
		}
		const result = this.write(outcome.document, options, outcome.summary);
		if (!result.ok) return result;
		// The document written, or on a dry run the one that would be.
		const written = options.dryRun
			? (JSON.parse(result.resultJson) as ConfigDocument)
			: toDocument(this.routing.snapshot.config);
		return {
			...result,
			resultJson: JSON.stringify(findItem(written, op, outcome.key) ?? null),
		};
	}

	/** The object a CRUD read names, as JSON, or undefined. */
	readItem(target: ConfigOperation["target"], key: string, pool?: string): string | undefined {
		const item = findInDocument(toDocument(this.routing.snapshot.config), target, key, pool);
		return item === undefined ? undefined : JSON.stringify(item);
	}

	/**
	 * Applies a bundled seed when its hash differs from the last one applied (valid or not, so a
	 * bad file is reported once per deployment, not on every start).
	 */
	applySeed(seed: Seed, now: number): WriteResult | undefined {
		const sql = this.sql;
		if (getMeta(sql, "seed_hash") === seed.hash) return undefined;
		let input: unknown;
		try {
			input = JSON.parse(seed.json);
		} catch {
			input = undefined;
		}
		const result = this.write(input, { actor: "seed" }, `applied ${seed.source}`);
		this.hooks.transaction(() => {
			setMeta(sql, "seed_hash", seed.hash);
			if (!result.ok) {
				const why =
					"errors" in result
						? result.errors.map((e) => `${e.path}: ${e.message}`).join("; ")
						: "message" in result
							? result.message
							: "refused";
				console.error(`switchyard: ${seed.source} was not applied: ${why}`);
				appendAudit(sql, {
					at: now,
					actor: "seed",
					action: `rejected ${seed.source}: ${why}`,
					version: this.version,
					detail: "[]",
				});
			}
		});
		return result;
	}

	/**
	 * Drain: the origin takes no new requests; requests in flight finish. (With session affinity,
	 * pinned sessions keep reaching it until drain_duration ends.) Persisted until enabled again.
	 * A write like any other: the configuration version (the ETag) moves, so a writer holding the
	 * version before it gets 412; draining a drained origin changes nothing and moves nothing.
	 */
	drain(poolId: string, originName: string, actor: string): DrainResult {
		const key = toOriginKey(poolId, originName);
		if (!this.routing.snapshot.origins.has(key)) return noOrigin(poolId, originName);
		let drain = this.routing.drains.get(key);
		if (!drain) {
			drain = { since: Date.now(), actor };
			this.writeDrain(key, drain, actor, `drained origin "${originName}" in pool "${poolId}"`, true);
		}
		const since = toIso(drain.since);
		return { ok: true, pool: poolId, origin: originName, draining: true, since, version: this.version };
	}

	/**
	 * Ends a drain, and enables the origin in the configuration if it was disabled there: one
	 * write, one new version (none when the origin was neither drained nor disabled). Enabling
	 * goes first, so a refused one leaves the drain too.
	 */
	enable(poolId: string, originName: string, actor: string): DrainResult | WriteResult {
		const key = toOriginKey(poolId, originName);
		if (!this.routing.snapshot.origins.has(key)) return noOrigin(poolId, originName);
		const origin = this.routing.snapshot.origins.get(key);
		const enabling = origin !== undefined && !origin.enabled;
		if (enabling) {
			const result = this.applyChange(
				{ target: "origins", action: "patch", pool: poolId, key: originName, body: { enabled: true } },
				{ actor },
			);
			if (!result.ok) return result;
		}
		if (this.routing.drains.has(key)) {
			const action = `ended the drain of origin "${originName}" in pool "${poolId}"`;
			this.writeDrain(key, undefined, actor, action, !enabling);
		}
		return { ok: true, pool: poolId, origin: originName, draining: false, since: null, version: this.version };
	}

	/** Stores a drain (or its end) with its audit entry; `bump`: at a new configuration version. */
	private writeDrain(key: string, drain: Drain | undefined, actor: string, action: string, bump: boolean): void {
		const version = bump ? this.version + 1 : this.version;
		this.hooks.transaction(() => {
			saveDrain(this.sql, key, drain);
			if (bump) setMeta(this.sql, "config_version", String(version));
			appendAudit(this.sql, { at: Date.now(), actor, action, version, detail: "[]" });
		});
		if (drain) this.routing.drains.set(key, drain);
		else this.routing.drains.delete(key);
		// The same configuration at the new version: the snapshot carries the version (and the ETag).
		if (bump) this.install(this.routing.snapshot.config, version);
		else this.hooks.changed();
	}

	/** Installs a validated configuration; origins it adds (`now` given) begin with a slow start. */
	private install(config: Config, version: number, now?: number): void {
		const before = [...this.routing.snapshot.loadBalancers.keys()];
		this.routing.install(config, version, now);
		this.hooks.installed(
			before,
			config.load_balancers.map((lb) => lb.name),
			now !== undefined,
		);
		this.hooks.changed();
	}

	/** An entry in the audit log, at the configuration's current version. */
	audit(actor: string, action: string, changes: ConfigChange[]): void {
		appendAudit(this.sql, { at: Date.now(), actor, action, version: this.version, detail: JSON.stringify(changes) });
	}
}

/** A new object id as Cloudflare makes them: 32 lower-case hexadecimal characters. */
function newId(): string {
	return crypto.randomUUID().replaceAll("-", "");
}

function noOrigin(poolId: string, originName: string): DrainResult {
	return { ok: false, status: 404, message: `pool "${poolId}" has no origin "${originName}"` };
}

/** The object an operation names, in a document. */
function findItem(document: ConfigDocument, op: ConfigOperation, key: string): Record<string, unknown> | undefined {
	if (op.target !== "origins" && op.action === "delete") return undefined;
	return findInDocument(document, op.target, key, op.target === "origins" ? op.pool : undefined);
}

/** One item of a document: an origin of `pool` by name, a load balancer by name or id, anything else by id. */
function findInDocument(
	document: ConfigDocument,
	target: ConfigOperation["target"],
	key: string,
	pool?: string,
): Record<string, unknown> | undefined {
	if (target === "origins") {
		const entry = document.pools.find((candidate) => candidate.id === pool);
		return (entry?.origins as Record<string, unknown>[] | undefined)?.find((origin) => origin.name === key);
	}
	if (target === "load_balancers") {
		return (
			document.load_balancers.find((item) => item.name === key) ??
			document.load_balancers.find((item) => item.id === key)
		);
	}
	return document[target].find((item) => item.id === key);
}

/**
 * Notifications whose secret_name names no Worker secret, as field errors: only new ones and
 * changed names (a secret deleted later does not block unrelated writes; its deliveries fail).
 */
function toUnknownSecrets(
	config: Config,
	stored: Config,
	hasSecret: ((name: string) => boolean) | undefined,
): { path: string; message: string }[] {
	if (!hasSecret) return [];
	const known = new Set((stored.notifications ?? []).map((n) => `${n.id}\n${n.secret_name}`));
	return config.notifications.flatMap((notification, i) =>
		known.has(`${notification.id}\n${notification.secret_name}`) || hasSecret(notification.secret_name)
			? []
			: [
					{
						path: `notifications[${i}].secret_name`,
						message: `no Worker secret named "${notification.secret_name}": set it first (\`wrangler secret put ${notification.secret_name}\`, or .dev.vars locally)`,
					},
				],
	);
}
