import { describe, expect, it } from "vitest";
import { geo } from "../../../src/steering/geo";
import { toPoolPlan } from "../../../src/steering/policy";
import { anInput, BRITISH_COLUMBIA, CALIFORNIA, FRANKFURT, NEW_YORK, ONTARIO } from "./world";

describe("geo", () => {
	it("is named geo", () => {
		expect(geo.name).toBe("geo");
	});

	it.each([
		{ name: "Frankfurt → the EU pool", location: FRANKFURT, down: [], expected: ["eu", "us-east", "us-west"] },
		{
			name: "Frankfurt, EU pool down → default order",
			location: FRANKFURT,
			down: ["eu"],
			expected: ["us-east", "us-west"],
		},
		{ name: "California → WNAM", location: CALIFORNIA, down: [], expected: ["us-west", "us-east", "eu"] },
		{ name: "New York → ENAM", location: NEW_YORK, down: [], expected: ["us-east", "eu", "us-west"] },
		{ name: "Ontario → ENAM", location: ONTARIO, down: [], expected: ["us-east", "eu", "us-west"] },
		{ name: "British Columbia → WNAM", location: BRITISH_COLUMBIA, down: [], expected: ["us-west", "us-east", "eu"] },
		{
			name: "an unknown country → default pools",
			location: { country: "XX" },
			down: [],
			expected: ["us-east", "eu", "us-west"],
		},
		{ name: "no location → default pools", location: undefined, down: [], expected: ["us-east", "eu", "us-west"] },
		{
			name: "a region without pools (Japan) → default pools",
			location: { colo: "NRT", country: "JP" },
			down: [],
			expected: ["us-east", "eu", "us-west"],
		},
	])("$name", ({ location, down, expected }) => {
		expect(geo.order(anInput({ location }, ...down))).toEqual(expected);
	});

	it("sends Frankfurt to the fallback pool when every pool is down", () => {
		expect(toPoolPlan(geo, anInput({ location: FRANKFURT }, "eu", "us-east", "us-west"))).toEqual({
			pools: ["fallback"],
			fallback: true,
		});
	});

	it("sends Frankfurt to the US pool when the EU pool is down (two-pool load balancer)", () => {
		const input = anInput({ location: FRANKFURT, defaultPools: ["eu", "us-east"] }, "eu");
		expect(toPoolPlan(geo, input)).toEqual({ pools: ["us-east"], fallback: false });
		expect(toPoolPlan(geo, { ...input, isHealthy: () => false })).toEqual({ pools: ["fallback"], fallback: true });
	});

	describe("precedence: pop_pools, then country_pools, then region_pools, then default_pools", () => {
		const lists = {
			popPools: { FRA: ["pop-a", "pop-b"] },
			countryPools: { DE: ["country"] },
			regionPools: { WEU: ["region"] },
			defaultPools: ["default-1", "default-2"],
		};

		it.each([
			{ down: [], expected: ["pop-a", "pop-b", "default-1", "default-2"] },
			{ down: ["pop-a"], expected: ["pop-b", "default-1", "default-2"] },
			{ down: ["pop-a", "pop-b"], expected: ["country", "default-1", "default-2"] },
			{ down: ["pop-a", "pop-b", "country"], expected: ["region", "default-1", "default-2"] },
			{ down: ["pop-a", "pop-b", "country", "region"], expected: ["default-1", "default-2"] },
			{ down: ["pop-a", "pop-b", "country", "region", "default-1"], expected: ["default-2"] },
			{ down: ["pop-a", "pop-b", "country", "region", "default-1", "default-2"], expected: [] },
		])("with $down down: $expected", ({ down, expected }) => {
			expect(geo.order(anInput({ ...lists, location: FRANKFURT }, ...down))).toEqual(expected);
		});

		it("uses country_pools when the colo has none", () => {
			expect(geo.order(anInput({ ...lists, location: { ...FRANKFURT, colo: "MUC" } }))[0]).toBe("country");
		});

		it("uses region_pools when neither the colo nor the country has any", () => {
			expect(geo.order(anInput({ ...lists, location: { colo: "VIE", country: "AT" } }))[0]).toBe("region");
		});

		it("lists a pool that is both preferred and default once", () => {
			const input = anInput({ ...lists, popPools: { FRA: ["default-2"] }, location: FRANKFURT });
			expect(geo.order(input)).toEqual(["default-2", "default-1"]);
		});
	});
});
