/**
 * The model behind `npm run simulate`: where a load balancer's counter objects live, what the call
 * to one adds to a request in each `counter_scope`, with and without `counter_rtt_budget_ms`, how
 * busy the busiest object is, and how long a new replica takes to reach each holder. Pure: data in,
 * numbers out, no randomness (distributions are mixtures, their percentiles found by bisection).
 * Its assumptions are stated in docs/benchmarks.md, "Simulation of global traffic".
 */

export interface LatLon {
	readonly lat: number;
	readonly lon: number;
}

/** A Cloudflare data center: where requests enter, and whether Durable Objects are created there. */
export interface Site extends LatLon {
	readonly iata: string;
	readonly city: string;
	readonly region: string;
	/** Share of the world's requests that enter here, in percent. */
	readonly percent: number;
	/** Durable Objects are created here (a host); objects for other sites are created at a host. */
	readonly host: boolean;
}

/** A published round trip between two cities. */
export interface ReferencePair {
	readonly a: string;
	readonly b: string;
	readonly from: LatLon;
	readonly to: LatLon;
	readonly rttMs: number;
	readonly source: string;
}

/**
 * RTT(d) = hopOverheadMs + inflation × 2d / fibreKmPerMs between two sites d km apart (great
 * circle); sameSiteMs within one site.
 */
export interface RttModel {
	/** Light in fibre: about 200,000 km/s (refractive index ≈ 1.5), that is 200 km per ms one way. */
	readonly fibreKmPerMs: number;
	/** Fibre routes are longer than the great circle, and packets do not take the shortest one. */
	readonly inflation: number;
	/** Routers, queues and the far end's turnaround on a path between two cities, per round trip. */
	readonly hopOverheadMs: number;
	/** A Worker's call to an object in its own data center (the call itself, in-building). */
	readonly sameSiteMs: number;
}

export const RTT_MODEL: RttModel = { fibreKmPerMs: 200, inflation: 1.4, hopOverheadMs: 5, sameSiteMs: 1 };

/** Each call's delay above its site's base RTT: exponential, mean baseMs + fraction × RTT. */
export interface JitterModel {
	readonly baseMs: number;
	readonly fraction: number;
}

export const JITTER: JitterModel = { baseMs: 0.5, fraction: 0.1 };

/**
 * Switchyard's own numbers the model uses, from the source (a unit test keeps them equal).
 */
export const SWITCHYARD = {
	/** counter_rtt_budget_ms's default (src/config/schema.ts). */
	defaultBudgetMs: 20,
	/** Hubs pushed to per invocation (src/routing/fan-out.ts MAX_CALLS_PER_INVOCATION). */
	pushRound: 48,
	/** Hubs, counter objects and isolate-scope isolates check their replica this often (src/routing/shard-keys.ts REVALIDATE_MS). */
	revalidateMs: 5_000,
	/** Outcomes of requests an isolate planned go in batches this far apart (src/edge/isolate-counters.ts ISOLATE_OUTCOME_DELAY_MS). */
	outcomeBatchMs: 1_000,
	/** Requests one counter object plans a second (../shared/DESIGN.md, "The one rule of the edge"). */
	objectCapacityRps: 1_000,
} as const;

const EARTH_RADIUS_KM = 6371.0088;
const radians = (degrees: number) => (degrees * Math.PI) / 180;

/** Great-circle distance in km (haversine, mean Earth radius). */
export function greatCircleKm(a: LatLon, b: LatLon): number {
	const dLat = radians(b.lat - a.lat);
	const dLon = radians(b.lon - a.lon);
	const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(a.lat)) * Math.cos(radians(b.lat)) * Math.sin(dLon / 2) ** 2;
	return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Modelled RTT between two points `km` apart; 0 km is the same site. */
export function rttMs(km: number, model: RttModel = RTT_MODEL): number {
	if (km === 0) return model.sameSiteMs;
	return model.hopOverheadMs + (model.inflation * 2 * km) / model.fibreKmPerMs;
}

