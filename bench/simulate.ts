/**
 * `npm run simulate`: a model of global traffic (issue 16, item 1), not a measurement. For each
 * `counter_scope`, with and without `counter_rtt_budget_ms`, what the counter call adds to a
 * request (traffic-weighted over 57 data centers), how many requests the busiest counter object
 * plans at 50,000 requests/s worldwide, how many objects a load balancer has, and how long a new
 * replica takes to reach hubs, objects and isolates. The model and its sources: bench/simulate/
 * and docs/benchmarks.md, "Simulation of global traffic".
 *
 *   node bench/simulate.ts [--rps 50000] [--budget 20] [--detail] [--json]
 */
import { parseArgs } from "node:util";
import { table } from "./report.ts";
import {
	busiestSite,
	type CounterScope,
	checkPairs,
	fitRttModel,
	greatCircleKm,
	JITTER,
	likeliestHost,
	measuredPlacement,
	nearestHost,
	nearestPlacement,
	type Placement,
	type PropagationOptions,
	RTT_MODEL,
	type ScopeResult,
	type Site,
	SWITCHYARD,
	simulatePropagation,
	simulateScope,
	siteCalls,
	siteRttMs,
	type World,
} from "./simulate/model.ts";
import { MEASURED_HOSTS, REFERENCE_PAIRS, SITES } from "./simulate/sites.ts";

const {
	objectCapacityRps: OBJECT_CAPACITY_RPS,
	pushRound: PUSH_ROUND,
	revalidateMs: REVALIDATE_MS,
	outcomeBatchMs: OUTCOME_BATCH_MS,
} = SWITCHYARD;
/** ASSUMPTION: an alarm set for "now" fires this long after the invocation that set it. */
const ROUND_GAP_MS = 50;
/** Cloudflare's data centers, for the push rounds at full size. */
const CLOUDFLARE_SITES = 330;
/** Where the global object might have been created, for the sensitivity table. */
const GLOBAL_HOSTS = ["IAD", "LAX", "LHR", "FRA", "SIN", "NRT", "SYD"];

const { values } = parseArgs({
	options: {
		rps: { type: "string", default: "50000" },
		budget: { type: "string", default: String(SWITCHYARD.defaultBudgetMs) },
		detail: { type: "boolean", default: false },
		json: { type: "boolean", default: false },
	},
});
const worldRps = Number(values.rps);
const budgetMs = Number(values.budget);
if (!(worldRps > 0) || !(budgetMs > 0)) {
	process.stderr.write("--rps and --budget take positive numbers\n");
	process.exit(2);
}

const site = (code: string): Site => {
	const found = SITES.find((s) => s.iata === code);
	if (!found) throw new Error(`unknown site ${code}`);
	return found;
};
const world = (placement: Placement): World => ({ sites: SITES, placement, rtt: RTT_MODEL, jitter: JITTER });
const nearest = world(nearestPlacement(SITES));
const measured = world(measuredPlacement(SITES, MEASURED_HOSTS));
const busiest = busiestSite(SITES);

const ms = (value: number) => (value < 0.05 ? "0" : value < 10 ? value.toFixed(1) : value.toFixed(0));
const pct = (share: number) => `${(share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0)}%`;
const int = (value: number) => Math.round(value).toLocaleString("en-US");
const right =
	(...columns: number[]) =>
	(column: number) =>
		columns.includes(column);

function scopes(w: World): ScopeResult[] {
	const results: ScopeResult[] = [];
	for (const scope of ["colo", "global"] as CounterScope[]) {
		for (const budget of [0, budgetMs]) results.push(simulateScope(w, { scope, budgetMs: budget, worldRps }));
	}
	results.push(simulateScope(w, { scope: "isolate", budgetMs: 0, worldRps }));
	return results;
}

function scopeTable(results: readonly ScopeResult[], w: World): string {
	const globalHost = likeliestHost(busiest, w.placement).iata;
	return table(
		[
			"scope",
			"budget",
			"mean ms",
			"p50 ms",
			"p90 ms",
			"p99 ms",
			"planned locally",
			"objects",
			"busiest object",
			"its req/s",
			`÷ ${int(OBJECT_CAPACITY_RPS)}/s`,
		],
		results.map((r) => [
			r.scope === "global" ? `global (at ${globalHost})` : r.scope,
			r.scope === "isolate" ? "—" : r.budgetMs === 0 ? "off" : `${r.budgetMs} ms`,
			ms(r.meanMs),
			ms(r.p50Ms),
			ms(r.p90Ms),
			ms(r.p99Ms),
			pct(r.plannedLocally),
			r.scope === "isolate" ? `${r.objects} (outcomes only)` : String(r.objects),
			r.busiestObject ?? "none on the path",
			int(r.busiestObjectRps),
			(r.busiestObjectRps / OBJECT_CAPACITY_RPS).toFixed(1),
		]),
		right(2, 3, 4, 5, 6, 7, 9, 10),
	);
}

