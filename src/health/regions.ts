/**
 * Health seen from several regions (a pool's `check_regions`): one probe object per region
 * (`probe:<region>`, placed with the Durable Object `locationHint` for it) checks the pool's origins
 * on its own alarm and reports to the authority. Each region keeps its own rise/fall; an origin is
 * healthy while more than half of its regions see it healthy (Cloudflare's rule), a tie counting as
 * healthy, so one bad network path cannot take a healthy origin out. A region that has not reported
 * yet counts as healthy (as a pending origin does). Pure: the authority and the probe objects are
 * thin shells over these functions.
 * (Cloudflare checks from three data centers in each region, a region being healthy by their
 * majority; here one object stands for its region.) https://developers.cloudflare.com/load-balancing/monitors/
 */
import type { CHECK_REGIONS, REGIONS } from "../config/regions";
import type { Monitor } from "../config/schema";
import type { ProbeResult, RegionTarget } from "../contract/probe";
import type { OriginHealth, RegionView } from "./record";
import { applyCheck, PENDING } from "./state-machine";
import { type ProbeOrigin, toProbeTarget } from "./targets";

export type { RegionTarget, RegionView };

export type CheckRegion = (typeof REGIONS)[number];

/** Every probe carries its region, so an origin (and a test) can tell the regions apart. */
export const PROBE_REGION_HEADER = "x-switchyard-probe-region";

/** Durable Object location hints (Cloudflare's docs, "Data location"). */
export type LocationHint =
	| "wnam"
	| "enam"
	| "sam"
	| "weur"
	| "eeur"
	| "apac"
	| "apac-ne"
	| "apac-se"
	| "oc"
	| "afr"
	| "me";

/** The Durable Object location hint for each of Cloudflare's 13 regions. */
export const REGION_HINTS: Readonly<Record<CheckRegion, LocationHint>> = {
	WNAM: "wnam",
	ENAM: "enam",
	WEU: "weur",
	EEU: "eeur",
	NSAM: "sam",
	SSAM: "sam",
	OC: "oc",
	SEAS: "apac-se",
	NEAS: "apac-ne",
	SAS: "apac",
	ME: "me",
	NAF: "afr",
	SAF: "afr",
};

const ALL: readonly CheckRegion[] = Object.keys(REGION_HINTS) as CheckRegion[];

/** The name of a region's probe object. */
export function toProbeObjectName(region: CheckRegion): string {
	return `probe:${region}`;
}

/** The region a probe object's name stands for; undefined for any other name. */
export function toProbeRegion(name: string | undefined): CheckRegion | undefined {
	const region = name?.startsWith("probe:") ? name.slice("probe:".length) : undefined;
	return region !== undefined && Object.hasOwn(REGION_HINTS, region) ? (region as CheckRegion) : undefined;
}

/** A pool's check_regions as the regions to probe from, each once, ALL_REGIONS meaning all 13; empty: none. */
export function toCheckRegions(checkRegions: readonly (typeof CHECK_REGIONS)[number][] | undefined): CheckRegion[] {
	if (!checkRegions || checkRegions.length === 0) return [];
	if (checkRegions.includes("ALL_REGIONS")) return [...ALL];
	return ALL.filter((region) => checkRegions.includes(region));
}

/** A pool as the assignments read it (routing/snapshot.ts `PoolEntry` is one). */
export interface RegionPool {
	readonly pool: { readonly enabled: boolean; readonly check_regions?: readonly (typeof CHECK_REGIONS)[number][] };
	readonly monitor: Monitor | undefined;
	readonly origins: readonly ProbeOrigin[];
}

/** What each region's probe object checks: every enabled origin of every enabled, monitored pool listing it (the object adds its header, toRegionProbe). */
export function toRegionAssignments(pools: Iterable<RegionPool>): Map<CheckRegion, RegionTarget[]> {
	const assignments = new Map<CheckRegion, RegionTarget[]>();
	for (const entry of pools) {
		const monitor = entry.monitor;
		if (!entry.pool.enabled || !monitor) continue;
		for (const region of toCheckRegions(entry.pool.check_regions)) {
			const targets = assignments.get(region) ?? [];
			for (const origin of entry.origins) {
				if (!origin.enabled) continue;
				targets.push({ ...toProbeTarget(origin, monitor), intervalMs: monitor.interval * 1000 });
			}
			assignments.set(region, targets);
		}
	}
	return assignments;
}

/** The probe a region's object sends: the target, carrying the region's header (whatever it was given). */
export function toRegionProbe(target: RegionTarget, region: CheckRegion): RegionTarget {
	return { ...target, headers: { ...target.headers, [PROBE_REGION_HEADER]: region } };
}