/** Modelled RTT between two sites (the same site: sameSiteMs). */
export function siteRttMs(a: Site, b: Site, model: RttModel = RTT_MODEL): number {
	return a.iata === b.iata ? model.sameSiteMs : rttMs(greatCircleKm(a, b), model);
}

/** Mean delay a call adds above its base RTT. */
export function jitterMeanMs(rtt: number, jitter: JitterModel = JITTER): number {
	return jitter.baseMs + jitter.fraction * rtt;
}

/** The host nearest `site` by great circle (the site itself when it is one); ties go to the first listed. */
export function nearestHost(site: Site, sites: readonly Site[]): Site {
	if (site.host) return site;
	let best: Site | undefined;
	let bestKm = Number.POSITIVE_INFINITY;
	for (const candidate of sites) {
		if (!candidate.host) continue;
		const km = greatCircleKm(site, candidate);
		if (km < bestKm) {
			best = candidate;
			bestKm = km;
		}
	}
	if (!best) throw new Error("no site hosts Durable Objects");
	return best;
}

/** Where an object created by a site's traffic lands: hosts with the probability of each (summing to 1). */
export type Placement = (site: Site) => readonly { readonly host: Site; readonly likelihood: number }[];

/** The model's rule: at the nearest host. */
export function nearestPlacement(sites: readonly Site[]): Placement {
	return (site) => [{ host: nearestHost(site, sites), likelihood: 1 }];
}

/** Measured placement (site → host code → share of objects), normalised per site. */
export function measuredPlacement(
	sites: readonly Site[],
	measured: Readonly<Record<string, Readonly<Record<string, number>>>>,
): Placement {
	const byCode = new Map(sites.map((site) => [site.iata, site]));
	return (site) => {
		const entries = Object.entries(measured[site.iata] ?? {});
		if (entries.length === 0) throw new Error(`no measured placement for ${site.iata}`);
		const total = entries.reduce((sum, [, share]) => sum + share, 0);
		return entries.map(([code, share]) => {
			const host = byCode.get(code);
			if (!host?.host) throw new Error(`${site.iata}'s objects land at ${code}, which is not a listed host`);
			return { host, likelihood: share / total };
		});
	};
}

/** The most likely host of a site's objects. */
export function likeliestHost(site: Site, placement: Placement): Site {
	const hosts = placement(site);
	let best = hosts[0];
	for (const entry of hosts) if (best === undefined || entry.likelihood > best.likelihood) best = entry;
	if (!best) throw new Error(`no host for ${site.iata}`);
	return best.host;
}

/** The site with the largest share (the first listed on a tie). */
export function busiestSite(sites: readonly Site[]): Site {
	const [first, ...rest] = sites;
	if (!first) throw new Error("no sites");
	return rest.reduce((best, site) => (site.percent > best.percent ? site : best), first);
}

// ── Distributions: weighted mixtures, percentiles by bisection ─────────────────────────────────

/** One part of a mixture: a point, a point plus an exponential delay, or a uniform spread. */
export type Component =
	| { readonly weight: number; readonly kind: "point"; readonly at: number }
	| { readonly weight: number; readonly kind: "exponential"; readonly from: number; readonly mean: number }
	| { readonly weight: number; readonly kind: "uniform"; readonly from: number; readonly width: number };

function componentCdf(component: Component, x: number): number {
	switch (component.kind) {
		case "point":
			return x >= component.at ? 1 : 0;
		case "exponential":
			if (x < component.from) return 0;
			return component.mean <= 0 ? 1 : 1 - Math.exp(-(x - component.from) / component.mean);
		case "uniform":
			if (x < component.from) return 0;
			return component.width <= 0 || x >= component.from + component.width ? 1 : (x - component.from) / component.width;
	}
}

const totalWeight = (components: readonly Component[]) => components.reduce((sum, c) => sum + c.weight, 0);

/** P(X ≤ x) for the mixture. */
export function mixtureCdf(components: readonly Component[], x: number): number {
	const total = totalWeight(components);
	if (total <= 0) throw new Error("a mixture needs some weight");
	return components.reduce((sum, c) => sum + c.weight * componentCdf(c, x), 0) / total;
}

