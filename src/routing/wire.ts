/**
 * The route reply in few bytes. Every value a Durable Object call returns is serialised by the
 * runtime, property names included, and read back on the other side, on every proxied request.
 * Most of a plan (the load balancer's proxy settings, each origin's address) is configuration the
 * Worker already holds in its copy of the registry's state. When the Worker says which state its
 * copy has (`RouteRequest.known`) and the shard's is the same, the shard answers with only what is
 * new, the lease and the chosen origins' keys, and the Worker fills in the rest from the copy.
 * Otherwise (copies differ, or session affinity, whose plan carries more) the full plan goes.
 * Pure.
 */
import type { LoadBalancer } from "../config/schema";
import { type FailureKind, type OutcomeRecord, toOutcomeRecord } from "../contract/outcome";
import { type RoutePlan, type ShardRouteRequest, toRouteRequest } from "../contract/route";
import { COMPACT_TAG, type CompactPlan, type WireOutcomes, type WireRouteRequest } from "../contract/wire";
import { toAttempt } from "./plan";
import type { Snapshot } from "./snapshot";

const FALLBACK = 1;
const NEEDS_LOCATION = 2;
const HEADER_LENGTH = 5;

type OkPlan = Extract<RoutePlan, { ok: true }>;

/** The compact form of `plan`, when it has no more than the Worker can rebuild from its copy. */
export function toCompactPlan(plan: OkPlan, state: number, leaseId: string): CompactPlan | undefined {
	if (plan.affinity !== undefined) return undefined;
	const flags = (plan.fallback ? FALLBACK : 0) | (plan.needsLocation ? NEEDS_LOCATION : 0);
	return [COMPACT_TAG, state, leaseId, plan.pool, flags, ...plan.attempts.map((attempt) => attempt.key)];
}

/** A plan with its state and lease, in one shape whatever the plan (never spread together). */
export function toLeasedPlan(plan: OkPlan, state: number, leaseId: string): RoutePlan {
	return {
		ok: true,
		loadBalancer: plan.loadBalancer,
		pool: plan.pool,
		fallback: plan.fallback,
		attempts: plan.attempts,
		proxy: plan.proxy,
		needsLocation: plan.needsLocation,
		affinity: plan.affinity,
		state,
		leaseId,
	};
}

/**
 * The whole plan again, from the compact reply and the Worker's copy of the same state; undefined
 * when the copy does not know an origin the reply names (then the copy is not the same state
 * after all, and the caller asks for the full plan).
 */
export function fromCompactPlan(compact: CompactPlan, lb: LoadBalancer, snapshot: Snapshot): OkPlan | undefined {
	const [, state, leaseId, pool, flags] = compact;
	const attempts = [];
	for (let i = HEADER_LENGTH; i < compact.length; i++) {
		const key = compact[i] as string;
		const origin = snapshot.origins.get(key);
		if (!origin) return undefined;
		attempts.push(toAttempt(origin));
	}
	if (attempts.length === 0) return undefined;
	return {
		ok: true,
		loadBalancer: lb.name,
		pool,
		fallback: (flags & FALLBACK) !== 0,
		attempts,
		proxy: lb.proxy,
		needsLocation: (flags & NEEDS_LOCATION) !== 0,
		leaseId,
		state,
	};
}

const RETRIED = 1;
const ABORTED = 2;
const FAIL_OPEN = 4;

type Failure = NonNullable<OutcomeRecord["failures"]>[number];

/** `records` as the wire carries them (contract/wire.ts WireOutcomes). */
export function toWireOutcomes(records: readonly OutcomeRecord[]): WireOutcomes {
	return JSON.stringify(records.map(toOutcomeRow));
}

function toOutcomeRow(r: OutcomeRecord): unknown[] {
	const flags = (r.retried ? RETRIED : 0) | (r.aborted ? ABORTED : 0) | (r.failOpen ? FAIL_OPEN : 0);
	const failures = r.failures ? r.failures.map((f) => [f.origin, f.kind, f.status ?? null]) : null;
	return [
		r.leaseId,
		r.servedBy ?? null,
		r.status ?? null,
		r.ttfbMs ?? null,
		r.totalMs,
		r.attempts,
		flags,
		r.error ?? null,
		r.colo ?? null,
		failures,
		r.rules ?? null,
	];
}

