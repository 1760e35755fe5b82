import { describe, expect, it } from "vitest";
import { REGIONS } from "../../../src/config/regions";
import { PLACED_COUNTRIES, toRegion } from "../../../src/steering/regions";

describe("toRegion", () => {
	it.each([
		{ name: "California", country: "US", regionCode: "CA", expected: "WNAM" },
		{ name: "New York", country: "US", regionCode: "NY", expected: "ENAM" },
		{ name: "Ontario", country: "CA", regionCode: "ON", expected: "ENAM" },
		{ name: "British Columbia", country: "CA", regionCode: "BC", expected: "WNAM" },
		{ name: "Texas (documented in WNAM)", country: "US", regionCode: "TX", expected: "WNAM" },
		{ name: "Florida", country: "US", regionCode: "FL", expected: "ENAM" },
		{ name: "Quebec", country: "CA", regionCode: "QC", expected: "ENAM" },
		{ name: "Alberta", country: "CA", regionCode: "AB", expected: "WNAM" },
		{ name: "a prefixed subdivision", country: "US", regionCode: "US-WA", expected: "WNAM" },
		{ name: "lower case", country: "us", regionCode: "ny", expected: "ENAM" },
		{ name: "Mexico", country: "MX", expected: "WNAM" },
		{ name: "Germany", country: "DE", expected: "WEU" },
		{ name: "Poland", country: "PL", expected: "EEU" },
		{ name: "Kosovo", country: "XK", expected: "EEU" },
		{ name: "Colombia", country: "CO", expected: "NSAM" },
		{ name: "Argentina", country: "AR", expected: "SSAM" },
		{ name: "Australia", country: "AU", expected: "OC" },
		{ name: "Saudi Arabia", country: "SA", expected: "ME" },
		{ name: "Egypt", country: "EG", expected: "NAF" },
		{ name: "South Africa", country: "ZA", expected: "SAF" },
		{ name: "India", country: "IN", expected: "SAS" },
		{ name: "Singapore", country: "SG", expected: "SEAS" },
		{ name: "Japan", country: "JP", expected: "NEAS" },
	])("places $name in $expected", ({ country, regionCode, expected }) => {
		expect(toRegion(country, regionCode)).toBe(expected);
	});

	it.each([
		{ name: "no country", country: undefined, regionCode: undefined },
		{ name: "an unknown country (XX)", country: "XX", regionCode: undefined },
		{ name: "Tor (T1)", country: "T1", regionCode: undefined },
		{ name: "Antarctica", country: "AQ", regionCode: undefined },
		{ name: "the US without a state", country: "US", regionCode: undefined },
		{ name: "Canada with an unknown province", country: "CA", regionCode: "ZZ" },
	])("places $name nowhere", ({ country, regionCode }) => {
		expect(toRegion(country, regionCode)).toBeUndefined();
	});

	it("ignores a subdivision outside the US and Canada", () => {
		expect(toRegion("DE", "HE")).toBe("WEU");
	});

	it("places every country once and uses every region", () => {
		expect(new Set(PLACED_COUNTRIES).size).toBe(PLACED_COUNTRIES.length);
		expect(PLACED_COUNTRIES.length).toBeGreaterThan(240);
		const used = new Set(PLACED_COUNTRIES.map((country) => toRegion(country, country === "US" ? "NY" : "ON")));
		for (const region of REGIONS) if (region !== "WNAM") expect(used).toContain(region);
		expect(toRegion("US", "CA")).toBe("WNAM");
	});
});
