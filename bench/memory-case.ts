/**
 * The memory benchmark's subject (issue 16, item 3): a large configuration (20 load balancers × 10
 * pools × 50 origins, 10,000 origins, with monitors, pool steering, session affinity, region and
 * country maps) as a bundled switchyard.config.json would carry it, the replica the authority makes
 * of it, and one Worker isolate wired exactly as src/isolate.ts wires it (wireIsolate), its Durable
 * Objects replaced by fakes: a hub that hands out the replica (parsed afresh from its wire text, as
 * an RPC delivers a copy), and counter objects that plan (in the colo scope, each with a core of its
 * own made before anything is measured) and take outcome batches. Requests go through proxyRequest
 * as src/index.ts sends them, with a fetch that answers at once. Bundled like the reference Workers
 * (bench/bundle.ts: src/ imports without extensions, which Node does not resolve) and imported into
 * Node by bench/memory.ts, which measures; nothing here measures.
 */

import { REGIONS } from "../src/config/regions";
import type { Config, ConfigInput, CounterScope } from "../src/config/schema";
import { ORIGIN_POLICIES, STEERING_POLICIES } from "../src/config/schema";
import { validateConfig } from "../src/config/validate";
import type { OutcomeRecord } from "../src/contract/outcome";
import { toUnusedLease } from "../src/contract/outcome";
import type { Replica } from "../src/contract/replica";
import type { ShardRouteRequest } from "../src/contract/route";
import { isCompactPlan } from "../src/contract/wire";
import { randomSecret } from "../src/digest";
import type { Env } from "../src/env";
import { applyProbeResult } from "../src/health/record";
import { type Isolate, wireIsolate } from "../src/isolate";
import { toColo, toVisitorLocation } from "../src/proxy/location";
import { proxyRequest } from "../src/proxy/proxy";
import { findOversizedRow, MAX_STORED_ROW_BYTES } from "../src/registry/storage";
import { CounterCore } from "../src/routing/counter";
import { RoutingState } from "../src/routing/routing-state";
import { counterKeyFor, isolateLeaseInstance, toLeasePrefix } from "../src/routing/shard-keys";
import { toSnapshot } from "../src/routing/snapshot";

export const SHAPE = { loadBalancers: 20, poolsPerLoadBalancer: 10, originsPerPool: 50 } as const;
export { MAX_STORED_ROW_BYTES };

/** The data center every request of the benchmark comes through (request.cf as the edge sets it). */
const CF = { colo: "FRA", country: "DE", continent: "EU", regionCode: "HE", latitude: "50.11", longitude: "8.68" };
const AFFINITY = ["none", "cookie", "ip_cookie", "header"] as const;
/** Steering policies that plan from the visitor's place or the pools' load (all but "off" and "random" need facts). */
const STEERING = STEERING_POLICIES;

function hostOf(lb: number): string {
	return `app${lb}.example.com`;
}

/**
 * The configuration document, every load balancer in `scope`: what an operator would write in
 * switchyard.config.json (defaults left out where Cloudflare's are fine, as people write it).
 */