const lowest = (c: Component) => (c.kind === "point" ? c.at : c.from);
/** Where a component's mass ends (an exponential's 1 − 1e-12 point). */
const highest = (c: Component) =>
	c.kind === "point" ? c.at : c.kind === "uniform" ? c.from + c.width : c.from + c.mean * 28;

/** The q-quantile (0 < q ≤ 1): the least x with P(X ≤ x) ≥ q, to within 1e-9 of the range. */
export function quantile(components: readonly Component[], q: number): number {
	if (!(q > 0 && q <= 1)) throw new Error(`quantile ${q} is outside (0, 1]`);
	const live = components.filter((c) => c.weight > 0);
	let lo = Math.min(...live.map(lowest));
	let hi = Math.max(...live.map(highest));
	if (mixtureCdf(live, lo) >= q) return lo;
	for (let i = 0; i < 200 && hi - lo > 1e-9 * Math.max(1, hi); i++) {
		const mid = (lo + hi) / 2;
		if (mixtureCdf(live, mid) >= q) hi = mid;
		else lo = mid;
	}
	return hi;
}

export function mixtureMean(components: readonly Component[]): number {
	const mean = (c: Component) =>
		c.kind === "point" ? c.at : c.kind === "exponential" ? c.from + c.mean : c.from + c.width / 2;
	return components.reduce((sum, c) => sum + c.weight * mean(c), 0) / totalWeight(components);
}

/** The largest value the mixture takes with positive weight (exponentials: their base). */
export function mixtureMax(components: readonly Component[]): number {
	return Math.max(
		...components
			.filter((c) => c.weight > 0)
			.map((c) => (c.kind === "point" ? c.at : c.kind === "uniform" ? c.from + c.width : c.from)),
	);
}

// ── The counter call per scope ─────────────────────────────────────────────────────────────────

export type CounterScope = "colo" | "global" | "isolate";

export interface World {
	readonly sites: readonly Site[];
	readonly placement: Placement;
	readonly rtt: RttModel;
	readonly jitter: JitterModel;
}

export interface ScopeOptions {
	readonly scope: CounterScope;
	/** counter_rtt_budget_ms; 0 turns it off. */
	readonly budgetMs: number;
	/** Requests per second entering worldwide. */
	readonly worldRps: number;
	/** The global object's host; default: the likeliest host of the busiest site's objects. */
	readonly globalHost?: Site;
}

/** What the requests of one site (and, for measured placement, one of its hosts) see. */
export interface SiteCall {
	readonly site: Site;
	/** The counter object's host; null in the isolate scope. */
	readonly host: Site | null;
	/** Share of the world's requests (site share × likelihood of this host), 0–1. */
	readonly weight: number;
	/** Base RTT of the call, 0 when none is made. */
	readonly rttMs: number;
	readonly jitterMeanMs: number;
	/** The isolate plans these requests itself (isolate scope, or the average RTT is over budget). */
	readonly local: boolean;
}

/**
 * Per site and host, the counter call of `scope`. Over budget means the isolate's moving average
 * of the round trip (base RTT + mean jitter) exceeds `budgetMs`: those requests are planned in the
 * isolate and add nothing.
 */
export function siteCalls(world: World, options: ScopeOptions): SiteCall[] {
	const global = options.globalHost ?? likeliestHost(busiestSite(world.sites), world.placement);
	const calls: SiteCall[] = [];
	for (const site of world.sites) {
		const share = site.percent / 100;
		if (options.scope === "isolate") {
			calls.push({ site, host: null, weight: share, rttMs: 0, jitterMeanMs: 0, local: true });
			continue;
		}
		const hosts = options.scope === "global" ? [{ host: global, likelihood: 1 }] : world.placement(site);
		for (const { host, likelihood } of hosts) {
			const rtt = siteRttMs(site, host, world.rtt);
			const jitter = jitterMeanMs(rtt, world.jitter);
			const local = options.budgetMs > 0 && rtt + jitter > options.budgetMs;
			calls.push({ site, host, weight: share * likelihood, rttMs: rtt, jitterMeanMs: jitter, local });
		}
	}
	return calls;
}

