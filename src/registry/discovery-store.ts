/**
 * The authority's discovered origins (issue 22): registrations with leases, and pools filled from
 * DNS SRV. Runtime state like drains: kept in SQLite beside the configuration, never in it, and
 * replicated with it (RoutingState.installDiscovered), so counter objects and isolates plan them
 * like configured origins. A lease not renewed ends from the authority's alarm (`runDue`), which
 * also runs the DNS lookups that are due; a failed lookup keeps the last good set. The rules of a
 * registration are in config/discovery.ts, DNS in routing/dns-srv.ts; this adds storage and calls.
 */
import { type Discovery, toRegistrationInput } from "../config/discovery";
import type { DiscoveredOrigin, RegistrationResult, RegistrationView } from "../contract/discovery";
import { withTimeout } from "../deadline";
import { fromDnsMessage, fromDohJson, type SrvRecord, toDohRequest, toSrvOrigins } from "../routing/dns-srv";
import type { RoutingState } from "../routing/routing-state";
import { toOriginKey, toPoolDiscovered } from "../routing/snapshot";
import { toIso } from "./status";
import { appendAudit, type HealthEvent } from "./storage";

/** A DoH lookup is given up on after this long (the last good set stays). */
export const DNS_TIMEOUT_MS = 5_000;

/** DNS lookups one alarm runs at most (each a subrequest of its invocation); the rest wait for the next. */
export const DNS_LOOKUPS_PER_ALARM = 8;

export interface DiscoveryHooks {
	/** The discovered origins changed: the authority's state moves and replicas get a push. */
	changed(): void;
	/** After a change: re-arms the alarm (a lease's end, a new origin's first check may be sooner), waits for the push. */
	settle(): Promise<void>;
}

interface Registration {
	readonly origin: DiscoveredOrigin;
	readonly registeredAt: number;
	readonly ttlS: number;
}

interface Lookup {
	/** What was asked (name, resolver, format): a change asks again at once. */
	readonly asked: string;
	nextAt: number;
	/** Why the last lookup failed; undefined after a good one. */
	failing?: string;
}

const TABLE = `CREATE TABLE IF NOT EXISTS discovered_origins (origin_key TEXT PRIMARY KEY, pool TEXT NOT NULL,
	source TEXT NOT NULL, doc TEXT NOT NULL, registered_at INTEGER NOT NULL, ttl_s INTEGER NOT NULL, expires_at INTEGER NOT NULL)`;

export class DiscoveryStore {
	private readonly registered = new Map<string, Registration>();
	/** The last good DNS set of each pool. */
	private readonly dns = new Map<string, DiscoveredOrigin[]>();
	private readonly lookups = new Map<string, Lookup>();

	private readonly sql: SqlStorage;

	constructor(
		private readonly routing: RoutingState,
		private readonly storage: DurableObjectStorage,
		/** Writes health events (leases that ran out) with the alerts they send. */
		private readonly events: { record(events: HealthEvent[]): void },
		private readonly hooks: DiscoveryHooks,
	) {
		this.sql = storage.sql;
	}

	private transaction(body: () => void): void {
		this.storage.transactionSync(body);
	}

	/** An entry in the audit log (registrations, DNS changes and failures), at the configuration's version. */
	private audit(actor: string, action: string): void {
		appendAudit(this.sql, { at: Date.now(), actor, action, version: this.routing.snapshot.version, detail: "[]" });
	}

	/**
	 * Loads what was discovered before a restart, before the configuration is installed. Its own
	 * table, made here (not a numbered migration): nothing else reads it.
	 */
	load(): void {
		this.sql.exec(TABLE);
		const rows = this.sql
			.exec<{ doc: string; registered_at: number; ttl_s: number; expires_at: number }>(
				"SELECT doc, registered_at, ttl_s, expires_at FROM discovered_origins",
			)
			.toArray();
		for (const row of rows) {
			const origin = JSON.parse(row.doc) as DiscoveredOrigin;
			const key = toOriginKey(origin.pool, origin.name);
			if (origin.source === "dns") {
				this.dns.set(origin.pool, [...(this.dns.get(origin.pool) ?? []), origin]);
			} else {
				this.registered.set(key, { origin, registeredAt: row.registered_at, ttlS: row.ttl_s });
				this.routing.leases.set(key, row.expires_at);
			}
		}
		this.routing.discovered = this.all();
	}

