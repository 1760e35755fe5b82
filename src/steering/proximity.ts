/**
 * `proximity`: the healthy pools nearest the visitor first, by great-circle distance between the
 * visitor's coordinates (from `request.cf`, i.e. near the Cloudflare data center that took the
 * request) and each pool's configured `latitude`/`longitude`. Pools without coordinates follow in
 * default order; without the visitor's coordinates the default order is kept.
 * Source: https://developers.cloudflare.com/load-balancing/understand-basics/traffic-steering/steering-policies/proximity-steering/
 * Distance: the haversine formula on a sphere of the Earth's mean radius (6,371 km),
 * https://en.wikipedia.org/wiki/Haversine_formula
 */
import type { SteeringPolicy } from "./policy";

export interface Coordinates {
	readonly latitude: number;
	readonly longitude: number;
}

const EARTH_RADIUS_KM = 6371;
const RADIANS = Math.PI / 180;

/** Great-circle distance between two points given in degrees, in km. */
export function haversineKm(a: Coordinates, b: Coordinates): number {
	const dLat = (b.latitude - a.latitude) * RADIANS;
	const dLon = (b.longitude - a.longitude) * RADIANS;
	const h =
		Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * RADIANS) * Math.cos(b.latitude * RADIANS) * Math.sin(dLon / 2) ** 2;
	return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(Math.min(1, h)));
}

function toCoordinates(latitude?: number, longitude?: number): Coordinates | undefined {
	return Number.isFinite(latitude) && Number.isFinite(longitude)
		? { latitude: latitude as number, longitude: longitude as number }
		: undefined;
}

export const proximity: SteeringPolicy = {
	name: "proximity",
	order({ defaultPools, isHealthy, location, facts }) {
		const healthy = [...new Set(defaultPools)].filter(isHealthy);
		const visitor = toCoordinates(location?.latitude, location?.longitude);
		if (!visitor || !facts) return healthy;
		const distanceKm = new Map<string, number>();
		for (const poolId of healthy) {
			const { latitude, longitude } = facts(poolId);
			const pool = toCoordinates(latitude, longitude);
			distanceKm.set(poolId, pool ? haversineKm(visitor, pool) : Number.POSITIVE_INFINITY);
		}
		// Array.prototype.sort is stable: equal distances, and pools without coordinates, keep default order.
		return healthy.sort((a, b) => compare(distanceKm.get(a), distanceKm.get(b)));
	},
};

function compare(a = Number.POSITIVE_INFINITY, b = Number.POSITIVE_INFINITY): number {
	return a === b ? 0 : a < b ? -1 : 1;
}
