import { describe, expect, it } from "vitest";
import type { Replica } from "../../../src/contract/replica";
import { AffinityKeyring } from "../../../src/edge/affinity-keyring";
import { ReplicaCache } from "../../../src/edge/replica-cache";
import { readPin, toAffinityKeys, toCookieValue } from "../../../src/proxy/affinity";
import { aReplica } from "../../fixtures/replica";

const NOW = 1_800_000_000_000;
const PIN = { pool: "primary", origin: "a" };

/** A cookie sealed with the key made from `secret`, as a header. */
async function cookieSealedWith(secret: string): Promise<string> {
	const [key] = await toAffinityKeys([secret]);
	return `__switchyard_affinity=${await toCookieValue("app.test", PIN, 3600, key as never, NOW)}`;
}

/** A replica cache holding `replicas` in turn: each `next()` installs the next one. */
function replicasOf(...replicas: Replica[]) {
	let clock = NOW;
	const cache = new ReplicaCache(() => clock);
	let loads = 0;
	return {
		cache,
		setClock: (ms: number) => {
			clock = ms;
		},
		clock: () => clock,
		get loads() {
			return loads;
		},
		ensure: async () => {
			loads++;
			await cache.load({ replica: async () => replicas[0] ?? null });
		},
		next: async (replica: Replica) => {
			await cache.refreshFor(replica.state, { replica: async () => replica });
		},
	};
}

describe("the isolate's affinity keyring", () => {
	it("takes the authority's keys from the replica, loading it first on a cold isolate", async () => {
		const holder = replicasOf(aReplica(undefined, { affinityKeys: [{ secret: "generated-1" }] }));
		const keyring = new AffinityKeyring(holder.cache, holder.ensure, undefined, holder.clock);
		const keys = await keyring.current("local");
		expect(holder.loads).toBe(1);
		expect(await readPin(await cookieSealedWith("generated-1"), "app.test", keys, NOW)).toEqual(PIN);
		expect(await readPin(await cookieSealedWith("something-else"), "app.test", keys, NOW)).toBeUndefined();
		// Warm: no second load.
		await keyring.current("local");
		expect(holder.loads).toBe(1);
	});

	it("follows a rotation in the replica; an earlier key opens cookies only until its time is up", async () => {
		const holder = replicasOf(aReplica(undefined, { affinityKeys: [{ secret: "k1" }] }));
		const keyring = new AffinityKeyring(holder.cache, holder.ensure, undefined, holder.clock);
		await keyring.current("local");
		await holder.next(
			aReplica(undefined, { state: 2, affinityKeys: [{ secret: "k2" }, { secret: "k1", until: NOW + 60_000 }] }),
		);
		const rotated = await keyring.current("local");
		expect(rotated).toHaveLength(2);
		expect(await readPin(await cookieSealedWith("k1"), "app.test", rotated, NOW)).toEqual(PIN);
		// The current key seals: the first one.
		expect(await readPin(await cookieSealedWith("k2"), "app.test", rotated.slice(0, 1), NOW)).toEqual(PIN);
		holder.setClock(NOW + 60_000);
		const later = await keyring.current("local");
		expect(later).toHaveLength(1);
		expect(await readPin(await cookieSealedWith("k1"), "app.test", later, NOW)).toBeUndefined();
	});

	it("uses the operator's AFFINITY_SECRET keys when given, never the replica's", async () => {
		const holder = replicasOf(aReplica(undefined, { affinityKeys: [{ secret: "generated-1" }] }));
		const fixed = await toAffinityKeys(["operator-secret"]);
		const keyring = new AffinityKeyring(holder.cache, holder.ensure, fixed, holder.clock);
		expect(await keyring.current("local")).toBe(fixed);
		expect(holder.loads).toBe(0);
	});

	it("has no keys from a replica without any (an authority older than generated keys)", async () => {
		const holder = replicasOf(aReplica());
		const keyring = new AffinityKeyring(holder.cache, holder.ensure, undefined, holder.clock);
		expect(await keyring.current("local")).toEqual([]);
	});
});
