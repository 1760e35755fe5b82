/**
 * In-flight accounting: `route` takes a lease on the origin it chose, the outcome releases it.
 * Counts live in memory only (a restarted registry starts from zero). Releasing is idempotent,
 * and leases expire after `ttlMs` as a safety net, so a Worker that died before releasing cannot
 * leak an in-flight count forever. Pure: time is passed in.
 */

export const DEFAULT_LEASE_TTL_MS = 60 * 60 * 1000;
/** Expired leases are looked for at most this often. */
const EXPIRY_SWEEP_MS = 60 * 1000;

interface Lease {
	readonly key: string;
	readonly expiresAt: number;
}

export class LeaseTable {
	private readonly leases = new Map<string, Lease>();
	private readonly counts = new Map<string, number>();
	private sequence = 0;
	private lastSweepAt = 0;

	constructor(
		/** Makes lease ids unique across restarts of the registry. */
		private readonly prefix: string,
		private readonly ttlMs = DEFAULT_LEASE_TTL_MS,
	) {}

	take(originKey: string, now: number): string {
		this.expire(now);
		const id = `${this.prefix}-${(++this.sequence).toString(36)}`;
		this.leases.set(id, { key: originKey, expiresAt: now + this.ttlMs });
		this.counts.set(originKey, (this.counts.get(originKey) ?? 0) + 1);
		return id;
	}

	/** Ends a lease; false when it was unknown (already released, expired, or from another instance). */
	release(id: string): boolean {
		const lease = this.leases.get(id);
		if (!lease) return false;
		this.leases.delete(id);
		this.decrement(lease.key);
		return true;
	}

	inFlight(originKey: string): number {
		return this.counts.get(originKey) ?? 0;
	}

	private expire(now: number): void {
		if (now - this.lastSweepAt < EXPIRY_SWEEP_MS) return;
		this.lastSweepAt = now;
		for (const [id, lease] of this.leases) {
			if (lease.expiresAt > now) continue;
			this.leases.delete(id);
			this.decrement(lease.key);
		}
	}

	private decrement(key: string): void {
		const count = (this.counts.get(key) ?? 1) - 1;
		if (count > 0) this.counts.set(key, count);
		else this.counts.delete(key);
	}
}
