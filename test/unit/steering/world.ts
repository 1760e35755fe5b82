/**
 * A small world for the steering tests: three pools (EU in Amsterdam, US east in Ashburn, US west
 * in San Jose), visitors in Frankfurt, California, New York, Ontario and British Columbia, and a
 * builder for `SteeringInput` with chosen pools down.
 */
import type { PoolFacts, SteeringInput, VisitorLocation } from "../../../src/steering/policy";

export const FRANKFURT: VisitorLocation = {
	colo: "FRA",
	country: "DE",
	continent: "EU",
	latitude: 50.1,
	longitude: 8.7,
};
export const CALIFORNIA: VisitorLocation = {
	colo: "SJC",
	country: "US",
	regionCode: "CA",
	latitude: 37.3,
	longitude: -121.9,
};
export const NEW_YORK: VisitorLocation = {
	colo: "EWR",
	country: "US",
	regionCode: "NY",
	latitude: 40.7,
	longitude: -74.0,
};
export const ONTARIO: VisitorLocation = {
	colo: "YYZ",
	country: "CA",
	regionCode: "ON",
	latitude: 43.7,
	longitude: -79.4,
};
export const BRITISH_COLUMBIA: VisitorLocation = {
	colo: "YVR",
	country: "CA",
	regionCode: "BC",
	latitude: 49.3,
	longitude: -123.1,
};

export const POOL_FACTS: Readonly<Record<string, PoolFacts>> = {
	eu: { latitude: 52.37, longitude: 4.9, inFlight: 0, capacity: 1 },
	"us-east": { latitude: 39.04, longitude: -77.49, inFlight: 0, capacity: 1 },
	"us-west": { latitude: 37.34, longitude: -121.89, inFlight: 0, capacity: 1 },
};

export const healthyExcept =
	(...unhealthy: string[]) =>
	(poolId: string) =>
		!unhealthy.includes(poolId);

/** The world's load balancer: default pools us-east, eu, us-west; region pools for WEU, ENAM, WNAM. */
export function anInput(overrides: Partial<SteeringInput> = {}, ...down: string[]): SteeringInput {
	return {
		defaultPools: ["us-east", "eu", "us-west"],
		fallbackPool: "fallback",
		isHealthy: healthyExcept(...down),
		regionPools: { WEU: ["eu"], ENAM: ["us-east"], WNAM: ["us-west"] },
		facts: (poolId) => POOL_FACTS[poolId] ?? { inFlight: 0, capacity: 1 },
		...overrides,
	};
}
