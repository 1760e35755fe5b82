/**
 * The data behind `npm run simulate` (docs/benchmarks.md, "Simulation of global traffic"): the data
 * centers, their traffic shares, which of them host Durable Objects, where objects created by each
 * were measured to land, and the published round-trip times the RTT model is checked against.
 * Everything here is an input, stated and sourced in the docs; nothing is measured by this repository.
 */
import type { ReferencePair, Site } from "./model.ts";

/**
 * 57 Cloudflare data centers, named by the IATA code Cloudflare gives them (coordinates of that
 * airport: the site is in the same metro area, within a few tens of km). `percent` is the share of
 * the world's requests that enter there: an ASSUMPTION, set by region (North America 28, Europe 27,
 * Asia 25, Latin America 9, Middle East 4, Africa 4, Oceania 3; between the regions' share of
 * Internet users, China left out, and the larger request volume per user in North America and
 * Europe) and within a region roughly by the metro's size. Cloudflare publishes no per-site traffic.
 * The traffic of the ~270 smaller sites is folded into the nearest listed site.
 *
 * `host`: Durable Objects are created at this site. The 32 hosts are exactly the sites where
 * where.durableobjects.live saw new objects created (snapshot of 2026-01-04: objects created from
 * 276 sites landed in 32 of them, 11.6%); in Cloudflare's docs, objects are not created in South
 * America, Africa or the Middle East (a hint for those regions creates them nearby instead).
 */