function fitSection(): string {
	const checks = checkPairs(REFERENCE_PAIRS);
	const lines = checks.map((c) => [
		`${c.pair.a} – ${c.pair.b}`,
		int(c.km),
		ms(c.pair.rttMs),
		ms(c.modelMs),
		`${c.error >= 0 ? "+" : ""}${(c.error * 100).toFixed(0)}%`,
		c.pair.source,
	]);
	const sources = [...new Set(REFERENCE_PAIRS.map((p) => p.source))];
	const summary = sources.map((source) => {
		const own = checks.filter((c) => c.pair.source === source);
		const meanError = own.reduce((sum, c) => sum + Math.abs(c.error), 0) / own.length;
		const fit = fitRttModel(own.map((c) => c.pair));
		return `${source}: mean |error| ${(meanError * 100).toFixed(0)}%; least squares on these alone: inflation ${fit.inflation.toFixed(2)}, overhead ${fit.hopOverheadMs.toFixed(1)} ms`;
	});
	return `${table(["pair", "km", "published ms", "model ms", "error", "source"], lines, right(1, 2, 3, 4))}\n${summary.join("\n")}`;
}

function regionTable(): string {
	const regions = [...new Set(SITES.map((s) => s.region))];
	const colo = siteCalls(nearest, { scope: "colo", budgetMs, worldRps });
	const global = siteCalls(nearest, { scope: "global", budgetMs, worldRps });
	const lines = regions.map((region) => {
		const share = SITES.filter((s) => s.region === region).reduce((sum, s) => sum + s.percent / 100, 0);
		const stats = (calls: typeof colo) => {
			const own = calls.filter((c) => c.site.region === region);
			const weight = own.reduce((sum, c) => sum + c.weight, 0);
			return {
				rtt: own.reduce((sum, c) => sum + c.weight * c.rttMs, 0) / weight,
				local: own.filter((c) => c.local).reduce((sum, c) => sum + c.weight, 0) / weight,
			};
		};
		const c = stats(colo);
		const g = stats(global);
		return [region, pct(share), ms(c.rtt), pct(c.local), ms(g.rtt), pct(g.local)];
	});
	return table(
		[
			"region",
			"traffic",
			"colo: mean RTT ms",
			`colo: over ${budgetMs} ms`,
			`global (at ${nearestHost(busiest, SITES).iata}): mean RTT ms`,
			`global: over ${budgetMs} ms`,
		],
		lines,
		right(1, 2, 3, 4, 5),
	);
}

function globalPlacementTable(): string {
	const lines = GLOBAL_HOSTS.map((code) => {
		const host = site(code);
		const off = simulateScope(nearest, { scope: "global", budgetMs: 0, worldRps, globalHost: host });
		const on = simulateScope(nearest, { scope: "global", budgetMs, worldRps, globalHost: host });
		return [code, ms(off.p50Ms), ms(off.p99Ms), pct(on.plannedLocally), int(on.busiestObjectRps)];
	});
	return table(
		["global object at", "p50 ms", "p99 ms", `planned locally at ${budgetMs} ms`, "its req/s then"],
		lines,
		right(1, 2, 3, 4),
	);
}

const propagationOptions = (w: World): PropagationOptions => ({
	authority: likeliestHost(busiest, w.placement),
	globalHost: likeliestHost(busiest, w.placement),
	perRound: PUSH_ROUND,
	roundGapMs: ROUND_GAP_MS,
	outcomeBatchMs: OUTCOME_BATCH_MS,
	revalidateMs: REVALIDATE_MS,
});

function propagationTable(w: World): string {
	const rows = simulatePropagation(w, propagationOptions(w));
	return table(
		["replica reaches", "mean ms", "p50 ms", "p99 ms", "max ms"],
		rows.map((r) => [r.target, ms(r.meanMs), ms(r.p50Ms), ms(r.p99Ms), ms(r.maxMs)]),
		right(1, 2, 3, 4),
	);
}

