import { describe, expect, it } from "vitest";
import { liveSecrets } from "../../../src/contract/replica";
import { longestAffinityTtlS, MAX_EARLIER_KEYS, rotateSecrets } from "../../../src/registry/affinity-keys";
import { aValidConfig } from "../../fixtures/config";

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

describe("affinity key rotation", () => {
	it("puts the fresh key first and keeps the one it replaces until now + the TTL", () => {
		const rotated = rotateSecrets([{ secret: "k1" }], "k2", NOW, HOUR);
		expect(rotated).toEqual([{ secret: "k2" }, { secret: "k1", until: NOW + HOUR }]);
		// A second rotation keeps both earlier keys, each with its own end.
		const again = rotateSecrets(rotated, "k3", NOW + 10, HOUR);
		expect(again).toEqual([
			{ secret: "k3" },
			{ secret: "k2", until: NOW + 10 + HOUR },
			{ secret: "k1", until: NOW + HOUR },
		]);
	});

	it("drops earlier keys whose time is up, and every earlier key when asked to", () => {
		const keys = [{ secret: "k2" }, { secret: "k1", until: NOW }];
		expect(liveSecrets(keys, NOW)).toEqual([{ secret: "k2" }]);
		expect(liveSecrets(keys, NOW - 1)).toEqual(keys);
		expect(rotateSecrets(keys, "k3", NOW - 1, HOUR, true)).toEqual([{ secret: "k3" }]);
	});

	it("keeps at most MAX_EARLIER_KEYS earlier keys, the newest", () => {
		let keys = [{ secret: "k0" }];
		for (let i = 1; i <= MAX_EARLIER_KEYS + 3; i++) keys = rotateSecrets(keys, `k${i}`, NOW + i, HOUR);
		expect(keys).toHaveLength(MAX_EARLIER_KEYS + 1);
		expect(keys[0]).toEqual({ secret: `k${MAX_EARLIER_KEYS + 3}` });
		expect(keys.at(-1)?.secret).toBe("k3");
	});

	it("keeps a rotated key for the longest session_affinity_ttl of the load balancers with affinity", () => {
		const config = aValidConfig({
			pools: [{ id: "p", name: "p", origins: [{ name: "a", address: "http://127.0.0.1:1" }] }],
			load_balancers: [
				{ name: "a.test", default_pools: ["p"], session_affinity: "cookie", session_affinity_ttl: 600 },
				{ name: "b.test", default_pools: ["p"], session_affinity: "ip_cookie", session_affinity_ttl: 7200 },
				{ name: "c.test", default_pools: ["p"], session_affinity: "none", session_affinity_ttl: 604_800 },
			],
		});
		expect(longestAffinityTtlS(config)).toBe(7200);
		// Without cookie affinity, Cloudflare's default TTL (23 h).
		expect(longestAffinityTtlS(aValidConfig({ monitors: [], pools: [], load_balancers: [] }))).toBe(82_800);
	});
});