export const SITES: readonly Site[] = [
	// North America: 28
	{ iata: "IAD", city: "Ashburn", region: "North America", lat: 38.944, lon: -77.456, percent: 4.3, host: true },
	{ iata: "EWR", city: "Newark", region: "North America", lat: 40.69, lon: -74.174, percent: 3.7, host: true },
	{ iata: "ORD", city: "Chicago", region: "North America", lat: 41.979, lon: -87.905, percent: 3.0, host: true },
	{ iata: "LAX", city: "Los Angeles", region: "North America", lat: 33.942, lon: -118.408, percent: 3.0, host: true },
	{ iata: "ATL", city: "Atlanta", region: "North America", lat: 33.637, lon: -84.428, percent: 2.5, host: true },
	{ iata: "DFW", city: "Dallas", region: "North America", lat: 32.897, lon: -97.038, percent: 2.5, host: true },
	{ iata: "MIA", city: "Miami", region: "North America", lat: 25.793, lon: -80.291, percent: 2.0, host: true },
	{ iata: "SJC", city: "San Jose", region: "North America", lat: 37.363, lon: -121.929, percent: 2.0, host: true },
	{ iata: "SEA", city: "Seattle", region: "North America", lat: 47.45, lon: -122.309, percent: 1.5, host: true },
	{ iata: "YYZ", city: "Toronto", region: "North America", lat: 43.677, lon: -79.625, percent: 1.5, host: false },
	{ iata: "DEN", city: "Denver", region: "North America", lat: 39.856, lon: -104.674, percent: 1.0, host: true },
	{ iata: "YVR", city: "Vancouver", region: "North America", lat: 49.195, lon: -123.184, percent: 1.0, host: false },
	// Latin America: 9
	{ iata: "GRU", city: "São Paulo", region: "Latin America", lat: -23.432, lon: -46.469, percent: 3.0, host: false },
	{ iata: "MEX", city: "Mexico City", region: "Latin America", lat: 19.436, lon: -99.072, percent: 2.0, host: false },
	{ iata: "EZE", city: "Buenos Aires", region: "Latin America", lat: -34.822, lon: -58.536, percent: 1.2, host: false },
	{ iata: "BOG", city: "Bogotá", region: "Latin America", lat: 4.702, lon: -74.147, percent: 1.2, host: false },
	{ iata: "SCL", city: "Santiago", region: "Latin America", lat: -33.393, lon: -70.786, percent: 0.8, host: false },
	{ iata: "LIM", city: "Lima", region: "Latin America", lat: -12.022, lon: -77.114, percent: 0.8, host: false },
	// Europe: 27
	{ iata: "LHR", city: "London", region: "Europe", lat: 51.47, lon: -0.454, percent: 4.2, host: true },
	{ iata: "FRA", city: "Frankfurt", region: "Europe", lat: 50.038, lon: 8.562, percent: 3.8, host: true },
	{ iata: "AMS", city: "Amsterdam", region: "Europe", lat: 52.311, lon: 4.768, percent: 3.0, host: true },
	{ iata: "CDG", city: "Paris", region: "Europe", lat: 49.01, lon: 2.548, percent: 3.0, host: true },
	{ iata: "MAD", city: "Madrid", region: "Europe", lat: 40.472, lon: -3.561, percent: 2.0, host: true },
	{ iata: "MXP", city: "Milan", region: "Europe", lat: 45.63, lon: 8.723, percent: 2.0, host: true },
	{ iata: "WAW", city: "Warsaw", region: "Europe", lat: 52.166, lon: 20.967, percent: 1.5, host: true },
	{ iata: "ARN", city: "Stockholm", region: "Europe", lat: 59.652, lon: 17.919, percent: 1.5, host: true },
	{ iata: "IST", city: "Istanbul", region: "Europe", lat: 41.262, lon: 28.742, percent: 1.5, host: false },
	{ iata: "VIE", city: "Vienna", region: "Europe", lat: 48.11, lon: 16.57, percent: 1.0, host: true },
	{ iata: "LIS", city: "Lisbon", region: "Europe", lat: 38.774, lon: -9.134, percent: 0.8, host: true },
	{ iata: "ZRH", city: "Zurich", region: "Europe", lat: 47.465, lon: 8.549, percent: 0.8, host: true },
	{ iata: "MRS", city: "Marseille", region: "Europe", lat: 43.439, lon: 5.221, percent: 0.7, host: true },
	{ iata: "PRG", city: "Prague", region: "Europe", lat: 50.101, lon: 14.26, percent: 0.7, host: true },
	{ iata: "OTP", city: "Bucharest", region: "Europe", lat: 44.571, lon: 26.085, percent: 0.5, host: false },
	// Middle East: 4
	{ iata: "DXB", city: "Dubai", region: "Middle East", lat: 25.253, lon: 55.366, percent: 1.5, host: false },
	{ iata: "RUH", city: "Riyadh", region: "Middle East", lat: 24.958, lon: 46.699, percent: 1.5, host: false },
	{ iata: "TLV", city: "Tel Aviv", region: "Middle East", lat: 32.011, lon: 34.887, percent: 1.0, host: false },
	// Africa: 4
	{ iata: "JNB", city: "Johannesburg", region: "Africa", lat: -26.139, lon: 28.246, percent: 1.2, host: false },
	{ iata: "LOS", city: "Lagos", region: "Africa", lat: 6.577, lon: 3.321, percent: 1.0, host: false },
	{ iata: "CAI", city: "Cairo", region: "Africa", lat: 30.122, lon: 31.406, percent: 1.0, host: false },
	{ iata: "NBO", city: "Nairobi", region: "Africa", lat: -1.319, lon: 36.928, percent: 0.8, host: false },
	// Asia: 25
	{ iata: "BOM", city: "Mumbai", region: "Asia", lat: 19.089, lon: 72.868, percent: 3.0, host: false },
	{ iata: "DEL", city: "Delhi", region: "Asia", lat: 28.557, lon: 77.1, percent: 3.0, host: false },
	{ iata: "NRT", city: "Tokyo", region: "Asia", lat: 35.772, lon: 140.393, percent: 3.0, host: true },
	{ iata: "CGK", city: "Jakarta", region: "Asia", lat: -6.126, lon: 106.656, percent: 2.5, host: false },
	{ iata: "SIN", city: "Singapore", region: "Asia", lat: 1.364, lon: 103.992, percent: 2.0, host: true },
	{ iata: "ICN", city: "Seoul", region: "Asia", lat: 37.46, lon: 126.441, percent: 2.0, host: true },
	{ iata: "MAA", city: "Chennai", region: "Asia", lat: 12.994, lon: 80.171, percent: 1.5, host: false },
	{ iata: "HKG", city: "Hong Kong", region: "Asia", lat: 22.308, lon: 113.918, percent: 1.5, host: true },
	{ iata: "MNL", city: "Manila", region: "Asia", lat: 14.509, lon: 121.02, percent: 1.5, host: false },
	{ iata: "BKK", city: "Bangkok", region: "Asia", lat: 13.69, lon: 100.75, percent: 1.5, host: false },
	{ iata: "SGN", city: "Ho Chi Minh City", region: "Asia", lat: 10.819, lon: 106.652, percent: 1.5, host: false },
	{ iata: "KIX", city: "Osaka", region: "Asia", lat: 34.427, lon: 135.244, percent: 1.0, host: true },
	{ iata: "KHI", city: "Karachi", region: "Asia", lat: 24.907, lon: 67.161, percent: 1.0, host: false },
	// Oceania: 3
	{ iata: "SYD", city: "Sydney", region: "Oceania", lat: -33.946, lon: 151.177, percent: 1.2, host: true },
	{ iata: "MEL", city: "Melbourne", region: "Oceania", lat: -37.673, lon: 144.843, percent: 0.9, host: true },
	{ iata: "AKL", city: "Auckland", region: "Oceania", lat: -37.008, lon: 174.792, percent: 0.5, host: true },
	{ iata: "BNE", city: "Brisbane", region: "Oceania", lat: -27.384, lon: 153.117, percent: 0.4, host: true },
];

