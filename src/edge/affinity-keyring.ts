/**
 * The isolate's session affinity keys. AFFINITY_SECRET (and AFFINITY_SECRET_PREVIOUS), when the
 * operator sets them, are the keys; otherwise the keys the authority generated, which come with
 * the replica (a cold isolate loads its replica before it reads a cookie: the replica is needed for
 * the request's plan anyway, so no call is added). Imported once per set of keys.
 */
import { type AffinitySecret, liveSecrets } from "../contract/replica";
import { type AffinityKey, toAffinityKeys } from "../proxy/affinity";
import type { ReplicaCache } from "./replica-cache";

export class AffinityKeyring {
	/** The replica's keys last imported, and what they became. */
	private imported: readonly AffinitySecret[] | undefined;
	private keys: readonly AffinityKey[] = [];
	/** The earliest `until` among the imported keys: when the set must be imported again. */
	private refreshAt = Number.POSITIVE_INFINITY;

	constructor(
		private readonly replicas: ReplicaCache,
		/** Loads the replica when the isolate has none yet (a cold isolate); throws when the hub does not answer. */
		private readonly ensureReplica: (colo: string | undefined) => Promise<void>,
		/** The keys from the operator's secrets: when given, the replica's are not used. */
		private readonly fixed?: readonly AffinityKey[],
		private readonly clock: () => number = Date.now,
	) {}

	/** The keys that seal (the first) and open cookies now. */
	async current(colo: string | undefined): Promise<readonly AffinityKey[]> {
		if (this.fixed) return this.fixed;
		if (!this.replicas.hasReplica) await this.ensureReplica(colo);
		const secrets = this.replicas.replica?.affinityKeys;
		const now = this.clock();
		if (secrets !== this.imported || now >= this.refreshAt) {
			const live = liveSecrets(secrets ?? [], now);
			this.keys = await toAffinityKeys(live.map((key) => key.secret));
			this.imported = secrets;
			this.refreshAt = Math.min(...live.map((key) => key.until ?? Number.POSITIVE_INFINITY));
		}
		return this.keys;
	}
}