export function memoryConfig(scope: CounterScope): ConfigInput {
	const { loadBalancers, poolsPerLoadBalancer, originsPerPool } = SHAPE;
	const monitors = Array.from({ length: loadBalancers }, (_, i) => ({
		id: `monitor-${i}`,
		description: `health of app${i}`,
		type: i % 2 === 0 ? ("https" as const) : ("http" as const),
		method: "GET" as const,
		path: "/healthz",
		interval: 60,
		timeout: 5,
		retries: 2,
		expected_codes: "2xx",
		consecutive_up: 2,
		consecutive_down: 3,
	}));
	const pools = [];
	const lbs = [];
	for (let i = 0; i < loadBalancers; i++) {
		const ids = Array.from({ length: poolsPerLoadBalancer }, (_, j) => `app${i}-pool-${j}`);
		const pool = (j: number) => ids[j] as string;
		for (const [j, id] of ids.entries()) {
			pools.push({
				id,
				name: `app${i} ${REGIONS[j % REGIONS.length]} ${j}`,
				description: `app${i}, pool ${j}`,
				monitor: `monitor-${i}`,
				minimum_origins: 1,
				latitude: -40 + ((i * 7 + j * 11) % 80),
				longitude: -170 + ((i * 13 + j * 31) % 340),
				origin_steering: { policy: ORIGIN_POLICIES[(i + j) % ORIGIN_POLICIES.length] },
				origins: Array.from({ length: originsPerPool }, (_, k) => ({
					name: `app${i}-p${j}-origin-${k}`,
					address: `origin-${k}.pool-${j}.app${i}.internal.example.net`,
					...(k % 5 === 0 ? { port: 8443 } : {}),
					weight: k % 4 === 0 ? 0.5 : 1,
					enabled: true,
				})),
			});
		}
		const affinity = AFFINITY[i % AFFINITY.length] as (typeof AFFINITY)[number];
		const steering = STEERING[i % STEERING.length] as (typeof STEERING)[number];
		lbs.push({
			name: hostOf(i),
			description: `app${i}`,
			default_pools: ids,
			fallback_pool: pool(ids.length - 1),
			region_pools: {
				WNAM: [pool(0), pool(1)],
				ENAM: [pool(1), pool(0)],
				WEU: [pool(2), pool(3)],
				EEU: [pool(3), pool(2)],
			},
			country_pools: { DE: [pool(2), pool(4)], US: [pool(0), pool(5)], JP: [pool(6), pool(7)] },
			pop_pools: { FRA: [pool(2), pool(8)], NRT: [pool(6), pool(9)] },
			steering_policy: steering,
			...(steering === "random"
				? { random_steering: { pool_weights: Object.fromEntries(ids.map((id, j) => [id, (j + 1) / 10])) } }
				: {}),
			adaptive_routing: { failover_across_pools: i % 2 === 0 },
			session_affinity: affinity,
			session_affinity_ttl: 3600,
			session_affinity_attributes:
				affinity === "header"
					? { headers: ["x-session-id"], zero_downtime_failover: "temporary" as const }
					: { samesite: "Lax" as const, secure: "Always" as const, drain_duration: 60 },
			proxy: { timeout_ms: 15_000, retries: 2 },
			outlier_detection: { consecutive_failures: 5, base_ejection_s: 30, max_ejection_percent: 50 },
			slow_start_s: 30,
			counter_scope: scope,
			// Off: the fakes' round trips, timed in one busy Node process, would put the colo scope's
			// planning in the isolate (what the isolate then holds is the isolate scope's figure).
			counter_rtt_budget_ms: 0,
		});
	}
	return { monitors, pools, load_balancers: lbs };
}

/** What the seed path does with the document before it stores it (registry/config-store.ts `write`). */
export function checkSeed(json: string): {
	ok: boolean;
	errors: string[];
	messages: number;
	oversized?: string;
	origins: number;
	/** The largest stored row (a pool, load balancer or monitor), bytes of JSON. */
	largestRowBytes: number;
} {
	const checked = validateConfig(JSON.parse(json));
	if (!checked.ok) {
		return {
			ok: false,
			errors: checked.errors.map((e) => `${e.path}: ${e.message}`),
			messages: 0,
			origins: 0,
			largestRowBytes: 0,
		};
	}
	const config = checked.config;
	const rows = [...config.monitors, ...config.pools, ...config.load_balancers].map((row) => JSON.stringify(row).length);
	const oversized = findOversizedRow(config);
	return {
		ok: oversized === undefined,
		errors: [],
		messages: checked.messages.length,
		...(oversized ? { oversized: oversized.message } : {}),
		origins: config.pools.reduce((sum, pool) => sum + pool.origins.length, 0),
		largestRowBytes: Math.max(...rows),
	};
}

/**
 * The replica the authority serves for that configuration, as wire text: the configuration stored
 * by the seed (`install` with a time: every origin added, so each has a slow start on record), one
 * round of checks that found every origin healthy (each with an RTT average), a drain and two
 * ejections in force, and two affinity keys (the authority's generated ones). As registry.ts
 * `toReplica` builds it.
 */
export function authorityReplicaJson(json: string, now: number): string {
	const checked = validateConfig(JSON.parse(json));
	if (!checked.ok) throw new Error("memory case: the configuration does not validate");
	const routing = new RoutingState();
	const addedAt = now - 10 * 60_000;
	routing.install(checked.config, 1, addedAt);
	const monitors = new Map(checked.config.monitors.map((monitor) => [monitor.id, monitor]));
	let n = 0;
	for (const entry of routing.snapshot.pools.values()) {
		const monitor = monitors.get(entry.pool.monitor ?? "");
		if (!monitor) continue;
		for (const origin of entry.origins) {
			const at = addedAt + 1_000 + (n++ % 5_000);
			applyProbeResult(
				routing.healthOf(origin.key),
				{ key: origin.key, ok: true, at, rttMs: 5 + (n % 90), reason: "200" },
				monitor,
			);
			routing.healthySince.set(origin.key, at);
		}
	}
	routing.noteWarming();
	const [first] = routing.snapshot.origins.keys();
	if (first) routing.drains.set(first, { since: now - 5_000, actor: "admin" });
	const keys = [...routing.snapshot.origins.keys()];
	for (const key of [keys[100], keys[5_000]]) {
		if (key) routing.outliers.recordEjection(key, now + 30_000, now);
	}
	const replica: Replica = {
		...routing.toReplica(42, 7, now),
		affinityKeys: [{ secret: randomSecret() }, { secret: randomSecret(), until: now + 3_600_000 }],
	};
	return JSON.stringify(replica);
}