	/** Registers an origin or renews its lease; a changed address, port or weight is a change like any other. */
	async register(poolId: string, name: string, body: unknown, actor: string, now: number): Promise<RegistrationResult> {
		const pool = this.routing.snapshot.pools.get(poolId)?.pool;
		if (!pool) return { ok: false, status: 404, message: `no pool with id "${poolId}"` };
		if (!pool.discovery?.self_registration) {
			return {
				ok: false,
				status: 403,
				message: `pool "${poolId}" does not take registrations: set its discovery.self_registration to true`,
			};
		}
		const checked = toRegistrationInput(name, body, pool.discovery);
		if (!checked.ok)
			return { ok: false, status: 400, field: checked.field, message: `${checked.field}: ${checked.message}` };
		const key = toOriginKey(poolId, name);
		const earlier = this.registered.get(key);
		if (!earlier && this.routing.snapshot.origins.has(key)) {
			return {
				ok: false,
				status: 409,
				message: `pool "${poolId}" has an origin "${name}" already that is not registered`,
			};
		}
		const { address, port, weight, ttlS } = checked.input;
		const origin: DiscoveredOrigin = {
			pool: poolId,
			name,
			address,
			...(port ? { port } : {}),
			weight,
			source: "registration",
		};
		const same = earlier !== undefined && JSON.stringify(earlier.origin) === JSON.stringify(origin);
		const registration = { origin, registeredAt: earlier?.registeredAt ?? now, ttlS };
		const expiresAt = now + ttlS * 1000;
		// A new address or port is a new origin to health (RoutingState.install forgets it in memory).
		const moved = earlier !== undefined && (earlier.origin.address !== address || earlier.origin.port !== port);
		this.transaction(() => {
			this.save(key, registration, expiresAt);
			if (moved) this.sql.exec("DELETE FROM health WHERE origin_key = ?", key);
			if (!same)
				this.audit(
					actor,
					`${earlier ? "changed the registration of" : "registered"} origin "${name}" (${address}${port ? `:${port}` : ""}) in pool "${poolId}"`,
				);
		});
		this.registered.set(key, registration);
		this.routing.leases.set(key, expiresAt);
		if (!same) this.install(now);
		await this.hooks.settle();
		return { ok: true, created: earlier === undefined, registration: this.toView(key, registration) };
	}

	/** Ends a registration now: no new requests go to it once the change replicates; those in flight finish. */
	async deregister(poolId: string, name: string, actor: string): Promise<RegistrationResult> {
		const key = toOriginKey(poolId, name);
		const registration = this.registered.get(key);
		if (!registration)
			return { ok: false, status: 404, message: `pool "${poolId}" has no registered origin "${name}"` };
		const view = this.toView(key, registration);
		this.transaction(() => {
			this.forget([key]);
			this.audit(actor, `deregistered origin "${name}" in pool "${poolId}"`);
		});
		this.install(Date.now());
		await this.hooks.settle();
		return { ok: true, created: false, registration: view };
	}

	/** A pool's registrations, by name; undefined when there is no such pool. */
	list(poolId: string): RegistrationView[] | undefined {
		if (!this.routing.snapshot.pools.has(poolId)) return undefined;
		return [...this.registered]
			.filter(([, registration]) => registration.origin.pool === poolId)
			.map(([key, registration]) => this.toView(key, registration))
			.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	}

	/** When the alarm is next due for discovery: a lease's end or a DNS lookup. */
	nextDueAt(now: number): number | undefined {
		let next = Number.POSITIVE_INFINITY;
		for (const expiresAt of this.routing.leases.values()) next = Math.min(next, expiresAt);
		for (const { poolId, asked } of this.dnsPools()) {
			const lookup = this.lookups.get(poolId);
			next = Math.min(next, lookup?.asked === asked ? lookup.nextAt : now);
		}
		return next === Number.POSITIVE_INFINITY ? undefined : next;
	}

