/**
 * Cloudflare Load Balancing's 13 geographic regions, and which one a visitor is in: `region_pools`
 * are keyed by these codes, and geo steering looks the visitor's region up from the country (and,
 * for the United States and Canada, the state or province) that `request.cf` reports.
 * Source: Cloudflare's Regions API page, which names the regions and says that only the US and
 * Canada are split by subdivision, https://developers.cloudflare.com/load-balancing/reference/region-mapping-api/
 * The full country list is served only by the API (`GET /accounts/{id}/load_balancers/regions`);
 * its documented example response (the "Get Region" schema in Cloudflare's OpenAPI spec,
 * https://developers.cloudflare.com/api/resources/load_balancers/subresources/regions/methods/get/)
 * puts into WNAM: Canada's AB and BC; Haiti; Mexico; and the US states AZ, CA, CO, HI, MN, MO, NV,
 * OR, TX, UT and WA. Those entries follow the docs; the rest of this table is our own placement.
 *
 * Placements we are unsure of (the API may say otherwise): the other US states and Canadian
 * provinces are split at the Mississippi (AR, IA, LA, MB → WNAM; NU → ENAM); Haiti is WNAM as
 * documented while the rest of the Caribbean is ENAM; Central America is WNAM with Mexico; Brazil
 * is SSAM; GR, CY, TR are EEU; AM, AZ, GE are ME; Central Asia (KZ, KG, TJ, TM, UZ) is SAS; Africa
 * is split near the equator (UG, ST, GQ → NAF; KE, GA → SAF). Not placed at all: AQ (Antarctica),
 * BV (Bouvet Island), and Cloudflare's pseudo-countries XX (unknown) and T1 (Tor); a US or Canadian
 * visitor without a known state/province has no region either.
 */
import type { REGIONS } from "../config/regions";

export type Region = (typeof REGIONS)[number];

/** Countries by region, ISO 3166-1 alpha-2 (XK: Kosovo, as Cloudflare reports it). */
const COUNTRIES: Readonly<Record<Region, string>> = {
	WNAM: "MX HT BZ GT SV HN NI CR PA",
	ENAM: "PR VI CU JM DO BS BB TT AG DM GD KN LC VC KY TC VG AI MS BM AW CW SX BQ MF BL GP MQ PM GL",
	NSAM: "CO VE EC PE GY SR GF",
	SSAM: "BR AR CL UY PY BO FK GS",
	WEU: "AD AT AX BE CH DE DK ES FI FO FR GB GG GI IE IM IS IT JE LI LU MC MT NL NO PT SE SJ SM VA",
	EEU: "AL BA BG BY CY CZ EE GR HR HU LT LV MD ME MK PL RO RS RU SI SK TR UA XK",
	ME: "AE AM AZ BH GE IL IQ IR JO KW LB OM PS QA SA SY YE",
	NAF: "BF BJ CF CI CM CV DJ DZ EG EH ER ET GH GM GN GQ GW LR LY MA ML MR NE NG SD SL SN SO SS ST TD TG TN UG",
	SAF: "AO BI BW CD CG GA KE KM LS MG MU MW MZ NA RE RW SC SH SZ TF TZ YT ZA ZM ZW",
	SAS: "AF BD BT IN IO LK MV NP PK KZ KG TJ TM UZ",
	SEAS: "BN ID KH LA MM MY PH SG TH TL VN",
	NEAS: "CN HK JP KP KR MN MO TW",
	OC: "AS AU CC CK CX FJ FM GU HM KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
};

/** US states (and DC, and territories reported as US subdivisions), ISO 3166-2 without "US-". */
const US_STATES: Readonly<Partial<Record<Region, string>>> = {
	WNAM: "AK AR AZ CA CO HI IA ID KS LA MN MO MT ND NE NM NV OK OR SD TX UT WA WY",
	ENAM: "AL CT DC DE FL GA IL IN KY MA MD ME MI MS NC NH NJ NY OH PA RI SC TN VA VI VT WI WV PR",
	OC: "AS GU MP UM",
};

/** Canadian provinces and territories, ISO 3166-2 without "CA-". */
const CA_PROVINCES: Readonly<Partial<Record<Region, string>>> = {
	WNAM: "AB BC MB NT SK YT",
	ENAM: "NB NL NS NU ON PE QC",
};

function toLookup(table: Readonly<Partial<Record<Region, string>>>): ReadonlyMap<string, Region> {
	const lookup = new Map<string, Region>();
	for (const [region, codes] of Object.entries(table) as [Region, string][]) {
		for (const code of codes.split(" ")) lookup.set(code, region);
	}
	return lookup;
}

const BY_COUNTRY = toLookup(COUNTRIES);
const BY_SUBDIVISION: Readonly<Record<string, ReadonlyMap<string, Region>>> = {
	US: toLookup(US_STATES),
	CA: toLookup(CA_PROVINCES),
};

/** Every country code this table places, for tests and tools. */
export const PLACED_COUNTRIES: readonly string[] = [...BY_COUNTRY.keys(), "US", "CA"];

/**
 * The Cloudflare region of a visitor from `country` (ISO 3166-1 alpha-2) and, for the US and
 * Canada, `regionCode` (ISO 3166-2 subdivision, "CA" or "US-CA"); undefined when it cannot be told.
 */
export function toRegion(country?: string, regionCode?: string): Region | undefined {
	if (!country) return undefined;
	const countryCode = country.trim().toUpperCase();
	const subdivisions = BY_SUBDIVISION[countryCode];
	if (!subdivisions) return BY_COUNTRY.get(countryCode);
	if (!regionCode) return undefined;
	const subdivision = regionCode.trim().toUpperCase();
	const prefix = `${countryCode}-`;
	return subdivisions.get(subdivision.startsWith(prefix) ? subdivision.slice(prefix.length) : subdivision);
}