/** The latency the counter call adds to requests, as a mixture (0 for requests planned locally). */
export function addedLatency(calls: readonly SiteCall[]): Component[] {
	return calls.map((call) =>
		call.local
			? { weight: call.weight, kind: "point", at: 0 }
			: { weight: call.weight, kind: "exponential", from: call.rttMs, mean: call.jitterMeanMs },
	);
}

export interface ScopeResult {
	readonly scope: CounterScope;
	readonly budgetMs: number;
	readonly meanMs: number;
	readonly p50Ms: number;
	readonly p90Ms: number;
	readonly p99Ms: number;
	/** Share of requests the isolate plans itself, 0–1. */
	readonly plannedLocally: number;
	/** Counter objects of one load balancer (in the isolate scope they only hear outcomes). */
	readonly objects: number;
	/** The object with the most route calls on the request path, or null when none has any. */
	readonly busiestObject: string | null;
	/** Requests per second it plans (route calls before sharing). */
	readonly busiestObjectRps: number;
}

/** One scope at `options.worldRps`: added latency, local share, objects and the busiest one's load. */
export function simulateScope(world: World, options: ScopeOptions): ScopeResult {
	const calls = siteCalls(world, options);
	const latency = addedLatency(calls);
	const plannedLocally = calls.filter((call) => call.local).reduce((sum, call) => sum + call.weight, 0);
	// Requests each object plans on the request path, by object name.
	const load = new Map<string, number>();
	for (const call of calls) {
		if (call.local) continue;
		const name = options.scope === "global" ? "lb:<name>" : `lb:<name>@${call.site.iata}`;
		load.set(name, (load.get(name) ?? 0) + call.weight * options.worldRps);
	}
	let busiestObject: string | null = null;
	let busiestObjectRps = 0;
	for (const [name, rps] of load) {
		if (rps > busiestObjectRps) {
			busiestObject = name;
			busiestObjectRps = rps;
		}
	}
	return {
		scope: options.scope,
		budgetMs: options.budgetMs,
		meanMs: mixtureMean(latency),
		p50Ms: quantile(latency, 0.5),
		p90Ms: quantile(latency, 0.9),
		p99Ms: quantile(latency, 0.99),
		plannedLocally,
		objects: options.scope === "global" ? 1 : world.sites.length,
		busiestObject,
		busiestObjectRps,
	};
}

// ── Propagation of a new replica ───────────────────────────────────────────────────────────────

export interface PropagationOptions {
	/** Where the authority (the Registry object) lives. */
	readonly authority: Site;
	/** The global-scope object's host (registered with the hub of the busiest site). */
	readonly globalHost: Site;
	/** Hubs pushed to per invocation; the rest go in later rounds (src/routing/fan-out.ts). */
	readonly perRound: number;
	/** Delay between one round and the next: the authority's alarm set for "now" firing. */
	readonly roundGapMs: number;
	/** Isolates planning by themselves send outcome batches this far apart; the reply carries the state. */
	readonly outcomeBatchMs: number;
	/** Hubs, counter objects and isolate-scope isolates check their replica at most this far apart. */
	readonly revalidateMs: number;
}

export interface PropagationRow {
	readonly target: string;
	readonly meanMs: number;
	readonly p50Ms: number;
	readonly p99Ms: number;
	readonly maxMs: number;
}

/**
 * Time from the authority's state change to each holder having the new replica, weighted by the
 * traffic each holder serves. Pushes: authority → hub (one RTT; hubs in rounds of `perRound`, the
 * busiest sites' hubs first, each later round `roundGapMs` after the one before) → counter objects
 * (one RTT from the hub: the same host). Isolates hear it from the object's next reply (colo and
 * global scope: the reply to the next route call, one RTT; isolate scope: the reply to the next
 * outcome batch, within `outcomeBatchMs`, plus one RTT), and at worst from their own check of the
 * hub within `revalidateMs`.
 */
