/**
 * Passive health checks (outlier detection): real traffic's failures eject an origin before the
 * next active check would notice. After `consecutive_failures` failures in a row (connection
 * error, timeout, 5xx) an origin is ejected for base_ejection_s × its number of ejections (capped
 * at ten times the base), then readmitted on probation; a success resets the count. Never more
 * than max_ejection_percent of a pool is ejected, so a misbehaving client cannot empty it. Pure:
 * time is passed in. Reference: Envoy's outlier detection,
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier
 */

export interface OutlierSettings {
	readonly consecutive_failures: number;
	readonly base_ejection_s: number;
	readonly max_ejection_percent: number;
}

interface OriginRecord {
	failures: number;
	ejections: number;
	ejectedUntil: number;
	/** Set while an ejection's end has not been reported yet. */
	readmissionPending: boolean;
}

export interface Ejection {
	readonly key: string;
	readonly until: number;
	readonly reason: string;
}

/** Longest ejection, as a multiple of base_ejection_s. */
const MAX_EJECTION_MULTIPLE = 10;

export class OutlierTracker {
	private readonly origins = new Map<string, OriginRecord>();

	private recordOf(key: string): OriginRecord {
		let record = this.origins.get(key);
		if (!record) {
			record = { failures: 0, ejections: 0, ejectedUntil: 0, readmissionPending: false };
			this.origins.set(key, record);
		}
		return record;
	}

	isEjected(key: string, now: number): boolean {
		return (this.origins.get(key)?.ejectedUntil ?? 0) > now;
	}

	ejectedUntil(key: string, now: number): number | undefined {
		const until = this.origins.get(key)?.ejectedUntil ?? 0;
		return until > now ? until : undefined;
	}

	consecutiveFailures(key: string): number {
		return this.origins.get(key)?.failures ?? 0;
	}

	/** A request this origin answered well: the failure count starts again. */
	succeeded(key: string): void {
		const record = this.origins.get(key);
		if (record) record.failures = 0;
	}

	/**
	 * A failed request. Returns the ejection it caused, if any: when the count reaches the threshold,
	 * ejecting this origin keeps the pool within max_ejection_percent (`poolKeys`: its origins), and
	 * another origin of the pool can still take traffic (`othersAvailable`).
	 */
	failed(
		key: string,
		poolKeys: readonly string[],
		settings: OutlierSettings,
		now: number,
		why: string,
		othersAvailable = true,
	): Ejection | undefined {
		const record = this.recordOf(key);
		if (record.ejectedUntil > now) return undefined;
		record.failures++;
		if (record.failures < settings.consecutive_failures) return undefined;
		if (!this.mayEject(key, poolKeys, settings, now, othersAvailable)) return undefined;
		record.ejections++;
		record.failures = 0;
		const multiple = Math.min(record.ejections, MAX_EJECTION_MULTIPLE);
		record.ejectedUntil = now + settings.base_ejection_s * 1000 * multiple;
		record.readmissionPending = true;
		return {
			key,
			until: record.ejectedUntil,
			reason: `ejected for ${settings.base_ejection_s * multiple} s after ${settings.consecutive_failures} failed requests in a row (last: ${why})`,
		};
	}

	/**
	 * Whether ejecting `key` now keeps its pool within max_ejection_percent (`poolKeys`: its origins)
	 * and leaves another origin to take traffic (`othersAvailable`). The authority asks this again of
	 * ejections shards report, since two shards may each have ejected within their own limits.
	 */
	mayEject(
		key: string,
		poolKeys: readonly string[],
		settings: OutlierSettings,
		now: number,
		othersAvailable: boolean,
	): boolean {
		if (!othersAvailable) return false;
		const ejected = poolKeys.filter((other) => other !== key && this.isEjected(other, now)).length;
		return ejected + 1 <= Math.floor((poolKeys.length * settings.max_ejection_percent) / 100);
	}

	/**
	 * An ejection decided elsewhere (by another shard, as the authority relays it): honoured until
	 * `until`, reported as a readmission when it ends. Idempotent; does not count towards this
	 * tracker's ejection multiple, which each shard keeps for the ejections it decided. True when
	 * it changed anything (a new ejection, or a later end).
	 */
	recordEjection(key: string, until: number, now: number): boolean {
		if (until <= now || (this.origins.get(key)?.ejectedUntil ?? 0) >= until) return false;
		const record = this.recordOf(key);
		record.ejectedUntil = until;
		record.failures = 0;
		record.readmissionPending = true;
		return true;
	}

	/** Ends an ejection at once, without a readmission to report (the authority refused it). */
	lift(key: string): void {
		const record = this.origins.get(key);
		if (!record) return;
		record.ejectedUntil = 0;
		record.readmissionPending = false;
	}

	/** Ejections in force now, until when. */
	ejections(now: number): { key: string; until: number }[] {
		const list: { key: string; until: number }[] = [];
		for (const [key, record] of this.origins)
			if (record.ejectedUntil > now) list.push({ key, until: record.ejectedUntil });
		return list;
	}

	/** Origins whose ejection has ended since the last call: readmitted, on probation. */
	readmitted(now: number): string[] {
		const keys: string[] = [];
		for (const [key, record] of this.origins) {
			if (record.readmissionPending && record.ejectedUntil <= now) {
				record.readmissionPending = false;
				keys.push(key);
			}
		}
		return keys;
	}

	/** When the next ejection ends, if one is running. */
	nextReadmission(now: number): number | undefined {
		let next: number | undefined;
		for (const record of this.origins.values()) {
			if (record.readmissionPending && record.ejectedUntil > now)
				next = Math.min(next ?? record.ejectedUntil, record.ejectedUntil);
		}
		return next;
	}

	/** Forgets origins that are no longer configured. */
	retain(keys: ReadonlySet<string>): void {
		for (const key of this.origins.keys()) if (!keys.has(key)) this.origins.delete(key);
	}
}
