import { type SteeringPolicyName, SUPPORTED_STEERING_POLICIES } from "../config/schema";
import { dynamicLatency } from "./dynamic-latency";
import { failover } from "./failover";
import { geo } from "./geo";
import { leastConnections, leastOutstandingRequests } from "./least-outstanding";
import type { SteeringPolicy } from "./policy";
import { proximity } from "./proximity";
import { randomSteering } from "./random";

const POLICIES: Record<SteeringPolicyName, SteeringPolicy> = {
	off: failover,
	geo,
	random: randomSteering,
	dynamic_latency: dynamicLatency,
	proximity,
	least_outstanding_requests: leastOutstandingRequests,
	least_connections: leastConnections,
};

export { SUPPORTED_STEERING_POLICIES };

/** A policy this version cannot run falls back to ordered failover; validation reports it in `messages`. */
export function getSteeringPolicy(name: SteeringPolicyName): SteeringPolicy {
	return POLICIES[name] ?? failover;
}
