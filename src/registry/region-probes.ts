/**
 * The authority's side of health seen from several regions (check_regions): what each region's
 * probe object checks, sent to it when that changes (and again after a failed call, or a restart
 * of the authority), and each region's results turned into the origins' health by majority
 * (health/regions.ts). The probe objects run the checks on their own alarms (prober.ts).
 */
import type { ProbeResult, RegionTarget } from "../contract/probe";
import { withTimeout } from "../deadline";
import type { Env } from "../env";
import {
	type CheckRegion,
	REGION_HINTS,
	type RegionBook,
	toCheckRegions,
	toMajorityResults,
	toRegionAssignments,
} from "../health/regions";
import type { RoutingState } from "../routing/routing-state";
import type { Snapshot } from "../routing/snapshot";
import { poolOfKey } from "../routing/snapshot";
import { getProber } from "./objects";

/** How long telling a probe object what to check may take (the cron waits for it); a slower one is told again later. */
export const ASSIGN_TIMEOUT_MS = 5_000;

export class RegionProbes {
	/** What each region's probe object was last told (JSON), when the call succeeded. */
	private readonly told = new Map<CheckRegion, string>();
	private memo: { snapshot: Snapshot; assignments: Map<CheckRegion, RegionTarget[]> } | undefined;

	constructor(
		private readonly env: Env,
		private readonly routing: RoutingState,
	) {}

	/** What `region` checks under the configuration now. */
	targetsOf(region: string): RegionTarget[] {
		return Object.hasOwn(REGION_HINTS, region) ? (this.assignments().get(region as CheckRegion) ?? []) : [];
	}

	/**
	 * Tells each region's probe object what it checks, where that changed since it was last told:
	 * regions newly listed (their objects are created there), changed, or no longer listed (told
	 * to stop). A failed call is tried again at the next sync (the cron's, at the latest).
	 */
	async sync(): Promise<void> {
		const assignments = this.assignments();
		const regions = new Set<CheckRegion>([...assignments.keys(), ...this.told.keys()]);
		await Promise.all(
			[...regions].map(async (region) => {
				const targets = assignments.get(region) ?? [];
				const json = JSON.stringify(targets);
				if (this.told.get(region) === json) return;
				try {
					const told = getProber(this.env, region).assign(targets);
					await withTimeout(told, ASSIGN_TIMEOUT_MS, `probe:${region} did not answer within ${ASSIGN_TIMEOUT_MS} ms`);
					if (targets.length > 0) this.told.set(region, json);
					else this.told.delete(region);
				} catch (error) {
					this.told.delete(region);
					console.error(`switchyard: telling probe:${region} what to check failed`, error);
				}
			}),
		);
	}

	/** A region's results, applied to that region's views, as results of the origins as a whole (by majority). */
	toMajority(region: string, results: readonly ProbeResult[]): ProbeResult[] {
		if (!Object.hasOwn(REGION_HINTS, region)) return [];
		const { snapshot } = this.routing;
		const book: RegionBook = {
			current: (key) => {
				const origin = snapshot.origins.get(key);
				const entry = snapshot.pools.get(poolOfKey(key));
				if (!origin || !entry?.monitor) return undefined;
				return { identity: origin.identity, monitor: entry.monitor, regions: toCheckRegions(entry.pool.check_regions) };
			},
			healthOf: (key) => this.routing.healthOf(key),
		};
		return toMajorityResults(region as CheckRegion, results, book);
	}

	private assignments(): Map<CheckRegion, RegionTarget[]> {
		const snapshot = this.routing.snapshot;
		if (this.memo?.snapshot !== snapshot) {
			this.memo = { snapshot, assignments: toRegionAssignments(snapshot.pools.values()) };
		}
		return this.memo.assignments;
	}
}
