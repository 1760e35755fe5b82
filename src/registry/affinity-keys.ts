/**
 * The session affinity cookie keys the authority generates when no AFFINITY_SECRET is set: 32
 * random bytes made once and stored in its SQLite `meta` table, replicated to the Worker isolates
 * with the replica, never shown to an admin caller, an event or a log. A rotation makes a new key;
 * the earlier one still opens cookies for the longest `session_affinity_ttl` configured (a cookie
 * it sealed expires by then anyway). Nothing here is derived from an authentication token.
 */
import type { Config } from "../config/schema";
import { type AffinitySecret, liveSecrets } from "../contract/replica";

import { randomSecret } from "../digest";
import { getMeta, setMeta } from "./storage";

const META_KEY = "affinity_keys";
/** Keys kept besides the current one: rotating more often than the TTL drops the oldest first. */
export const MAX_EARLIER_KEYS = 8;
/** Cloudflare's default session_affinity_ttl (23 h), for a configuration without cookie affinity. */
const DEFAULT_TTL_S = 82_800;

/** How long a rotated key must keep opening cookies: the longest session_affinity_ttl configured. */
export function longestAffinityTtlS(config: Config): number {
	const ttls = config.load_balancers
		.filter((lb) => lb.session_affinity !== undefined && lb.session_affinity !== "none")
		.map((lb) => lb.session_affinity_ttl ?? DEFAULT_TTL_S);
	return ttls.length > 0 ? Math.max(...ttls) : DEFAULT_TTL_S;
}

/**
 * A rotation: `fresh` becomes the current key; the one it replaces opens cookies for `keepMs`
 * more (none when `dropEarlier`: every cookie issued so far stops opening at once).
 */
export function rotateSecrets(
	keys: readonly AffinitySecret[],
	fresh: string,
	now: number,
	keepMs: number,
	dropEarlier = false,
): AffinitySecret[] {
	if (dropEarlier) return [{ secret: fresh }];
	const earlier = liveSecrets(keys, now).map((key) =>
		key.until === undefined ? { ...key, until: now + keepMs } : key,
	);
	return [{ secret: fresh }, ...earlier.slice(0, MAX_EARLIER_KEYS)];
}

/** What a rotation answers: when, and until when the earlier keys open cookies (never the keys). */
/** The audit log's words for a rotation. */
export function toRotationAction(result: RotationResult, dropEarlier: boolean): string {
	const until = dropEarlier
		? "cookies issued before no longer open"
		: `earlier keys open cookies until ${result.earlier_keys_valid_until}`;
	return `rotated the session affinity key (${until})`;
}

export interface RotationResult {
	readonly rotated_at: string;
	readonly earlier_keys_valid_until: string | null;
	readonly earlier_keys: number;
}

export class AffinityKeyStore {
	private keys: AffinitySecret[] = [];

	constructor(private readonly sql: SqlStorage) {}

	/** Reads the stored keys; the first load of an authority generates and stores one. */
	load(): void {
		const stored = getMeta(this.sql, META_KEY);
		this.keys = stored ? (JSON.parse(stored) as AffinitySecret[]) : [];
		if (this.keys.length === 0) this.save([{ secret: randomSecret() }]);
	}

	/** The keys to replicate: the current one first. */
	secrets(now: number): AffinitySecret[] {
		return liveSecrets(this.keys, now);
	}

	rotate(now: number, keepMs: number, dropEarlier: boolean): RotationResult {
		this.save(rotateSecrets(this.keys, randomSecret(), now, keepMs, dropEarlier));
		const earlier = this.keys.slice(1);
		const until = Math.max(...earlier.map((key) => key.until ?? 0), 0);
		return {
			rotated_at: new Date(now).toISOString(),
			earlier_keys_valid_until: earlier.length > 0 ? new Date(until).toISOString() : null,
			earlier_keys: earlier.length,
		};
	}

	private save(keys: AffinitySecret[]): void {
		this.keys = keys;
		setMeta(this.sql, META_KEY, JSON.stringify(keys));
	}
}
