import { type OriginPolicyName, SUPPORTED_ORIGIN_POLICIES } from "../config/schema";
import { peakEwma } from "./ewma";
import { consistentHash } from "./hash";
import { leastConnections, leastOutstandingRequests } from "./least-connections";
import { p2c } from "./p2c";
import type { OriginPolicy } from "./policy";
import { weightedRandom } from "./random";
import { roundRobin } from "./round-robin";
import { weightedRoundRobin } from "./weighted-round-robin";

const FACTORIES: Record<OriginPolicyName, () => OriginPolicy> = {
	random: weightedRandom,
	round_robin: roundRobin,
	weighted_round_robin: weightedRoundRobin,
	least_connections: leastConnections,
	least_outstanding_requests: leastOutstandingRequests,
	hash: consistentHash,
	p2c,
	ewma: peakEwma,
};

export { SUPPORTED_ORIGIN_POLICIES };

/**
 * A fresh policy instance (with its own counters) for one pool. A policy this version cannot run
 * falls back to weighted random, Cloudflare's default; validation reports it in `messages`.
 */
export function createOriginPolicy(name: OriginPolicyName): OriginPolicy {
	return (FACTORIES[name] ?? weightedRandom)();
}