export function simulatePropagation(world: World, options: PropagationOptions): PropagationRow[] {
	const rtt = (a: Site, b: Site) => siteRttMs(a, b, world.rtt);
	const byShare = [...world.sites].sort((a, b) => b.percent - a.percent);
	const round = new Map(byShare.map((site, i) => [site.iata, Math.floor(i / options.perRound)]));
	const hubAt = (site: Site, host: Site) =>
		(round.get(site.iata) ?? 0) * options.roundGapMs + rtt(options.authority, host);
	const busiest = busiestSite(world.sites);
	const busiestHub = likeliestHost(busiest, world.placement);
	const globalAt = hubAt(busiest, busiestHub) + rtt(busiestHub, options.globalHost);

	const hubs: Component[] = [];
	const objects: Component[] = [];
	const coloIsolates: Component[] = [];
	const globalIsolates: Component[] = [];
	const batchIsolates: Component[] = [];
	const checkingIsolates: Component[] = [];
	for (const site of world.sites) {
		const share = site.percent / 100;
		globalIsolates.push({ weight: share, kind: "point", at: globalAt + rtt(site, options.globalHost) });
		for (const { host, likelihood } of world.placement(site)) {
			const weight = share * likelihood;
			const hub = hubAt(site, host);
			// The hub and the site's counter object were created by the same traffic: the same host.
			const object = hub + world.rtt.sameSiteMs;
			hubs.push({ weight, kind: "point", at: hub });
			objects.push({ weight, kind: "point", at: object });
			coloIsolates.push({ weight, kind: "point", at: object + rtt(site, host) });
			batchIsolates.push({ weight, kind: "uniform", from: object + rtt(site, host), width: options.outcomeBatchMs });
			checkingIsolates.push({ weight, kind: "uniform", from: hub + rtt(site, host), width: options.revalidateMs });
		}
	}
	const row = (target: string, components: readonly Component[]): PropagationRow => ({
		target,
		meanMs: mixtureMean(components),
		p50Ms: quantile(components, 0.5),
		p99Ms: quantile(components, 0.99),
		maxMs: mixtureMax(components),
	});
	return [
		row("hubs colo:<colo>", hubs),
		row("counter objects lb:<name>@<colo>", objects),
		row("global object lb:<name>", [{ weight: 1, kind: "point", at: globalAt }]),
		row("isolates, colo scope (next route reply)", coloIsolates),
		row("isolates, global scope (next route reply)", globalIsolates),
		row("isolates planning locally (next outcome reply)", batchIsolates),
		row("isolates, idle (own check of the hub)", checkingIsolates),
	];
}

// ── The RTT model against published figures ────────────────────────────────────────────────────

/** Least-squares fit of RTT = overhead + inflation × 2d / fibre to the pairs. */
export function fitRttModel(
	pairs: readonly ReferencePair[],
	fibreKmPerMs = RTT_MODEL.fibreKmPerMs,
): { inflation: number; hopOverheadMs: number } {
	if (pairs.length < 2) throw new Error("a fit needs two pairs or more");
	const xs = pairs.map((p) => (2 * greatCircleKm(p.from, p.to)) / fibreKmPerMs);
	const ys = pairs.map((p) => p.rttMs);
	const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
	const mx = mean(xs);
	const my = mean(ys);
	let sxy = 0;
	let sxx = 0;
	xs.forEach((x, i) => {
		sxy += (x - mx) * ((ys[i] as number) - my);
		sxx += (x - mx) ** 2;
	});
	const inflation = sxy / sxx;
	return { inflation, hopOverheadMs: my - inflation * mx };
}

export interface PairCheck {
	readonly pair: ReferencePair;
	readonly km: number;
	readonly modelMs: number;
	/** (model − published) / published. */
	readonly error: number;
}

export function checkPairs(pairs: readonly ReferencePair[], model: RttModel = RTT_MODEL): PairCheck[] {
	return pairs.map((pair) => {
		const km = greatCircleKm(pair.from, pair.to);
		const modelMs = rttMs(km, model);
		return { pair, km, modelMs, error: (modelMs - pair.rttMs) / pair.rttMs };
	});
}
