// Issue 11: every planner (counter objects, the Worker's fail-open plan) takes its policies from one
// PolicyCache per snapshot: cursors live exactly as long as the configuration does.
import { describe, expect, it } from "vitest";
import type { OriginPolicyName } from "../../../src/config/schema";
import { PolicyCache } from "../../../src/routing/policy-cache";
import type { Snapshot } from "../../../src/routing/snapshot";
import { aConfig, aLoadBalancer, anOrigin, aPool, aSnapshot } from "../../fixtures/config";

function snapshotWith(policies: Record<string, OriginPolicyName>): Snapshot {
	const ids = Object.keys(policies);
	return aSnapshot(
		aConfig({
			monitors: [],
			pools: ids.map((id) =>
				aPool(id, [anOrigin("a"), anOrigin("b"), anOrigin("c")], { origin_steering: { policy: policies[id] } }),
			),
			load_balancers: [aLoadBalancer("app.example.com", ids)],
		}),
	);
}

const candidates = [
	{ key: "p/a", weight: 1 },
	{ key: "p/b", weight: 1 },
	{ key: "p/c", weight: 1 },
];
const ZERO = () => 0;

describe("PolicyCache", () => {
	it("gives each pool its own instance of its configured policy, and the same one every time", () => {
		const cache = new PolicyCache(snapshotWith({ p: "round_robin", q: "round_robin", r: "least_connections" }));
		expect([cache.policyFor("p").name, cache.policyFor("r").name]).toEqual(["round_robin", "least_connections"]);
		expect(cache.policyFor("p")).toBe(cache.policyFor("p"));
		expect(cache.policyFor("p")).not.toBe(cache.policyFor("q"));
	});

	it("keeps a pool's cursor from one plan to the next, and a new snapshot's cache starts afresh", () => {
		const snapshot = snapshotWith({ p: "round_robin", q: "round_robin" });
		const cache = new PolicyCache(snapshot);
		const pick = (of: PolicyCache, pool = "p") => of.policyFor(pool).pick(candidates, { random: ZERO })?.key;
		expect([pick(cache), pick(cache)]).toEqual(["p/a", "p/b"]);
		expect(pick(cache, "q")).toBe("p/a"); // another pool's cursor is its own
		expect(pick(cache)).toBe("p/c");
		expect(pick(new PolicyCache(snapshot))).toBe("p/a");
	});

	it("gives a pool it does not know weighted random", () => {
		expect(new PolicyCache(snapshotWith({ p: "round_robin" })).policyFor("unknown").name).toBe("random");
	});

	it("keeps the hash policies of affinity apart from the pools' own, one per pool", () => {
		const cache = new PolicyCache(snapshotWith({ p: "round_robin", q: "hash" }));
		expect(cache.hashPolicyFor("p").name).toBe("hash");
		expect(cache.hashPolicyFor("p")).toBe(cache.hashPolicyFor("p"));
		expect(cache.hashPolicyFor("p")).not.toBe(cache.hashPolicyFor("q"));
		// A pool whose own policy is hash still gets a separate instance for affinity.
		expect(cache.hashPolicyFor("q")).not.toBe(cache.policyFor("q"));
		// Asking for the hash policy leaves the pool's rotation where it was.
		const pick = () => cache.policyFor("p").pick(candidates, { random: ZERO })?.key;
		expect(pick()).toBe("p/a");
		cache.hashPolicyFor("p").pick(candidates, { random: ZERO, hashKey: "client" });
		expect(pick()).toBe("p/b");
	});
});
