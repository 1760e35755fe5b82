/**
 * The dashboard's DOM, rebuilt from each read. Every name from the configuration (hostnames, pool
 * and origin names, addresses, reasons) goes into the page as a text node or an attribute value,
 * never as markup: an origin named `<img src=x onerror=…>` shows as those characters.
 */
import type { DashboardData } from "../../contract/dashboard";
import type { OriginStatus, PoolStatus } from "../../contract/status";
import {
	describeEvent,
	formatLatency,
	formatRate,
	formatShare,
	type OriginTraffic,
	toConditions,
	toHealth,
	toOriginKey,
	toRegionViews,
} from "./model";

type Child = Node | string | null | undefined | false;

/** An element with attributes (set as values, never parsed) and children (strings become text nodes). */
export function el(tag: string, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElement {
	const element = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
	for (const child of children) {
		if (child === null || child === undefined || child === false) continue;
		element.append(typeof child === "string" ? document.createTextNode(child) : child);
	}
	return element;
}

export interface OriginAction {
	readonly action: "drain" | "enable";
	readonly pool: string;
	readonly origin: string;
}

export interface RenderOptions {
	readonly data: DashboardData;
	readonly rates: ReadonlyMap<string, OriginTraffic>;
	readonly nowMs: number;
	/** Called when an admin presses Drain or Enable. */
	readonly act: (action: OriginAction) => void;
}

function badge(state: string, text: string, title = ""): HTMLElement {
	return el("span", { class: `badge ${state}`, "data-state": state, ...(title ? { title } : {}) }, text);
}

function originRow(pool: PoolStatus, origin: OriginStatus, options: RenderOptions): HTMLElement {
	const key = toOriginKey(pool.id, origin.name);
	const health = toHealth(origin);
	const conditions = toConditions(origin, options.nowMs);
	const traffic = options.rates.get(key);
	const lastBoundS = options.data.duration_buckets_s.at(-1) ?? 10;
	const button = (action: OriginAction["action"], label: string) => {
		const control = el("button", { type: "button", class: action, "data-action": action }, label);
		control.addEventListener("click", () => options.act({ action, pool: pool.id, origin: origin.name }));
		return control;
	};
	return el(
		"tr",
		{ class: "origin", "data-origin": key, "data-health": health.state },
		el("td", { class: "name" }, origin.name),
		el("td", { class: "address" }, origin.address),
		el(
			"td",
			{ class: "health" },
			badge(health.state, health.state),
			el("span", { class: "reason" }, health.reason),
			...toRegionViews(origin).map((view) =>
				el(
					"span",
					{ class: "region", "data-region": view.region, "data-healthy": String(view.healthy), title: view.reason },
					`${view.region} ${view.healthy ? "up" : "down"}`,
				),
			),
		),
		el("td", { class: "conditions" }, conditions.join(", ")),
		el("td", { class: "num in-flight" }, String(origin.in_flight)),
		el("td", { class: "num rps" }, traffic ? formatRate(traffic.requestsPerS) : "–"),
		el("td", { class: "num p50" }, formatLatency(traffic?.p50Ms ?? null, lastBoundS)),
		el("td", { class: "num p99" }, formatLatency(traffic?.p99Ms ?? null, lastBoundS)),
		el("td", { class: "num errors" }, formatShare(traffic?.errorRate ?? null)),
		options.data.role === "admin"
			? el("td", { class: "actions" }, origin.draining ? button("enable", "Enable") : button("drain", "Drain"))
			: null,
	);
}

function poolSection(pool: PoolStatus, options: RenderOptions): HTMLElement {
	const admin = options.data.role === "admin";
	const headers = ["Origin", "Address", "Health", "State", "In flight", "Req/s", "p50", "p99", "Errors"];
	if (admin) headers.push("");
	return el(
		"section",
		{ class: "pool", "data-pool": pool.id },
		el(
			"h2",
			{},
			pool.name,
			pool.name !== pool.id ? el("span", { class: "id" }, ` (${pool.id})`) : null,
			" ",
			badge(pool.healthy ? "healthy" : "unhealthy", pool.healthy ? "healthy" : "unhealthy"),
			pool.enabled ? null : badge("disabled", "disabled"),
		),
		el(
			"p",
			{ class: "meta" },
			`monitor: ${pool.monitor ?? "none"}`,
			pool.rtt_ewma_ms === null ? null : ` · health-check RTT ${pool.rtt_ewma_ms.toFixed(1)} ms`,
			pool.regions ? ` · checked from ${Object.keys(pool.regions).sort().join(", ")}` : null,
			pool.load_shedding
				? ` · sheds ${pool.load_shedding.default_percent}% of new requests (${pool.load_shedding.default_policy}), ${pool.load_shedding.session_percent}% of sessions; ${pool.shed} shed so far`
				: null,
		),
		el(
			"table",
			{},
			el(
				"thead",
				{},
				el("tr", {}, ...headers.map((header, i) => el("th", i >= 4 && i <= 8 ? { class: "num" } : {}, header))),
			),
			el("tbody", {}, ...pool.origins.map((origin) => originRow(pool, origin, options))),
		),
	);
}

/** "api 12 · maintenance 0 (disabled)", or "none". */
function describeRules(rules: DashboardData["load_balancers"][number]["rules"]): string {
	if (!rules || rules.length === 0) return "none";
	return rules.map((rule) => `${rule.name} ${rule.matched}${rule.disabled ? " (disabled)" : ""}`).join(" · ");
}

function loadBalancers(data: DashboardData): HTMLElement {
	return el(
		"section",
		{ id: "load-balancers" },
		el("h2", {}, "Load balancers"),
		el(
			"table",
			{},
			el(
				"thead",
				{},
				el(
					"tr",
					{},
					el("th", {}, "Hostname"),
					el("th", {}, "Pools"),
					el("th", {}, "Fallback"),
					el("th", {}, "Rules matched"),
				),
			),
			el(
				"tbody",
				{},
				...data.load_balancers.map((lb) =>
					el(
						"tr",
						{ "data-load-balancer": lb.name },
						el("td", {}, lb.name, lb.enabled ? null : badge("disabled", "disabled")),
						el("td", {}, lb.default_pools.join(", ")),
						el("td", {}, lb.fallback_pool),
						el("td", { class: "rules" }, describeRules(lb.rules)),
					),
				),
			),
		),
	);
}

function events(data: DashboardData): HTMLElement {
	return el(
		"section",
		{ id: "events" },
		el("h2", {}, "Latest events"),
		data.events.length === 0
			? el("p", { class: "meta" }, "none yet")
			: el(
					"ol",
					{},
					...data.events.map((event) =>
						el(
							"li",
							{ "data-type": event.type },
							el("time", { datetime: event.at }, event.at.replace("T", " ").slice(0, 19)),
							" ",
							describeEvent(event),
						),
					),
				),
	);
}

/** The whole view of one read. */
export function renderDashboard(options: RenderOptions): HTMLElement {
	const { data } = options;
	const warnings = [
		...(data.load_errors ?? []).map((error) => `configuration not loaded: ${error}`),
		...data.unanswered.map(({ name, error }) => `${name} did not answer (its requests are missing): ${error}`),
	];
	return el(
		"div",
		{ id: "view" },
		warnings.length > 0 ? el("ul", { class: "warnings" }, ...warnings.map((warning) => el("li", {}, warning))) : null,
		loadBalancers(data),
		el("div", { id: "pools" }, ...data.pools.map((pool) => poolSection(pool, options))),
		events(data),
	);
}
