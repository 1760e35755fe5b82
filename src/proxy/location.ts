/**
 * The visitor's location for steering, from `request.cf` — or, in development only and only when
 * the DEV_GEO_HEADERS var is "true", from x-switchyard-dev-* request headers (request.cf is a
 * placeholder under `wrangler dev`). Those headers never reach an origin: x-switchyard-* is
 * dropped on the way in.
 */
import { LOCAL_COLO, type VisitorLocation } from "../contract/route";

interface CfLike {
	readonly colo?: unknown;
	readonly country?: unknown;
	readonly continent?: unknown;
	readonly regionCode?: unknown;
	readonly latitude?: unknown;
	readonly longitude?: unknown;
}

function text(value: unknown): string | undefined {
	return typeof value === "string" && value !== "" ? value : undefined;
}

function number(value: unknown): number | undefined {
	const parsed =
		typeof value === "number" ? value : typeof value === "string" && value !== "" ? Number(value) : Number.NaN;
	return Number.isFinite(parsed) ? parsed : undefined;
}

function compact(location: Record<string, string | number | undefined>): VisitorLocation {
	return Object.fromEntries(Object.entries(location).filter(([, value]) => value !== undefined)) as VisitorLocation;
}

export function toVisitorLocation(cf: CfLike | undefined, headers: Headers, devOverride: boolean): VisitorLocation {
	const fromCf = {
		colo: text(cf?.colo),
		country: text(cf?.country),
		continent: text(cf?.continent),
		regionCode: text(cf?.regionCode),
		latitude: number(cf?.latitude),
		longitude: number(cf?.longitude),
	};
	if (!devOverride) return compact(fromCf);
	const header = (name: string) => headers.get(`x-switchyard-dev-${name}`) ?? undefined;
	return compact({
		colo: text(header("colo")) ?? fromCf.colo,
		country: text(header("country")) ?? fromCf.country,
		continent: text(header("continent")) ?? fromCf.continent,
		regionCode: text(header("region")) ?? fromCf.regionCode,
		latitude: number(header("lat")) ?? fromCf.latitude,
		longitude: number(header("lon")) ?? fromCf.longitude,
	});
}

/**
 * The data center a request came through: the dev-only header (only with DEV_GEO_HEADERS), else
 * `request.cf.colo`, else LOCAL_COLO. A client header never names a data center in production.
 */
export function toColo(cf: CfLike | undefined, headers: Headers, devOverride: boolean): string {
	const fromHeader = devOverride ? headers.get("x-switchyard-dev-colo") : null;
	// A data center code names Durable Objects: letters and digits only, whatever a header says.
	const dev = fromHeader !== null && COLO_CODE.test(fromHeader) ? fromHeader : undefined;
	return dev ?? text(cf?.colo) ?? LOCAL_COLO;
}

const COLO_CODE = /^[A-Za-z0-9]{1,16}$/;