/**
 * A route request as the wire carries it: one JSON text of one array, [hostname, clientIp,
 * outcome rows, location, pin, headers, known, colo, rules, shardTry], null where absent (as the
 * outcomes, contract/wire.ts: an object is serialised property name by property name).
 */
export function toWireRoute(request: ShardRouteRequest): WireRouteRequest {
	return JSON.stringify([
		request.hostname,
		request.clientIp ?? null,
		request.releases ? request.releases.map(toOutcomeRow) : null,
		request.location ?? null,
		request.pin ?? null,
		request.headers ?? null,
		request.known ?? null,
		request.colo ?? null,
		request.rules ?? null,
		request.shardTry ?? null,
	]);
}

/**
 * A route request as the core plans it, in the one shape (toRouteRequest). Objects (from a Worker
 * of the version before) are taken too. Throws on anything else: the Worker fails open.
 */
export function fromWireRoute(wire: WireRouteRequest): ShardRouteRequest {
	if (typeof wire !== "string") {
		const releases = wire.releases;
		return toRouteRequest({
			...(wire as ShardRouteRequest),
			releases: releases === undefined ? undefined : fromWireOutcomes(releases),
		});
	}
	const row: unknown = JSON.parse(wire);
	if (!Array.isArray(row) || row.length !== 10 || typeof row[0] !== "string") {
		throw new TypeError(`route request: not one: ${wire.slice(0, 100)}`);
	}
	const [hostname, clientIp, releases, location, pin, headers, known, colo, rules, shardTry] = row;
	return toRouteRequest({
		hostname,
		clientIp: typeof clientIp === "string" ? clientIp : undefined,
		releases: Array.isArray(releases) ? releases.map(toOutcome) : undefined,
		location: isObject(location) ? location : undefined,
		pin: isObject(pin) ? pin : undefined,
		headers: isObject(headers) ? headers : undefined,
		known: typeof known === "number" ? known : undefined,
		colo: typeof colo === "string" ? colo : undefined,
		rules: isObject(rules) ? rules : undefined,
		shardTry: shardTry === 1 || shardTry === 2 ? shardTry : undefined,
	});
}

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON object, typed by the field it fills
function isObject(value: unknown): value is any {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The records again. Records as objects (from a Worker of the version before, during a deploy)
 * are taken as they are. Throws on anything else: the sender logs the batch as lost, and its
 * leases expire by themselves.
 */
export function fromWireOutcomes(wire: WireOutcomes | readonly OutcomeRecord[]): OutcomeRecord[] {
	if (typeof wire !== "string") return wire.map(toOutcomeRecord);
	const rows: unknown = JSON.parse(wire);
	if (!Array.isArray(rows)) throw new TypeError("outcomes: not a list");
	return rows.map(toOutcome);
}

function toOutcome(row: unknown): OutcomeRecord {
	if (!Array.isArray(row) || row.length !== 11 || typeof row[0] !== "string") {
		throw new TypeError(`outcomes: not an outcome: ${JSON.stringify(row)?.slice(0, 100)}`);
	}
	const [leaseId, servedBy, status, ttfbMs, totalMs, attempts, flags, error, colo, failures, rules] = row;
	return toOutcomeRecord({
		leaseId,
		servedBy: typeof servedBy === "string" ? servedBy : undefined,
		status: typeof status === "number" ? status : undefined,
		error: typeof error === "string" ? (error as OutcomeRecord["error"]) : undefined,
		attempts: Number(attempts),
		retried: (flags & RETRIED) !== 0,
		ttfbMs: typeof ttfbMs === "number" ? ttfbMs : undefined,
		totalMs: Number(totalMs),
		aborted: (flags & ABORTED) !== 0,
		failures: Array.isArray(failures) ? failures.map(toFailure) : undefined,
		failOpen: (flags & FAIL_OPEN) !== 0 ? true : undefined,
		colo: typeof colo === "string" ? colo : undefined,
		rules: Array.isArray(rules) ? rules.filter((index): index is number => typeof index === "number") : undefined,
	});
}

function toFailure(row: unknown): Failure {
	if (!Array.isArray(row) || typeof row[0] !== "string" || typeof row[1] !== "string") {
		throw new TypeError(`outcomes: not a failure: ${JSON.stringify(row)?.slice(0, 100)}`);
	}
	const [origin, kind, status] = row;
	return typeof status === "number"
		? { origin, kind: kind as FailureKind | "status", status }
		: { origin, kind: kind as FailureKind | "status" };
}
