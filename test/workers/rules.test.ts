/**
 * Issue 20: custom load balancing rules, as Cloudflare's, in the Workers runtime against real
 * origins on loopback. Every override Cloudflare documents for rules changes where a matching
 * request goes (what the origins received, the pool the debug header names, the cookie the client
 * got), a fixed response is answered by the Worker without any registry call, rules layer in
 * priority order until one terminates, and /status counts the matches.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { StatusReport } from "../../src/contract/status";
import { AFFINITY_COOKIE } from "../../src/proxy/affinity";
import { RuleScope } from "../../src/rules/fields";
import { parseMetrics, sumOf } from "../support/prometheus";
import {
	ADMIN,
	admin,
	adminResult,
	counterOf,
	dead,
	type Envelope,
	originUrl,
	putConfig,
	received,
	runCron,
	send,
	setOriginHealthy,
	startClean,
	TOKEN,
} from "./helpers";

beforeEach(startClean);

const FRANKFURT = { colo: "FRA", country: "DE", continent: "EU", latitude: "50.11", longitude: "8.68" };
const API = 'starts_with(http.request.uri.path, "/api")';

let configs = 0;

/**
 * Pools web (origin a, the default), api (b), canary (c), eu (d), spare (e) and dead (nothing
 * listening); load balancer app.test with `rules`. Each configuration is new (its description
 * differs), so its counters start afresh.
 */
function rulesConfig(rules: unknown[], extra: Record<string, unknown> = {}) {
	const pool = (id: string, origin: { name: string; address: string }, monitored = false) => ({
		id,
		name: id,
		...(monitored ? { monitor: "health" } : {}),
		origins: [origin],
	});
	const live = (name: string) => ({ name, address: originUrl(name) });
	return {
		monitors: [{ id: "health", path: "/health", expected_codes: "2xx", retries: 0, timeout: 2 }],
		pools: [
			pool("web", live("a"), true),
			pool("api", live("b")),
			pool("canary", live("c")),
			pool("eu", live("d")),
			pool("spare", live("e")),
			pool("dead", dead()),
		],
		load_balancers: [
			{
				name: "app.test",
				description: `config ${++configs}`,
				default_pools: ["web"],
				fallback_pool: "web",
				proxy: { debug_headers: true, retries: 2 },
				counter_rtt_budget_ms: 0,
				rules,
				...extra,
			},
		],
	};
}

/**
 * Installs the configuration and makes this isolate's replica current: rules run in the Worker,
 * from its replica, which a request's reply refreshes (in its waitUntil, which `send` waits for).
 */
async function install(config: unknown): Promise<void> {
	await putConfig(config);
	const warm = await send("https://app.test/warm-up");
	expect(warm.status).toBe(200);
}

async function poolFor(path: string, init: RequestInit = {}): Promise<string | null> {
	const response = await send(`https://app.test${path}`, init);
	expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
	return response.headers.get("x-switchyard-pool");
}

async function routeCalls(): Promise<number> {
	const counters = await counterOf("app.test").counters();
	return counters.traffic?.routeCalls ?? 0;
}

