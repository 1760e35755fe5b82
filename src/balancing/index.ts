import type { OriginPolicyName } from "../config/schema";
import type { OriginPolicy } from "./policy";
import { weightedRandom } from "./random";
import { roundRobin } from "./round-robin";

const FACTORIES: Partial<Record<OriginPolicyName, () => OriginPolicy>> = {
	random: weightedRandom,
	round_robin: roundRobin,
};

export const SUPPORTED_ORIGIN_POLICIES = Object.keys(FACTORIES) as OriginPolicyName[];

/** A fresh policy instance (with its own counters) for one pool. Validation rejects unsupported names first. */
export function createOriginPolicy(name: OriginPolicyName): OriginPolicy {
	const factory = FACTORIES[name];
	if (!factory) throw new Error(`origin steering policy "${name}" is not supported by this version`);
	return factory();
}