/** The counter objects' side, made before anything is measured (it is not the isolate's memory). */
export interface CounterFakes {
	readonly scope: CounterScope;
	/** Route calls, outcome batches and replicas served (for the report). */
	readonly calls: { route: number; routeMany: number; release: number; replica: number };
}

interface FakeState extends CounterFakes {
	readonly wire: string;
	readonly cores: Map<string, CounterCore>;
	readonly state: number;
}

/**
 * The objects an isolate calls. In the colo and global scopes a core per load balancer's counter
 * object plans, as registry/counter.ts does; in the isolate scope the objects only take outcomes.
 * Replies are structured clones: an RPC never hands the caller the callee's own objects.
 */
export function counterFakes(wire: string, scope: CounterScope): CounterFakes {
	const replica = JSON.parse(wire) as Replica;
	const cores = new Map<string, CounterCore>();
	if (scope !== "isolate") {
		for (let i = 0; i < SHAPE.loadBalancers; i++) {
			const key = counterKeyFor({ name: hostOf(i), counter_scope: scope }, CF.colo);
			const core = new CounterCore(key, toLeasePrefix(key, "bench"));
			core.adopt(JSON.parse(wire) as Replica, Date.now());
			warm(core, hostOf(i));
			cores.set(key, core);
		}
	}
	const fakes: FakeState = {
		scope,
		wire,
		cores,
		state: replica.state,
		calls: { route: 0, routeMany: 0, release: 0, replica: 0 },
	};
	return fakes;
}

/**
 * Plans and releases requests on a fake counter object's core before anything is measured, so the
 * structures it makes on first use (policies, latency averages) are not counted as the isolate's.
 */
function warm(core: CounterCore, hostname: string): void {
	const location = toVisitorLocation(CF, new Headers(), false);
	for (let n = 0; n < 500; n++) {
		const reply = core.route(
			{
				hostname,
				clientIp: `192.0.2.${n % 250}`,
				location,
				colo: CF.colo,
				shardTry: 2,
				headers: { "x-session-id": `s${n}` },
			},
			Date.now(),
		);
		if (isCompactPlan(reply) || !reply.ok || reply.leaseId === undefined) continue;
		const servedBy = (reply.attempts[0] as { key: string }).key;
		core.applyOutcomes(
			[
				{
					leaseId: reply.leaseId,
					servedBy,
					status: 200,
					ttfbMs: 5,
					totalMs: 6,
					attempts: 1,
					retried: false,
					aborted: false,
					colo: CF.colo,
				},
			],
			Date.now(),
		);
	}
}

/**
 * The parts of what an isolate holds, built one at a time so bench/memory.ts can weigh each: the
 * replica as delivered (parsed wire text), its configuration validated, that configuration compiled
 * for routing (the snapshot), a RoutingState that adopted the replica (configuration, snapshot,
 * health, slow starts: what ReplicaCache keeps), and one CounterCore that adopted it (what the
 * isolate scope keeps per load balancer, besides its counters).
 */
export const parts = {
	replica: (wire: string): Replica => JSON.parse(wire) as Replica,
	config: (replica: Replica) => {
		const checked = validateConfig(JSON.parse(replica.configJson as string));
		if (!checked.ok) throw new Error("memory case: the replica's configuration does not validate");
		return checked.config;
	},
	snapshot: (config: Config) => toSnapshot(config, 1),
	routingState: (replica: Replica) => {
		const routing = new RoutingState();
		routing.adoptReplica(replica, Date.now());
		return routing;
	},
	counterCore: (replica: Replica) => {
		const key = counterKeyFor({ name: hostOf(0), counter_scope: "isolate" }, CF.colo);
		const core = new CounterCore(key, toLeasePrefix(key, isolateLeaseInstance("bench")));
		core.adopt(replica, Date.now());
		return core;
	},
};

