import type { OriginPolicyName } from "../config/schema";
import type { OriginPolicy } from "./policy";
import { weightedRandom } from "./random";
import { roundRobin } from "./round-robin";

const FACTORIES: Partial<Record<OriginPolicyName, () => OriginPolicy>> = {
	random: weightedRandom,
	round_robin: roundRobin,
};

export const SUPPORTED_ORIGIN_POLICIES = Object.keys(FACTORIES) as OriginPolicyName[];

/**
 * A fresh policy instance (with its own counters) for one pool. A policy this version cannot run
 * falls back to weighted random, Cloudflare's default; validation reports it in `messages`.
 */
export function createOriginPolicy(name: OriginPolicyName): OriginPolicy {
	return (FACTORIES[name] ?? weightedRandom)();
}