describe("rule overrides", () => {
	it("default_pools: /api goes to the api pool, the rest to the load balancer's", async () => {
		await install(rulesConfig([{ name: "api", condition: API, overrides: { default_pools: ["api"] } }]));
		expect(await poolFor("/api/users?id=7")).toBe("api");
		expect(await poolFor("/home")).toBe("web");
		expect((await received("b")).map((request) => request.url)).toEqual(["/api/users?id=7"]);
		expect((await received("a")).map((request) => request.url)).toEqual(["/warm-up", "/home"]);
	});

	it("matches on headers and cookies in the Worker", async () => {
		await install(
			rulesConfig([
				{ name: "beta", condition: 'http.cookie contains "beta=1"', overrides: { default_pools: ["canary"] } },
				{
					name: "tenant",
					condition: 'any(lower(http.request.headers["x-tenant"][*]) eq "acme")',
					overrides: { default_pools: ["eu"] },
				},
			]),
		);
		expect(await poolFor("/", { headers: { cookie: "theme=dark; beta=1" } })).toBe("canary");
		expect(await poolFor("/", { headers: { "x-tenant": "ACME" } })).toBe("eu");
		expect(await poolFor("/", { headers: { cookie: "beta=0", "x-tenant": "other" } })).toBe("web");
	});

	it("fallback_pool: when the rule's pools are all down, its fallback takes the request", async () => {
		await install(
			rulesConfig([{ name: "fb", condition: API, overrides: { default_pools: ["web"], fallback_pool: "spare" } }]),
		);
		await setOriginHealthy("a", false);
		await runCron(Date.now());
		expect(await poolFor("/api/x")).toBe("spare");
		expect((await received("e")).map((request) => request.url)).toEqual(["/api/x"]);
	});

	it.each([
		["region_pools", { region_pools: { WEU: ["eu"] } }, "eu"],
		["country_pools", { country_pools: { DE: ["canary"] } }, "canary"],
		["pop_pools", { pop_pools: { FRA: ["spare"] } }, "spare"],
	])("%s with steering_policy geo: a Frankfurt visitor goes where the rule says", async (_field, maps, pool) => {
		await install(rulesConfig([{ name: "geo", condition: API, overrides: { steering_policy: "geo", ...maps } }]));
		expect(await poolFor("/api", { cf: FRANKFURT } as RequestInit)).toBe(pool);
		// The load balancer itself steers "off": its default pool.
		expect(await poolFor("/", { cf: FRANKFURT } as RequestInit)).toBe("web");
	});

	it("steering_policy random with random_steering: the rule's weights pick the pool", async () => {
		await install(
			rulesConfig(
				[
					{
						name: "weights",
						condition: API,
						overrides: {
							steering_policy: "random",
							random_steering: { pool_weights: { api: 1, web: 0 }, default_weight: 0 },
						},
					},
				],
				{ default_pools: ["web", "api"] },
			),
		);
		const pools = new Set<string | null>();
		for (let i = 0; i < 8; i++) pools.add(await poolFor(`/api/${i}`));
		expect([...pools]).toEqual(["api"]);
		expect(await poolFor("/")).toBe("web");
	});

	it("adaptive_routing: with failover_across_pools the request goes on to the next pool", async () => {
		await install(
			rulesConfig([
				{
					name: "failover",
					condition: 'http.request.uri.path eq "/failover"',
					overrides: { default_pools: ["dead", "canary"], adaptive_routing: { failover_across_pools: true } },
				},
				{
					name: "no-failover",
					condition: 'http.request.uri.path eq "/stuck"',
					overrides: { default_pools: ["dead", "canary"] },
				},
			]),
		);
		const served = await send("https://app.test/failover");
		expect(served.status).toBe(200);
		expect(served.headers.get("x-switchyard-origin")).toBe("c");
		const stuck = await send("https://app.test/stuck");
		expect(stuck.status).toBe(502);
		expect((await received("c")).map((request) => request.url)).toEqual(["/failover"]);
	});

	it("session_affinity, session_affinity_ttl and session_affinity_attributes: the rule's cookie", async () => {
		await install(
			rulesConfig([
				{
					name: "sticky",
					condition: API,
					overrides: {
						session_affinity: "cookie",
						session_affinity_ttl: 120,
						session_affinity_attributes: { samesite: "Strict", secure: "Never" },
					},
				},
			]),
		);
		const sticky = await send("https://app.test/api/cart");
		expect(sticky.status).toBe(200);
		const cookie = sticky.headers.get("set-cookie") ?? "";
		expect(cookie).toMatch(new RegExp(`^${AFFINITY_COOKIE}=[^;]+; Path=/; Max-Age=120; HttpOnly; SameSite=Strict$`));
		// The pin holds: the cookie brings the request back to its origin.
		const again = await send("https://app.test/api/cart", { headers: { cookie: cookie.split(";")[0] as string } });
		expect(again.headers.get("x-switchyard-origin")).toBe(sticky.headers.get("x-switchyard-origin"));
		// Without the rule, no affinity: no cookie.
		const plain = await send("https://app.test/home");
		expect(plain.headers.get("set-cookie")).toBeNull();
	});
});

describe("fixed responses", () => {
	it("answers from the Worker, with no registry call and nothing sent to an origin", async () => {
		await install(
			rulesConfig([
				{
					name: "maintenance",
					condition: 'starts_with(http.request.uri.path, "/maintenance")',
					fixed_response: { status_code: 503, content_type: "text/html", message_body: "<h1>Back soon</h1>" },
				},
				{
					name: "moved",
					condition: 'http.request.uri.path eq "/old"',
					fixed_response: { status_code: 301, location: "https://new.example.com/" },
				},
			]),
		);
		const callsBefore = await routeCalls();
		const maintenance = await send("https://app.test/maintenance/page");
		expect(maintenance.status).toBe(503);
		expect(maintenance.headers.get("content-type")).toBe("text/html");
		expect(await maintenance.text()).toBe("<h1>Back soon</h1>");
		const moved = await send("https://app.test/old", { redirect: "manual" });
		expect(moved.status).toBe(301);
		expect(moved.headers.get("location")).toBe("https://new.example.com/");
		expect(await routeCalls()).toBe(callsBefore);
		expect((await received("a")).map((request) => request.url)).toEqual(["/warm-up"]);
	});

	it("answers 200 when the status code is 0 or absent, with a text body", async () => {
		await install(
			rulesConfig([{ name: "hello", condition: API, fixed_response: { status_code: 0, message_body: "hi" } }]),
		);
		const response = await send("https://app.test/api");
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
		expect(await response.text()).toBe("hi");
	});
});

