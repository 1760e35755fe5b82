import type { SteeringPolicyName } from "../config/schema";
import { failover } from "./failover";
import type { SteeringPolicy } from "./policy";

const POLICIES: Partial<Record<SteeringPolicyName, SteeringPolicy>> = { off: failover };

export const SUPPORTED_STEERING_POLICIES = Object.keys(POLICIES) as SteeringPolicyName[];

/** A policy this version cannot run falls back to ordered failover; validation reports it in `messages`. */
export function getSteeringPolicy(name: SteeringPolicyName): SteeringPolicy {
	return POLICIES[name] ?? failover;
}