function detailTable(): string {
	const lines = SITES.map((s) => {
		const host = nearestHost(s, SITES);
		const rtt = siteRttMs(s, host, RTT_MODEL);
		const over = rtt + JITTER.baseMs + JITTER.fraction * rtt > budgetMs;
		const landed = Object.entries(MEASURED_HOSTS[s.iata] ?? {})
			.map(([code, share]) => `${code} ${share.toFixed(2)}`)
			.join(", ");
		return [
			s.iata,
			s.city,
			s.region,
			`${s.percent.toFixed(1)}%`,
			s.host ? "yes" : "",
			host.iata,
			int(host === s ? 0 : greatCircleKm(s, host)),
			ms(rtt),
			over ? "local" : "",
			landed,
		];
	});
	return table(
		[
			"site",
			"city",
			"region",
			"share",
			"host",
			"nearest host",
			"km",
			"RTT ms",
			`at ${budgetMs} ms`,
			"measured: objects landed at",
		],
		lines,
		right(3, 6, 7),
	);
}

const header = [
	'Simulation of global traffic: a model, not a measurement (docs/benchmarks.md, "Simulation of global traffic")',
	`${SITES.length} data centers, ${SITES.filter((s) => s.host).length} of them hosting Durable Objects; ${int(worldRps)} requests/s worldwide; budget ${budgetMs} ms`,
	`RTT = ${RTT_MODEL.hopOverheadMs} ms + ${RTT_MODEL.inflation} × 2 × great-circle km / ${RTT_MODEL.fibreKmPerMs} km/ms (same site: ${RTT_MODEL.sameSiteMs} ms); each call adds an exponential delay of mean ${JITTER.baseMs} ms + ${JITTER.fraction * 100}% of its RTT`,
	`global scope: the object lives at the host of the busiest data center (${busiest.iata}, ${busiest.percent}%); authority likewise`,
].join("\n");

const cloudRounds = Math.ceil(CLOUDFLARE_SITES / PUSH_ROUND);
const footer = [
	`A lost push: the hub checks with the authority within ${REVALIDATE_MS / 1000} s, its counter objects with it within ${REVALIDATE_MS / 1000} s more: ≤ ${(2 * REVALIDATE_MS) / 1000} s plus round trips.`,
	`Rounds: ${Math.ceil(SITES.length / PUSH_ROUND)} here (${SITES.length} hubs, ${PUSH_ROUND} a round, ${ROUND_GAP_MS} ms apart, an assumption); at Cloudflare's ~${CLOUDFLARE_SITES} data centers ${cloudRounds}, the last starting ≈ ${(cloudRounds - 1) * ROUND_GAP_MS} ms after the first.`,
].join("\n");

if (values.json) {
	const output = {
		model: {
			rtt: RTT_MODEL,
			jitter: JITTER,
			worldRps,
			budgetMs,
			sites: SITES.length,
			hosts: SITES.filter((s) => s.host).length,
		},
		fit: checkPairs(REFERENCE_PAIRS).map((c) => ({ ...c.pair, km: c.km, modelMs: c.modelMs, error: c.error })),
		nearest: scopes(nearest),
		measured: scopes(measured),
		propagation: {
			nearest: simulatePropagation(nearest, propagationOptions(nearest)),
			measured: simulatePropagation(measured, propagationOptions(measured)),
		},
	};
	process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
} else {
	const sections = [
		header,
		`RTT model against published round trips\n${fitSection()}`,
		`Counter call per request, objects at the nearest host (the model)\n${scopeTable(scopes(nearest), nearest)}`,
		`The same, objects where where.durableobjects.live saw them land (2026-01-04)\n${scopeTable(scopes(measured), measured)}`,
		`By region, objects at the nearest host\n${regionTable()}`,
		`Where the global object was created, objects at the nearest host\n${globalPlacementTable()}`,
		`Propagation of a new replica, objects at the nearest host (authority at ${nearestHost(busiest, SITES).iata})\n${propagationTable(nearest)}`,
		`The same, objects where they were measured to land\n${propagationTable(measured)}\n${footer}`,
	];
	if (values.detail) sections.push(`Data centers\n${detailTable()}`);
	process.stdout.write(`${sections.join("\n\n")}\n`);
}