function fakeEnv(fakes: FakeState): Env {
	const counter = (key: string) => ({
		async route(request: ShardRouteRequest) {
			fakes.calls.route++;
			return structuredClone(coreOf(fakes, key).route(structuredClone(request), Date.now()));
		},
		async routeMany(requests: readonly ShardRouteRequest[]) {
			fakes.calls.routeMany++;
			const core = coreOf(fakes, key);
			return structuredClone(requests.map((request) => core.route(structuredClone(request), Date.now())));
		},
		async release(records: OutcomeRecord[], report?: { isolate: string; inFlight: Record<string, number> }) {
			fakes.calls.release++;
			const core = fakes.cores.get(key);
			if (!core) return { released: records.length, state: fakes.state };
			const now = Date.now();
			core.noteIsolates(structuredClone(records), report && structuredClone(report), now);
			return { released: core.applyOutcomes(structuredClone(records), now), state: fakes.state };
		},
	});
	const hub = {
		async replica(held: { state: number } | null) {
			fakes.calls.replica++;
			return held && held.state === fakes.state ? null : JSON.parse(fakes.wire);
		},
	};
	const authority = {
		async resolve() {
			throw new Error("memory case: every hostname is in the replica");
		},
	};
	return {
		REGISTRY: { getByName: () => authority },
		COUNTERS: { getByName: counter },
		HUBS: { getByName: () => hub },
		ADMIN_HOSTNAMES: "admin.example.com",
	} as unknown as Env;
}

function coreOf(fakes: FakeState, key: string): CounterCore {
	const core = fakes.cores.get(key);
	if (!core) throw new Error(`memory case: no counter object ${key}`);
	return core;
}

/** One Worker isolate, and the traffic that fills its structures. */
export interface IsolateCase {
	readonly isolate: Isolate;
	/** Loads the replica the way a cold isolate's first request does (here: for its affinity keys). */
	load(): Promise<void>;
	/**
	 * `perLb` requests to every load balancer, `concurrency` at a time each (so route calls queue and
	 * share lanes), every outcome reported. Resolves once every response was read; the work each
	 * request left behind (outcome batches, their flushes) may still wait: `settle`.
	 */
	traffic(
		perLb: number,
		concurrency: number,
	): Promise<{ ok: number; failed: number; firstStatus: Record<number, number> }>;
	/** Waits for every waitUntil promise the requests left (batches flushed, replicas checked). */
	settle(): Promise<void>;
	/** Outcome records waiting in batches, and the sizes of the isolate's bounded maps. */
	describe(): Record<string, number>;
}

export function isolateCase(fakesIn: CounterFakes): IsolateCase {
	const fakes = fakesIn as FakeState;
	const isolate = wireIsolate(fakeEnv(fakes));
	const pending = new Set<Promise<unknown>>();
	const waitUntil = (promise: Promise<unknown>) => {
		const tracked = promise.catch(() => {});
		pending.add(tracked);
		tracked.finally(() => pending.delete(tracked));
	};
	const body = new TextEncoder().encode("ok\n");
	const fetcher = (async () =>
		new Response(body, {
			status: 200,
			headers: { "content-type": "text/plain", "content-length": "3" },
		})) as unknown as typeof fetch;
	let sent = 0;

	async function one(lb: number): Promise<number> {
		const n = sent++;
		const headers = new Headers({
			"cf-connecting-ip": `198.51.${(n >> 8) & 255}.${n & 255}`,
			"user-agent": "memory-bench/1",
			accept: "text/html",
			"x-session-id": `session-${n % 500}`,
		});
		const request = new Request(`https://${hostOf(lb)}/page/${n % 50}?q=${n}`, { headers });
		const url = new URL(request.url);
		const colo = toColo(CF, request.headers, false);
		const response = await proxyRequest(
			request,
			isolate.planner.for(waitUntil, (leaseId) => isolate.giveBack([toUnusedLease(leaseId)])),
			fetcher,
			{
				locate: () => toVisitorLocation(CF, request.headers, false),
				colo,
				affinity: { keys: () => isolate.affinityKeys.current(colo), headerCache: isolate.affinityHeaders },
				report: isolate.report,
				url,
				waitUntil,
				retryBudget: isolate.retryBudget,
			},
		);
		await response.arrayBuffer();
		return response.status;
	}

	return {
		isolate,
		async load() {
			await isolate.affinityKeys.current(CF.colo);
		},
		async traffic(perLb, concurrency) {
			const statuses: Record<number, number> = {};
			let ok = 0;
			let failed = 0;
			await Promise.all(
				Array.from({ length: SHAPE.loadBalancers }, async (_, lb) => {
					for (let done = 0; done < perLb; done += concurrency) {
						const batch = Math.min(concurrency, perLb - done);
						const results = await Promise.all(Array.from({ length: batch }, () => one(lb)));
						for (const status of results) {
							statuses[status] = (statuses[status] ?? 0) + 1;
							if (status === 200) ok++;
							else failed++;
						}
					}
				}),
			);
			return { ok, failed, firstStatus: statuses };
		},
		async settle() {
			while (pending.size > 0) await Promise.all([...pending]);
		},
		describe() {
			return { waitUntilPending: pending.size, ...fakes.calls };
		},
	};
}

/** wrangler bundles a Worker: this one only says what it is. */
export default {
	fetch(): Response {
		return new Response("the memory benchmark's subject: imported by bench/memory.ts, not served\n");
	},
};