/**
 * Where objects created by each site's Workers were seen to land, with the share of objects that
 * landed there: where.durableobjects.live (objects created and destroyed continuously from every
 * site, counted over five minutes), as copied by the cf-colo-hint project on 2026-01-04, rounded to
 * two decimals. A check on the nearest-host rule, not the model: samples are small and change hour
 * to hour.
 */
export const MEASURED_HOSTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
	IAD: { IAD: 0.56, EWR: 0.44 },
	EWR: { EWR: 0.87, IAD: 0.13 },
	ORD: { ORD: 1 },
	LAX: { LAX: 1 },
	ATL: { IAD: 0.65, ATL: 0.35 },
	DFW: { DFW: 1 },
	MIA: { MIA: 0.69, ATL: 0.31 },
	SJC: { SJC: 1 },
	SEA: { SEA: 1 },
	YYZ: { ORD: 0.8, EWR: 0.2 },
	DEN: { DEN: 1 },
	YVR: { SEA: 1 },
	GRU: { MIA: 0.58, EWR: 0.42 },
	MEX: { DFW: 0.75, ATL: 0.25 },
	EZE: { MIA: 0.63, EWR: 0.37 },
	BOG: { MIA: 0.58, EWR: 0.42 },
	SCL: { EWR: 0.85, IAD: 0.15 },
	LIM: { MIA: 0.62, EWR: 0.38 },
	LHR: { LHR: 0.89, AMS: 0.11 },
	FRA: { FRA: 0.49, AMS: 0.21, ZRH: 0.18, CDG: 0.11 },
	AMS: { AMS: 0.77, LHR: 0.23 },
	CDG: { CDG: 0.64, LHR: 0.36 },
	MAD: { MAD: 0.5, LIS: 0.42, MRS: 0.08 },
	MXP: { MXP: 0.38, ZRH: 0.25, MRS: 0.21, FRA: 0.17 },
	WAW: { WAW: 0.79, VIE: 0.21 },
	ARN: { ARN: 1 },
	IST: { FRA: 0.46, AMS: 0.29, PRG: 0.18, VIE: 0.07 },
	VIE: { FRA: 0.53, WAW: 0.4, VIE: 0.07 },
	LIS: { MAD: 0.67, LIS: 0.33 },
	ZRH: { MXP: 0.5, FRA: 0.38, ZRH: 0.12 },
	MRS: { CDG: 0.5, MXP: 0.33, MRS: 0.17 },
	PRG: { FRA: 0.5, PRG: 0.3, ZRH: 0.2 },
	OTP: { FRA: 0.62, WAW: 0.25, VIE: 0.12 },
	DXB: { SIN: 1 },
	RUH: { FRA: 0.53, MXP: 0.24, ZRH: 0.18, MRS: 0.06 },
	TLV: { FRA: 0.38, MRS: 0.24, ZRH: 0.19, CDG: 0.19 },
	JNB: { LHR: 0.53, MAD: 0.41, LIS: 0.06 },
	LOS: { LIS: 1 },
	CAI: { CDG: 0.8, LHR: 0.2 },
	NBO: { FRA: 0.56, AMS: 0.44 },
	BOM: { SIN: 0.5, KIX: 0.3, SYD: 0.2 },
	DEL: { KIX: 0.61, NRT: 0.3, SIN: 0.09 },
	NRT: { NRT: 0.53, KIX: 0.47 },
	CGK: { SIN: 1 },
	SIN: { SIN: 1 },
	ICN: { ICN: 1 },
	MAA: { SIN: 1 },
	HKG: { HKG: 0.56, SIN: 0.44 },
	MNL: { SIN: 0.54, HKG: 0.46 },
	BKK: { SIN: 0.65, HKG: 0.35 },
	SGN: { SIN: 1 },
	KIX: { NRT: 0.59, KIX: 0.41 },
	KHI: { SIN: 1 },
	SYD: { MEL: 0.47, SYD: 0.29, BNE: 0.24 },
	MEL: { SYD: 0.75, MEL: 0.25 },
	AKL: { AKL: 1 },
	BNE: { SYD: 0.75, BNE: 0.25 },
};