	/**
	 * The alarm's share: ends the leases that ran out (one health event each) and runs the DNS
	 * lookups that are due, at most `budget` of them. Returns the subrequests it spent.
	 */
	async runDue(now: number, fetcher: typeof fetch, budget = DNS_LOOKUPS_PER_ALARM): Promise<number> {
		const expired = [...this.routing.leases].filter(([, expiresAt]) => expiresAt <= now);
		let changed = false;
		if (expired.length > 0) {
			const events = expired.map(([key, expiresAt]): HealthEvent => {
				const ttlS = this.registered.get(key)?.ttlS ?? 0;
				return {
					at: expiresAt,
					originKey: key,
					healthy: false,
					reason: `lease expired: no heartbeat within ${ttlS} s`,
				};
			});
			this.transaction(() => {
				this.forget(expired.map(([key]) => key));
				this.events.record(events);
			});
			changed = true;
		}
		const due = this.dnsPools().filter(({ poolId, asked }) => {
			const lookup = this.lookups.get(poolId);
			return lookup?.asked !== asked || lookup.nextAt <= now;
		});
		const asked = due.slice(0, Math.max(0, budget));
		const answers = await Promise.all(asked.map(({ discovery }) => lookUp(discovery, fetcher)));
		asked.forEach(({ poolId, asked: what, discovery }, i) => {
			const answer = answers[i] as SrvRecord[] | string;
			const lookup: Lookup = { asked: what, nextAt: now + discovery.refresh_s * 1000 };
			const before = this.lookups.get(poolId);
			this.lookups.set(poolId, lookup);
			if (typeof answer === "string") {
				lookup.failing = answer;
				if (before?.failing !== answer) {
					const kept = this.dns.get(poolId)?.length ?? 0;
					this.audit(
						"dns",
						`DNS SRV lookup of ${discovery.dns_srv} for pool "${poolId}" failed: ${answer}; keeping the last ${kept} origin(s)`,
					);
				}
				return;
			}
			if (this.takeDns(poolId, toSrvOrigins(poolId, answer), discovery, before?.failing)) changed = true;
		});
		if (changed) this.install(now);
		return asked.length;
	}

	/**
	 * After a configuration was installed: forgets what no pool takes any more (its pool removed,
	 * discovery turned off, or a configured origin took its name).
	 */
	prune(): void {
		const kept = new Set<string>();
		for (const entry of this.routing.snapshot.pools.values()) {
			for (const origin of toPoolDiscovered(entry.pool, this.all())) kept.add(toOriginKey(origin.pool, origin.name));
		}
		const gone = this.all()
			.map((origin) => toOriginKey(origin.pool, origin.name))
			.filter((key) => !kept.has(key));
		if (gone.length > 0) this.transaction(() => this.forget(gone));
		for (const poolId of this.lookups.keys())
			if (!this.routing.snapshot.pools.get(poolId)?.pool.discovery?.dns_srv) this.lookups.delete(poolId);
		this.routing.discovered = this.all();
	}

	/** Pools filled from DNS SRV, with what their lookup asks. */
	private dnsPools(): { poolId: string; asked: string; discovery: Discovery }[] {
		const pools = [];
		for (const [poolId, entry] of this.routing.snapshot.pools) {
			const discovery = entry.pool.discovery;
			if (!discovery?.dns_srv || !entry.pool.enabled) continue;
			pools.push({
				poolId,
				asked: `${discovery.dns_srv} ${discovery.resolver} ${discovery.resolver_format}`,
				discovery,
			});
		}
		return pools;
	}

