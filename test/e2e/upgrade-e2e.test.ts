/**
 * Upgrade: today's code starts on a local state folder written by the commit before the "house"
 * redesign (525cd87), and keeps its configuration, health, drains and events.
 *
 * Guards issue 11: the house redesign (the registry Durable Object split into the authority
 * `Registry` and a counter class) must not lose stored state. Miniflare keys local Durable Object
 * storage by class name: the files live in v3/do/<worker name>-<class name>/, each named by a hash
 * of the object's name keyed by that same "<worker name>-<class name>", so a renamed class would start
 * empty. The authority therefore keeps the class name `Registry`, its binding `REGISTRY` and its
 * object name "global".
 *
 * The fixture (test/fixtures/state-before-house/, README there) was written by
 * scripts/make-upgrade-fixture.ts on that commit: origins alpha, bravo (drained) and charlie
 * (failing its /health, so marked down) on fixed loopback ports, which this test uses again. It is
 * copied to a temporary folder first: workerd writes to the files it opens.
 *
 * The assertions read the stored state right after start. The registry's alarm (stored with the
 * state; the monitor's interval is 5 s) may still check the origins first, so they answer as they
 * did: charlie keeps failing its /health, and such a check changes nothing (no transition, no new
 * event, the same reason and changed_at); alpha and bravo keep passing.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall, adminResult } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const FIXTURE_STATE = fileURLToPath(new URL("../fixtures/state-before-house/state", import.meta.url));
/** The token the fixture was written with (its events name the actor "admin:f99b38d9"). */
const TOKEN = "upgrade-fixture-token";
/** The ports the fixture's configuration names (scripts/make-upgrade-fixture.ts). */
const ORIGIN_PORTS = { alpha: 29101, bravo: 29102, charlie: 29103 } as const;
const CHARLIE_FAILURE = "status 503, expected 200";

/** What the commit before the redesign showed, as recorded in the fixture's README. */
const RECORDED_ETAG = '"1"';
const RECORDED_CONFIG = {
	monitors: [
		{
			id: "m",
			type: "http",
			method: "GET",
			path: "/health",
			header: {},
			port: 0,
			timeout: 2,
			interval: 5,
			retries: 0,
			expected_codes: "200",
			expected_body: "",
			follow_redirects: false,
			allow_insecure: false,
			consecutive_up: 2,
			consecutive_down: 1,
		},
	],
	pools: [
		{
			id: "trio",
			name: "trio",
			enabled: true,
			minimum_origins: 1,
			monitor: "m",
			origin_steering: {
				policy: "round_robin",
			},
			origins: [
				{
					name: "alpha",
					address: "http://127.0.0.1:29101",
					enabled: true,
					weight: 1,
				},
				{
					name: "bravo",
					address: "http://127.0.0.1:29102",
					enabled: true,
					weight: 1,
				},
				{
					name: "charlie",
					address: "http://127.0.0.1:29103",
					enabled: true,
					weight: 1,
				},
			],
		},
	],
	load_balancers: [
		{
			name: "localhost",
			enabled: true,
			default_pools: ["trio"],
			region_pools: {},
			country_pools: {},
			pop_pools: {},
			steering_policy: "off",
			session_affinity: "none",
			session_affinity_ttl: 82800,
			session_affinity_attributes: {
				samesite: "Auto",
				secure: "Auto",
				drain_duration: 0,
				zero_downtime_failover: "none",
				headers: [],
				require_all_headers: false,
			},
			proxy: {
				timeout_ms: 30000,
				idle_timeout_ms: 300000,
				retries: 2,
				retry_on: ["connect_failure", "timeout", "502", "503", "504"],
				retry_budget_percent: 20,
				max_retry_body_bytes: 65536,
				buffer_response_bytes: 65536,
				trusted_proxies: [],
				debug_headers: false,
			},
			outlier_detection: {
				consecutive_failures: 5,
				base_ejection_s: 30,
				max_ejection_percent: 50,
			},
			slow_start_s: 30,
		},
	],
};
const RECORDED_EVENTS = [
	{
		type: "health",
		at: "2026-12-07T11:48:33.390Z",
		pool: "trio",
		origin: "charlie",
		healthy: false,
		reason: "status 503, expected 200",
	},
	{
		type: "config",
		at: "2026-12-07T11:48:29.305Z",
		actor: "admin:f99b38d9",
		action: 'drained origin "bravo" in pool "trio"',
		version: 1,
		changes: [],
	},
	{
		type: "config",
		at: "2026-12-07T11:48:29.248Z",
		actor: "admin:f99b38d9",
		action: "replaced the configuration",
		version: 1,
		changes: [
			{
				kind: "monitor",
				id: "m",
				change: "added",
			},
			{
				kind: "pool",
				id: "trio",
				change: "added",
			},
			{
				kind: "load_balancer",
				id: "localhost",
				change: "added",
			},
		],
	},
];
const BRAVO_DRAINED_AT = "2026-12-07T11:48:29.305Z";
const CHARLIE_DOWN_AT = "2026-12-07T11:48:33.390Z";

let stateDir: string | undefined;
const origins: Partial<Record<keyof typeof ORIGIN_PORTS, OriginServer>> = {};
let wrangler: WranglerDev | undefined;

/**
 * Fields the version before issue 17 kept as unknown ones on a load balancer (its schema took extra
 * fields) and today's schema refuses: written into the copy's stored load balancer, they must be
 * repaired on load (a new id, the timestamp given again, the zone_id dropped), not leave the
 * registry empty.
 */
const KEPT_BY_OLD_VERSION = { id: "web", created_on: 3, zone_id: "" };