describe("order, layering and counting", () => {
	it("layers later overrides on earlier ones in priority order, until a rule terminates", async () => {
		const rules = (terminates: boolean) => [
			{ name: "later", condition: API, priority: 2, overrides: { default_pools: ["api"] } },
			{ name: "earlier", condition: API, priority: 1, terminates, overrides: { default_pools: ["canary"] } },
		];
		await install(rulesConfig(rules(false)));
		expect(await poolFor("/api")).toBe("api");
		await install(rulesConfig(rules(true)));
		expect(await poolFor("/api")).toBe("canary");
	});

	it("skips disabled rules", async () => {
		await install(rulesConfig([{ name: "off", condition: API, disabled: true, fixed_response: { status_code: 503 } }]));
		expect(await poolFor("/api")).toBe("web");
	});

	it("/status says which rules matched how often, fixed responses included", async () => {
		await install(
			rulesConfig([
				{ name: "api", condition: API, overrides: { default_pools: ["api"] } },
				{ name: "tagged", condition: 'http.request.uri.query contains "tag"', overrides: {} },
				{ name: "down", condition: 'http.request.uri.path eq "/down"', fixed_response: { status_code: 503 } },
				{ name: "never", condition: 'http.request.method eq "PURGE"' },
			]),
		);
		for (const path of ["/api/1", "/api/2?tag=x", "/down", "/down", "/down", "/other"])
			await send(`https://app.test${path}`);
		const status = await adminResult<StatusReport>("/status");
		expect(status.load_balancers[0]?.rules).toEqual([
			{ name: "api", disabled: false, matched: 2 },
			{ name: "tagged", disabled: false, matched: 1 },
			{ name: "down", disabled: false, matched: 3 },
			{ name: "never", disabled: false, matched: 0 },
		]);
		// And GET /_lb/metrics, per rule and data center.
		const metrics = await send(`${ADMIN}/_lb/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
		const families = parseMetrics(await metrics.text());
		const matches = (rule: string) =>
			sumOf(families, "switchyard_rule_matches_total", { load_balancer: "app.test", rule });
		expect([matches("api"), matches("tagged"), matches("down"), matches("never")]).toEqual([2, 1, 3, 0]);
	});

	it("applies in the isolate scope too, where the isolate plans by itself", async () => {
		await install(
			rulesConfig([{ name: "api", condition: API, overrides: { default_pools: ["api"] } }], {
				counter_scope: "isolate",
			}),
		);
		const callsBefore = await routeCalls();
		expect(await poolFor("/api/x")).toBe("api");
		expect(await poolFor("/x")).toBe("web");
		expect(await routeCalls()).toBe(callsBefore);
	});
});

describe("a rule that throws (review of issue 20)", () => {
	it("counts as no rule matched: the request is balanced as without rules, and the failure is logged once", async () => {
		await install(
			rulesConfig([
				{
					name: "names",
					condition: 'any(http.request.headers.names[*] eq "x-beta")',
					overrides: { default_pools: ["canary"] },
				},
				{ name: "api", condition: API, overrides: { default_pools: ["api"] } },
			]),
		);
		const headers = vi.spyOn(RuleScope.prototype, "headers").mockImplementation(() => {
			throw new TypeError("a rule failed");
		});
		const logged = vi.spyOn(console, "error").mockImplementation(() => {});
		try {
			expect(await poolFor("/home", { headers: { "x-beta": "1" } })).toBe("web");
			expect(await poolFor("/api/x", { headers: { "x-beta": "1" } })).toBe("web");
			expect(headers).toHaveBeenCalledTimes(2);
			const failures = logged.mock.calls.filter((call) => String(call[0]).includes("treated as no rule matched"));
			expect(failures).toHaveLength(1);
			expect(String(failures[0]?.[0])).toContain("rules of app.test: evaluation failed");
		} finally {
			headers.mockRestore();
			logged.mockRestore();
		}
		// The rules work again once they stop throwing.
		expect(await poolFor("/home", { headers: { "x-beta": "1" } })).toBe("canary");
	});
});

describe("validation through the admin API", () => {
	it("refuses a condition that does not parse with a 400 naming the rule, the field and the character", async () => {
		const response = await admin(
			"PUT",
			"/config",
			rulesConfig([
				{ name: "ok", condition: API },
				{ name: "api", condition: "http.request.method eq GET" },
			]),
		);
		expect(response.status).toBe(400);
		const body = (await response.json()) as Envelope;
		expect(body.success).toBe(false);
		expect(body.errors).toEqual([
			expect.objectContaining({
				field: "load_balancers[0].rules[1].condition",
				message: expect.stringContaining(
					'rule "api": expected a value (a "string", an integer or an IP address), found "GET", at character 24',
				),
			}),
		]);
	});
});