	/** Takes a good DNS answer; true when the pool's origins changed. An empty one is refused like a failure. */
	private takeDns(poolId: string, origins: DiscoveredOrigin[], discovery: Discovery, wasFailing?: string): boolean {
		const lookup = this.lookups.get(poolId) as Lookup;
		if (origins.length === 0) {
			lookup.failing = "no SRV records";
			if (wasFailing !== lookup.failing)
				this.audit(
					"dns",
					`DNS SRV lookup of ${discovery.dns_srv} for pool "${poolId}" found no records; keeping the last ${this.dns.get(poolId)?.length ?? 0} origin(s)`,
				);
			return false;
		}
		const before = this.dns.get(poolId) ?? [];
		if (JSON.stringify(before) === JSON.stringify(origins)) {
			if (wasFailing) this.audit("dns", `DNS SRV lookup of ${discovery.dns_srv} for pool "${poolId}" answers again`);
			return false;
		}
		const listed = origins.map(
			(origin) => `${origin.name} (weight ${origin.weight}${origin.tier ? `, failover tier ${origin.tier}` : ""})`,
		);
		const now = Date.now();
		this.transaction(() => {
			this.forget(
				before
					.filter((origin) => !origins.some((o) => o.name === origin.name))
					.map((origin) => toOriginKey(poolId, origin.name)),
			);
			for (const origin of origins) {
				const key = toOriginKey(poolId, origin.name);
				this.sql.exec(
					"INSERT OR REPLACE INTO discovered_origins (origin_key, pool, source, doc, registered_at, ttl_s, expires_at) VALUES (?, ?, 'dns', ?, ?, 0, 0)",
					key,
					poolId,
					JSON.stringify(origin),
					now,
				);
			}
			this.audit("dns", `pool "${poolId}" takes its origins from DNS SRV ${discovery.dns_srv}: ${listed.join(", ")}`);
		});
		this.dns.set(poolId, origins);
		return true;
	}

	private save(key: string, registration: Registration, expiresAt: number): void {
		this.sql.exec(
			"INSERT OR REPLACE INTO discovered_origins (origin_key, pool, source, doc, registered_at, ttl_s, expires_at) VALUES (?, ?, 'registration', ?, ?, ?, ?)",
			key,
			registration.origin.pool,
			JSON.stringify(registration.origin),
			registration.registeredAt,
			registration.ttlS,
			expiresAt,
		);
	}

	/** Removes discovered origins with their health and drains (run inside a transaction). */
	private forget(keys: readonly string[]): void {
		for (const key of keys) {
			for (const table of ["discovered_origins", "health", "drains"])
				this.sql.exec(`DELETE FROM ${table} WHERE origin_key = ?`, key);
			const registration = this.registered.get(key);
			if (registration) this.registered.delete(key);
			else {
				const poolId = key.slice(0, key.indexOf("/"));
				const left = (this.dns.get(poolId) ?? []).filter((origin) => toOriginKey(poolId, origin.name) !== key);
				if (left.length > 0) this.dns.set(poolId, left);
				else this.dns.delete(poolId);
			}
			this.routing.leases.delete(key);
			this.routing.health.delete(key);
			this.routing.drains.delete(key);
		}
	}

	private all(): DiscoveredOrigin[] {
		return [
			...[...this.registered.values()].map((registration) => registration.origin),
			...[...this.dns.values()].flat(),
		];
	}

	/** The snapshot again with the discovered origins as they are now; replicas get a push. */
	private install(now: number): void {
		this.routing.installDiscovered(this.all(), now);
		this.hooks.changed();
	}

	private toView(key: string, registration: Registration): RegistrationView {
		const { origin } = registration;
		return {
			pool: origin.pool,
			name: origin.name,
			address: origin.address,
			port: origin.port ?? null,
			weight: origin.weight,
			ttl_s: registration.ttlS,
			registered_at: toIso(registration.registeredAt) as string,
			expires_at: toIso(this.routing.leases.get(key)) as string,
		};
	}
}

/** One DoH lookup: the records, or why there are none to take. */
async function lookUp(discovery: Discovery, fetcher: typeof fetch): Promise<SrvRecord[] | string> {
	const request = toDohRequest(discovery.resolver, discovery.dns_srv as string, discovery.resolver_format);
	try {
		const response = await withTimeout(
			fetcher(request.url, { headers: request.headers }),
			DNS_TIMEOUT_MS,
			`no answer within ${DNS_TIMEOUT_MS} ms`,
		);
		if (!response.ok) {
			await response.body?.cancel();
			return `the resolver answered HTTP ${response.status}`;
		}
		if (discovery.resolver_format === "json") return fromDohJson(await response.json());
		return fromDnsMessage(new Uint8Array(await response.arrayBuffer()));
	} catch (error) {
		return error instanceof Error ? error.message : String(error);
	}
}
