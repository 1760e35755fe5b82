/**
 * A region's probe object ("probe:<region>"), created by the authority with the Durable Object
 * location hint of its region (health/regions.ts), so its checks leave from there. It checks the
 * origins of the pools whose check_regions list the region, each at its monitor's interval, on its
 * own alarm, and reports each round to the authority, which answers with what the region checks
 * now. A thin shell over health/regions.ts: what is due, and when next.
 */
import { connect } from "cloudflare:sockets";
import { DurableObject } from "cloudflare:workers";
import type { RegionTarget } from "../contract/probe";
import type { ProberRpc } from "../contract/rpc";
import type { Env } from "../env";
import { probe } from "../health/probe";
import {
	type CheckRegion,
	toDueRegionTargets,
	toNextRegionDueAt,
	toProbeRegion,
	toRegionProbe,
} from "../health/regions";
import { PROBE_SUBREQUEST_BUDGET } from "../health/schedule";
import { MAX_CONCURRENT_PROBES, mapWithLimit } from "../health/sweep";
import { getAuthority } from "./objects";

/** The alarm never fires more often than this. */
const MIN_ALARM_GAP_MS = 1000;
/** Where the assignment is kept, so an evicted object resumes with it. */
const TARGETS_KEY = "targets";
/** The largest list kept in storage (as JSON): well under a stored value's limit. */
const MAX_STORED_BYTES = 1_000_000;

export class Prober extends DurableObject<Env> implements ProberRpc {
	private readonly region: CheckRegion | undefined;
	private targets: readonly RegionTarget[] = [];
	/** When each target (by key and identity) was last handed out; in memory: after an eviction every one is due. */
	private readonly lastDueAt = new Map<string, number>();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.region = toProbeRegion(ctx.id.name);
		ctx.blockConcurrencyWhile(async () => {
			this.targets = (await ctx.storage.get<RegionTarget[]>(TARGETS_KEY)) ?? [];
		});
	}

	async assign(
		targets: readonly RegionTarget[],
	): Promise<{ region: string; targets: number; armedFor: number | null }> {
		if (this.region === undefined)
			throw new Error(`"${this.ctx.id.name}" names no region: probe objects are "probe:<region>"`);
		await this.take(targets);
		await this.armAlarm();
		return { region: this.region, targets: this.targets.length, armedFor: await this.ctx.storage.getAlarm() };
	}

	/** A round: the targets due, probed from here with the region's header, reported; re-armed however it ends. */
	override async alarm(): Promise<void> {
		const region = this.region;
		if (region === undefined) return;
		try {
			// Evicted with a list too large to store: the authority says what to check first.
			if (this.targets.length === 0)
				await this.take((await getAuthority(this.env).recordRegionProbes(region, [])).targets);
			const now = Date.now();
			const due = toDueRegionTargets(this.targets, this.dueAtOf, now, PROBE_SUBREQUEST_BUDGET - 1);
			for (const target of due) this.lastDueAt.set(toTargetKey(target), now);
			const results = await mapWithLimit(due, MAX_CONCURRENT_PROBES, (target) =>
				probe(toRegionProbe(target, region), fetch, Date.now, connect),
			);
			const answer = await getAuthority(this.env).recordRegionProbes(region, results);
			await this.take(answer.targets);
		} finally {
			await this.armAlarm();
		}
	}

	private readonly dueAtOf = (target: RegionTarget) => this.lastDueAt.get(toTargetKey(target));

	/** Takes an assignment: stored when it changed; targets no longer in it are forgotten. */
	private async take(targets: readonly RegionTarget[]): Promise<void> {
		const json = JSON.stringify(targets);
		const changed = json !== JSON.stringify(this.targets);
		// Keyed by identity too: a renewed origin is a new target, due at once.
		const keep = new Set(targets.map(toTargetKey));
		for (const key of this.lastDueAt.keys()) if (!keep.has(key)) this.lastDueAt.delete(key);
		this.targets = targets;
		if (!changed) return;
		// One stored value holds at most MAX_STORED_BYTES; a larger list lives in memory only (see alarm).
		if (json.length <= MAX_STORED_BYTES) await this.ctx.storage.put(TARGETS_KEY, targets);
		else await this.ctx.storage.delete(TARGETS_KEY);
	}

	private async armAlarm(): Promise<void> {
		const now = Date.now();
		const next = toNextRegionDueAt(this.targets, this.dueAtOf, now);
		const current = await this.ctx.storage.getAlarm();
		if (next === undefined) {
			if (current !== null) await this.ctx.storage.deleteAlarm();
			return;
		}
		const at = Math.max(next, now + MIN_ALARM_GAP_MS);
		if (current === null || current > at || current < now) await this.ctx.storage.setAlarm(at);
	}
}

/** A target's key as this object tracks it: the origin and what it is (its identity). */
function toTargetKey(target: RegionTarget): string {
	return `${target.key}\u0000${target.identity ?? ""}`;
}
