import { describe, expect, it } from "vitest";
import { toPoolPlan } from "../../../src/steering/policy";
import { haversineKm, proximity } from "../../../src/steering/proximity";
import { anInput, CALIFORNIA, FRANKFURT, NEW_YORK, POOL_FACTS } from "./world";

const FRA = { latitude: 50.0379, longitude: 8.5622 };
const JFK = { latitude: 40.6413, longitude: -73.7781 };

describe("haversineKm", () => {
	it("puts Frankfurt airport about 6,200 km from JFK", () => {
		const km = haversineKm(FRA, JFK);
		expect(km).toBeGreaterThan(6200 * 0.98);
		expect(km).toBeLessThan(6200 * 1.02);
	});

	it.each([
		{ name: "a point from itself", a: FRA, b: FRA, expected: 0 },
		{
			name: "a quarter of the equator",
			a: { latitude: 0, longitude: 0 },
			b: { latitude: 0, longitude: 90 },
			expected: 10007.5,
		},
		{ name: "pole to pole", a: { latitude: 90, longitude: 0 }, b: { latitude: -90, longitude: 0 }, expected: 20015.1 },
		{
			name: "across the antimeridian",
			a: { latitude: 0, longitude: 179 },
			b: { latitude: 0, longitude: -179 },
			expected: 222.4,
		},
	])("measures $name", ({ a, b, expected }) => {
		expect(haversineKm(a, b)).toBeCloseTo(expected, 0);
	});

	it("is symmetric", () => {
		expect(haversineKm(FRA, JFK)).toBeCloseTo(haversineKm(JFK, FRA), 9);
	});
});

describe("proximity", () => {
	it("is named proximity", () => {
		expect(proximity.name).toBe("proximity");
	});

	it.each([
		{ name: "Frankfurt → EU first", location: FRANKFURT, down: [], expected: ["eu", "us-east", "us-west"] },
		{ name: "Frankfurt, EU pool down → US east", location: FRANKFURT, down: ["eu"], expected: ["us-east", "us-west"] },
		{ name: "California → US west first", location: CALIFORNIA, down: [], expected: ["us-west", "us-east", "eu"] },
		{ name: "New York → US east first", location: NEW_YORK, down: [], expected: ["us-east", "us-west", "eu"] },
		{
			name: "no visitor coordinates → default order",
			location: { country: "DE" },
			down: [],
			expected: ["us-east", "eu", "us-west"],
		},
		{
			name: "NaN coordinates → default order",
			location: { latitude: Number.NaN, longitude: 8.7 },
			down: [],
			expected: ["us-east", "eu", "us-west"],
		},
	])("$name", ({ location, down, expected }) => {
		expect(proximity.order(anInput({ location }, ...down))).toEqual(expected);
	});

	it("sends Frankfurt to the fallback pool when every pool is down", () => {
		expect(toPoolPlan(proximity, anInput({ location: FRANKFURT }, "eu", "us-east", "us-west"))).toEqual({
			pools: ["fallback"],
			fallback: true,
		});
	});

	it("puts pools without coordinates after those with, in default order", () => {
		const input = anInput({
			location: FRANKFURT,
			defaultPools: ["nowhere-1", "us-east", "nowhere-2", "eu"],
			facts: (poolId) => POOL_FACTS[poolId] ?? { inFlight: 0, capacity: 1 },
		});
		expect(proximity.order(input)).toEqual(["eu", "us-east", "nowhere-1", "nowhere-2"]);
	});

	it("keeps default order without pool facts", () => {
		expect(proximity.order(anInput({ location: FRANKFURT, facts: undefined }))).toEqual(["us-east", "eu", "us-west"]);
	});
});