/**
 * A probe object's round: the targets due at `now` (never checked, or an interval since they last
 * were), oldest first, within `budgetSubrequests` (each costs retries + 1); and when the next is due.
 */
export function toDueRegionTargets(
	targets: readonly RegionTarget[],
	lastDueAt: (target: RegionTarget) => number | undefined,
	now: number,
	budgetSubrequests: number,
): RegionTarget[] {
	const due = targets
		.map((target) => ({ target, dueAt: lastDueAt(target) }))
		.filter(({ target, dueAt }) => dueAt === undefined || now - dueAt >= target.intervalMs)
		.sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0));
	const chosen: RegionTarget[] = [];
	let spent = 0;
	for (const { target } of due) {
		const cost = target.retries + 1;
		if (spent + cost > budgetSubrequests) continue;
		spent += cost;
		chosen.push(target);
	}
	return chosen;
}

/** When a probe object's next target is due; undefined when it has none. */
export function toNextRegionDueAt(
	targets: readonly RegionTarget[],
	lastDueAt: (target: RegionTarget) => number | undefined,
	now: number,
): number | undefined {
	let next = Number.POSITIVE_INFINITY;
	for (const target of targets) {
		const dueAt = lastDueAt(target);
		next = Math.min(next, dueAt === undefined ? now : dueAt + target.intervalMs);
	}
	return next === Number.POSITIVE_INFINITY ? undefined : next;
}

/** Healthy by the majority of `regions`: more than half see it healthy, a tie counting as healthy; no view yet: healthy. */
export function isHealthyByMajority(
	regions: readonly CheckRegion[],
	views: Readonly<Partial<Record<CheckRegion, RegionView>>>,
): boolean {
	const healthy = regions.filter((region) => views[region]?.state.healthy !== false).length;
	return healthy * 2 >= regions.length;
}

/** A region's view older than this many of the monitor's intervals no longer counts toward the majority. */
export const STALE_AFTER_INTERVALS = 3;

/** What applying a region's results needs to know of the origins now. */
export interface RegionBook {
	/** The origin's identity and its pool's monitor and check regions now; undefined when gone or unmonitored. */
	current(
		key: string,
	): { readonly identity: string; readonly monitor: Monitor; readonly regions: readonly CheckRegion[] } | undefined;
	healthOf(key: string): OriginHealth;
}

/**
 * One region's results applied to that region's views (its own rise/fall), each turned into the
 * result of the origin as a whole: ok when the majority of its regions see it healthy, with a
 * reason naming the regions that do not. These go through the usual recording with rise/fall of 1
 * (the regions' rise/fall has been applied). Results about a gone or renewed origin, or from a
 * region the pool no longer lists, are dropped.
 */
export function toMajorityResults(
	region: CheckRegion,
	results: readonly ProbeResult[],
	book: RegionBook,
): ProbeResult[] {
	const overall: ProbeResult[] = [];
	for (const result of results) {
		const now = book.current(result.key);
		if (!now?.regions.includes(region)) continue;
		if (result.identity !== undefined && result.identity !== now.identity) continue;
		const health = book.healthOf(result.key);
		const views: Partial<Record<CheckRegion, RegionView>> = {};
		for (const listed of now.regions) {
			const view = health.regions?.[listed];
			if (view) views[listed] = view;
		}
		const rule = { consecutiveUp: now.monitor.consecutive_up, consecutiveDown: now.monitor.consecutive_down };
		views[region] = {
			state: applyCheck(views[region]?.state ?? PENDING, result.ok, rule, result.at),
			reason: result.reason,
			at: result.at,
			rttMs: result.rttMs,
		};
		health.regions = views;
		// A region not heard from for STALE_AFTER_INTERVALS intervals (its probe object gone or stuck)
		// counts as not reported: its last "down" must not outvote the regions that are checking.
		const staleBefore = result.at - STALE_AFTER_INTERVALS * now.monitor.interval * 1000;
		const counted: Partial<Record<CheckRegion, RegionView>> = {};
		for (const listed of now.regions) {
			const view = views[listed];
			if (view && !(view.at < staleBefore)) counted[listed] = view;
		}
		const ok = isHealthyByMajority(now.regions, counted);
		const down = now.regions.filter((listed) => counted[listed]?.state.healthy === false);
		const seen = `${now.regions.length - down.length} of ${now.regions.length} regions see it healthy`;
		const why = down.map((listed) => `${listed}: ${views[listed]?.reason}`).join("; ");
		const { failure: _failure, ...rest } = result;
		overall.push({
			...(ok ? rest : result),
			ok,
			reason: down.length === 0 ? `${seen} (${region}: ${result.reason})` : `${seen} (${why})`,
		});
	}
	return overall;
}
