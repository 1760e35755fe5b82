import type { SteeringPolicyName } from "../config/schema";
import { failover } from "./failover";
import type { SteeringPolicy } from "./policy";

const POLICIES: Partial<Record<SteeringPolicyName, SteeringPolicy>> = { off: failover };

export const SUPPORTED_STEERING_POLICIES = Object.keys(POLICIES) as SteeringPolicyName[];

/** Validation rejects unsupported names before a config is stored. */
export function getSteeringPolicy(name: SteeringPolicyName): SteeringPolicy {
	const policy = POLICIES[name];
	if (!policy) throw new Error(`steering policy "${name}" is not supported by this version`);
	return policy;
}