/**
 * Published round-trip times the RTT model is held against (city centres' coordinates).
 * "WonderNetwork, recent": typical figures of WonderNetwork's public ping tables in recent years,
 * quoted from memory (approximate, ±10%). "WonderProxy 2011": the table of pings between their
 * servers in "Miles per Millisecond" (wonderproxy.com/blog/miles-per-milisecond, February 2011),
 * the mean of both directions (Milan → Zurich: one); older routes, slower than today's. Every pair of
 * that table looked at while building the model is here, except New York – Baltimore (175 ms for
 * 270 km: a broken route); its other pairs were not used.
 */
export const REFERENCE_PAIRS: readonly ReferencePair[] = [
	pair("London", [51.507, -0.128], "New York", [40.713, -74.006], 72, "WonderNetwork, recent"),
	pair("London", [51.507, -0.128], "Frankfurt", [50.11, 8.682], 15, "WonderNetwork, recent"),
	pair("Los Angeles", [34.052, -118.244], "Tokyo", [35.69, 139.692], 105, "WonderNetwork, recent"),
	pair("Singapore", [1.352, 103.82], "Sydney", [-33.869, 151.209], 92, "WonderNetwork, recent"),
	pair("São Paulo", [-23.551, -46.633], "Miami", [25.762, -80.192], 108, "WonderNetwork, recent"),
	pair("Johannesburg", [-26.204, 28.047], "London", [51.507, -0.128], 155, "WonderNetwork, recent"),
	pair("Paris", [48.857, 2.352], "Milan", [45.464, 9.19], 21.45, "WonderProxy 2011"),
	pair("Dallas", [32.777, -96.797], "New York", [40.713, -74.006], 38.13, "WonderProxy 2011"),
	pair("Dallas", [32.777, -96.797], "Fremont", [37.548, -121.989], 44.29, "WonderProxy 2011"),
	pair("Paris", [48.857, 2.352], "Moscow", [55.756, 37.617], 56.44, "WonderProxy 2011"),
	pair("New York", [40.713, -74.006], "Fremont", [37.548, -121.989], 77.96, "WonderProxy 2011"),
	pair("New York", [40.713, -74.006], "Paris", [48.857, 2.352], 77.82, "WonderProxy 2011"),
	pair("Fremont", [37.548, -121.989], "Sydney", [-33.869, 151.209], 188.44, "WonderProxy 2011"),
	pair("Milan", [45.464, 9.19], "Zurich", [47.377, 8.54], 11.17, "WonderProxy 2011"),
	pair("Sydney", [-33.869, 151.209], "Brisbane", [-27.47, 153.026], 38.22, "WonderProxy 2011"),
	pair("Milan", [45.464, 9.19], "Moscow", [55.756, 37.617], 67.08, "WonderProxy 2011"),
];

function pair(
	a: string,
	[aLat, aLon]: [number, number],
	b: string,
	[bLat, bLon]: [number, number],
	rttMs: number,
	source: string,
): ReferencePair {
	return { a, b, from: { lat: aLat, lon: aLon }, to: { lat: bLat, lon: bLon }, rttMs, source };
}
