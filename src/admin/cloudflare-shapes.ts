/**
 * The answers of Cloudflare's load balancing paths in Cloudflare's shapes, from what Switchyard
 * holds: a list's `result_info` and paging, references between objects, a pool's health
 * (`pop_health`) and a preview's results. Pure.
 * https://developers.cloudflare.com/api/resources/load_balancers/
 */
import { poolReference } from "../config/operations";
import type { OriginStatus, PoolStatus } from "../contract/status";
import { AdminError } from "./envelope";

type Item = Record<string, unknown>;

export interface ResultInfo {
	readonly page: number;
	readonly per_page: number;
	readonly count: number;
	readonly total_count: number;
}

/** The page size when a list asks for a page but not its size (Cloudflare's usual default). */
export const DEFAULT_PER_PAGE = 20;
export const MAX_PER_PAGE = 1000;

function toWhole(name: string, value: unknown, max: number): number | undefined {
	if (value === undefined) return undefined;
	const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : Number.NaN;
	if (!(Number.isInteger(number) && number >= 1 && number <= max)) {
		throw new AdminError("invalid_request", `${name} must be a whole number from 1 to ${max}`);
	}
	return number;
}

/**
 * One page of `items` as `page` and `per_page` (query values) ask, with its result_info. Without
 * either, every item: the SDK reads one page and never asks for a second. 400 for a bad value.
 */
export function toPage<T>(
	items: readonly T[],
	query: { page?: unknown; per_page?: unknown },
): { items: T[]; result_info: ResultInfo } {
	const page = toWhole("page", query.page, Number.MAX_SAFE_INTEGER);
	const perPage = toWhole("per_page", query.per_page, MAX_PER_PAGE);
	const total = items.length;
	if (page === undefined && perPage === undefined) {
		return { items: [...items], result_info: { page: 1, per_page: total, count: total, total_count: total } };
	}
	const size = perPage ?? DEFAULT_PER_PAGE;
	const at = page ?? 1;
	const slice = items.slice((at - 1) * size, at * size);
	return { items: slice, result_info: { page: at, per_page: size, count: slice.length, total_count: total } };
}

/** One entry of a references list, as Cloudflare's `…/references` answers. */
export interface Reference {
	/** "referral": this object uses it; "referrer": it uses this object. */
	readonly reference_type: "referral" | "referrer";
	readonly resource_id: string;
	readonly resource_name: string;
	readonly resource_type: "monitor" | "pool" | "load_balancer";
}

/** The pools that use a monitor. */
export function toMonitorReferences(monitorId: string, pools: readonly Item[]): Reference[] {
	return pools
		.filter((pool) => pool.monitor === monitorId)
		.map((pool) => ({
			reference_type: "referrer",
			resource_id: String(pool.id),
			resource_name: String(pool.name ?? pool.id),
			resource_type: "pool",
		}));
}

/** The monitor a pool uses, and the load balancers that use the pool. */
export function toPoolReferences(pool: Item, monitors: readonly Item[], balancers: readonly Item[]): Reference[] {
	const references: Reference[] = [];
	if (typeof pool.monitor === "string") {
		const monitor = monitors.find((item) => item.id === pool.monitor);
		references.push({
			reference_type: "referral",
			resource_id: pool.monitor,
			resource_name: String(monitor?.description || pool.monitor),
			resource_type: "monitor",
		});
	}
	for (const lb of balancers) {
		if (poolReference(lb, String(pool.id)) === undefined) continue;
		references.push({
			reference_type: "referrer",
			resource_id: String(lb.id ?? lb.name),
			resource_name: String(lb.name),
			resource_type: "load_balancer",
		});
	}
	return references;
}

/** One origin's health as Cloudflare shows it: under its address. */
export interface OriginHealthShape {
	readonly healthy: boolean;
	/** The last check's round trip, "12ms"; null before any check. */
	readonly rtt: string | null;
	/** "No failures" while it passes; null before any check. */
	readonly failure_reason: string | null;
	/** The last check's status code; null when there was none (a connection failure, or no check yet). */
	readonly response_code: number | null;
}

export interface PoolHealthShape {
	readonly healthy: boolean;
	readonly origins: Record<string, OriginHealthShape>[];
}

/** Where the checks run from without check_regions: the authority, one place. */
export const LOCAL_PLACE = "local";

/** The status code a check reason names ("200", "status 503, expected 2xx", "… (status 502)"). */
export function toResponseCode(reason: string | null): number | null {
	const match = /^(\d{3})$/.exec(reason ?? "") ?? /status (\d{3})/.exec(reason ?? "");
	return match ? Number(match[1]) : null;
}

function toOriginHealth(origin: OriginStatus): Record<string, OriginHealthShape> {
	const checked = origin.last_check !== null;
	return {
		[origin.address]: {
			healthy: origin.healthy,
			rtt: origin.rtt_ms === null ? null : `${Math.round(origin.rtt_ms)}ms`,
			failure_reason: origin.last_error ?? (checked ? "No failures" : null),
			response_code: toResponseCode(origin.last_check),
		},
	};
}

/**
 * GET …/pools/:id/health: the pool and its origins as /status sees them, under "local"; a pool with
 * check_regions under each of its regions instead, as that region's probe object sees them.
 */
export function toPoolHealth(pool: PoolStatus): { pool_id: string; pop_health: Record<string, PoolHealthShape> } {
	if (!pool.regions) {
		return {
			pool_id: pool.id,
			pop_health: { [LOCAL_PLACE]: { healthy: pool.healthy, origins: pool.origins.map(toOriginHealth) } },
		};
	}
	const popHealth: Record<string, PoolHealthShape> = {};
	for (const [region, { healthy }] of Object.entries(pool.regions)) {
		popHealth[region] = { healthy, origins: pool.origins.map((origin) => toRegionOriginHealth(origin, region)) };
	}
	return { pool_id: pool.id, pop_health: popHealth };
}

/** One origin's health as one region sees it (check_regions). */
function toRegionOriginHealth(origin: OriginStatus, region: string): Record<string, OriginHealthShape> {
	const view = origin.regions?.[region];
	const checked = view?.last_check !== null && view?.last_check !== undefined;
	const healthy = view?.healthy ?? true;
	return {
		[origin.address]: {
			healthy,
			rtt: view?.rtt_ms === null || view?.rtt_ms === undefined ? null : `${Math.round(view.rtt_ms)}ms`,
			failure_reason: checked ? (healthy ? "No failures" : (view?.last_check ?? null)) : null,
			response_code: toResponseCode(view?.last_check ?? null),
		},
	};
}