/** Adds KEPT_BY_OLD_VERSION to the stored load balancer of the copied state, as if a client had sent them then. */
function addOldUnknownFields(state: string): void {
	const dir = join(state, "v3/do/switchyard-Registry");
	for (const file of readdirSync(dir).filter((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite")) {
		const db = new DatabaseSync(join(dir, file));
		try {
			const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'load_balancers'").get();
			if (!hasTable) continue;
			const rows = db.prepare("SELECT name, doc FROM load_balancers").all() as { name: string; doc: string }[];
			expect(rows.map((row) => row.name)).toEqual(["localhost"]);
			for (const row of rows) {
				const doc = { ...JSON.parse(row.doc), ...KEPT_BY_OLD_VERSION };
				db.prepare("UPDATE load_balancers SET doc = ? WHERE name = ?").run(JSON.stringify(doc), row.name);
			}
			return;
		} finally {
			db.close();
		}
	}
	throw new Error(`no stored load balancers under ${dir}`);
}

beforeAll(async () => {
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-upgrade-"));
	cpSync(FIXTURE_STATE, stateDir, { recursive: true });
	addOldUnknownFields(stateDir);
	for (const [name, port] of Object.entries(ORIGIN_PORTS)) {
		origins[name as keyof typeof ORIGIN_PORTS] = await startOrigin({ name, port });
	}
	origins.charlie?.setHealthy(false);
	wrangler = await startWranglerDev({ port: await freePort(), vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all(Object.values(origins).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function api(path: string) {
	return adminResult<unknown>(`${wrangler?.url}`, TOKEN, path);
}

interface OriginStatus {
	name: string;
	healthy: boolean;
	draining: boolean;
	draining_since: string | null;
	last_check: string | null;
	last_error: string | null;
	changed_at: string | null;
}

describe("upgrade from the state of the commit before the house redesign", () => {
	it("/status: charlie still down for its stored reason, bravo still draining, alpha healthy", async () => {
		const status = (await api("/status")) as { version: number; pools: { id: string; origins: OriginStatus[] }[] };
		expect(status.version).toBe(1);
		expect(status.pools.map((pool) => pool.id)).toEqual(["trio"]);
		const byName = Object.fromEntries((status.pools[0]?.origins ?? []).map((origin) => [origin.name, origin]));
		expect(Object.keys(byName)).toEqual(["alpha", "bravo", "charlie"]);
		expect(byName.alpha).toMatchObject({
			healthy: true,
			draining: false,
			draining_since: null,
			last_error: null,
			changed_at: null,
		});
		expect(byName.bravo).toMatchObject({
			healthy: true,
			draining: true,
			draining_since: BRAVO_DRAINED_AT,
			last_error: null,
			changed_at: null,
		});
		expect(byName.charlie).toMatchObject({
			healthy: false,
			draining: false,
			draining_since: null,
			last_check: CHARLIE_FAILURE,
			last_error: CHARLIE_FAILURE,
			changed_at: CHARLIE_DOWN_AT,
		});
	});

	it("GET /config: the same document and the same version (ETag)", async () => {
		const response = await adminCall(`${wrangler?.url}`, TOKEN, "GET", "/config");
		expect(response.status).toBe(200);
		expect(response.headers.get("etag")).toBe(RECORDED_ETAG);
		// Fields added since, with their defaults, filled in on load (issue 12: counter_scope; issue 16:
		// counter_rtt_budget_ms; issue 14:
		// the proxy's redirect and cookie-domain rewriting; issue 18: analytics_sample_rate).
		const addedSince = { counter_scope: "colo", counter_rtt_budget_ms: 20, analytics_sample_rate: 1 };
		const proxyAddedSince = { rewrite_redirects: true, rewrite_cookie_domain: true };
		// Issue 17: a load balancer id (32 hex) and created_on / modified_on on every object, given once
		// on load and stored at the same version; the test compares the rest.
		const result = ((await response.json()) as { result: Record<string, Record<string, unknown>[]> }).result;
		const stamped = Object.values(result).flat();
		const loadedAt = stamped[0]?.created_on;
		expect(loadedAt).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
		for (const item of stamped) expect(item).toMatchObject({ created_on: loadedAt, modified_on: loadedAt });
		// The id "web", created_on 3 and zone_id "" the old version kept (KEPT_BY_OLD_VERSION) were
		// repaired: a new id, created_on given again (above), no zone_id (the comparison below).
		for (const lb of result.load_balancers ?? []) expect(lb.id).toMatch(/^[0-9a-f]{32}$/);
		const strip = ({ id: _id, created_on: _c, modified_on: _m, ...rest }: Record<string, unknown>) => rest;
		const withoutRegistryFields = {
			monitors: (result.monitors ?? []).map(({ created_on: _c, modified_on: _m, ...rest }) => rest),
			pools: (result.pools ?? []).map(({ created_on: _c, modified_on: _m, ...rest }) => rest),
			load_balancers: (result.load_balancers ?? []).map(strip),
		};
		expect(withoutRegistryFields).toEqual({
			...RECORDED_CONFIG,
			load_balancers: RECORDED_CONFIG.load_balancers.map((lb) => ({
				...lb,
				...addedSince,
				proxy: { ...lb.proxy, ...proxyAddedSince },
			})),
		});
	});

	it("/events: the same config and health events, and no others", async () => {
		expect(await api("/events")).toEqual(RECORDED_EVENTS);
	});

	it("a proxied request goes to alpha, the one origin healthy and not drained", async () => {
		const response = await fetch(`${wrangler?.url.replace("127.0.0.1", "localhost")}/after-upgrade`);
		await response.arrayBuffer();
		expect(response.status).toBe(200);
		expect(response.headers.get("x-origin-name")).toBe("alpha");
		for (const name of ["bravo", "charlie"] as const) {
			expect(origins[name]?.received.filter((request) => request.url === "/after-upgrade")).toEqual([]);
		}
	});
});
