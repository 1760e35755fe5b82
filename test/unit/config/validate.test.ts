import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../../src/config/schema";
import { toFieldPath, type ValidationResult, validateConfig } from "../../../src/config/validate";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool } from "../../fixtures/config";

function accepted(result: ValidationResult) {
	if (!result.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result.errors)}`);
	return result;
}

function rejected(result: ValidationResult) {
	if (result.ok) throw new Error("expected the config to be rejected");
	return result;
}

describe("validateConfig: defaults", () => {
	const { config } = accepted(validateConfig(aConfig()));
	const monitor = config.monitors[0];
	const pool = config.pools[0];
	const origin = pool?.origins[0];
	const lb = config.load_balancers[0];

	it.each([
		["monitor type", monitor?.type, "http"],
		["monitor method", monitor?.method, "GET"],
		["monitor path", monitor?.path, "/"],
		["monitor header", monitor?.header, {}],
		["monitor port", monitor?.port, 0],
		["monitor timeout", monitor?.timeout, 5],
		["monitor interval", monitor?.interval, 60],
		["monitor retries", monitor?.retries, 2],
		["monitor expected_codes", monitor?.expected_codes, "200"],
		["monitor expected_body", monitor?.expected_body, ""],
		["monitor follow_redirects", monitor?.follow_redirects, false],
		["monitor consecutive_up", monitor?.consecutive_up, 0],
		["monitor consecutive_down", monitor?.consecutive_down, 0],
		["pool enabled", pool?.enabled, true],
		["pool minimum_origins", pool?.minimum_origins, 1],
		["pool origin_steering", pool?.origin_steering, { policy: "random" }],
		["origin weight", origin?.weight, 1],
		["origin enabled", origin?.enabled, true],
		["lb enabled", lb?.enabled, true],
		["lb steering_policy", lb?.steering_policy, "off"],
		[
			"lb proxy",
			lb?.proxy,
			{
				timeout_ms: 30_000,
				idle_timeout_ms: 300_000,
				retries: 2,
				retry_on: ["connect_failure", "timeout", "502", "503", "504"],
				retry_budget_percent: 20,
				max_retry_body_bytes: 65_536,
				buffer_response_bytes: 65_536,
				trusted_proxies: [],
				debug_headers: false,
				rewrite_redirects: true,
				rewrite_cookie_domain: true,
			},
		],
		[
			"lb outlier_detection",
			lb?.outlier_detection,
			{ consecutive_failures: 5, base_ejection_s: 30, max_ejection_percent: 50 },
		],
		["lb slow_start_s", lb?.slow_start_s, 30],
		["lb session_affinity", lb?.session_affinity, "none"],
		["lb session_affinity_ttl", lb?.session_affinity_ttl, 82_800],
	])("fills %s", (_name, actual, expected) => {
		expect(actual).toEqual(expected);
	});

	it("accepts an empty document", () => {
		expect(accepted(validateConfig({})).config).toEqual({
			monitors: [],
			pools: [],
			load_balancers: [],
			notifications: [],
		});
	});

	it('turns steering_policy "" into "off"', () => {
		const input = aConfig({ load_balancers: [aLoadBalancer("app.example.com", ["primary"], { steering_policy: "" })] });
		expect(accepted(validateConfig(input)).config.load_balancers[0]?.steering_policy).toBe("off");
	});

	it("fills the proxy fields that are missing and keeps the given ones", () => {
		const input = aConfig({
			load_balancers: [aLoadBalancer("app.example.com", ["primary"], { proxy: { timeout_ms: 1500 } })],
		});
		expect(accepted(validateConfig(input)).config.load_balancers[0]?.proxy).toMatchObject({
			timeout_ms: 1500,
			idle_timeout_ms: 300_000,
			retries: 2,
			debug_headers: false,
		});
	});

	it("lower-cases and trims load balancer hostnames", () => {
		const input = aConfig({ load_balancers: [aLoadBalancer("  App.Example.COM ", ["primary"])] });
		expect(accepted(validateConfig(input)).config.load_balancers[0]?.name).toBe("app.example.com");
	});

	it("does not modify its input", () => {
		const input = aConfig();
		const copy = structuredClone(input);
		validateConfig(input);
		expect(input).toEqual(copy);
	});
});

describe("validateConfig: errors name the field", () => {
	const twoOrigins = (second: Parameters<typeof anOrigin>[2] = {}, secondAddress?: string) =>
		aPool("primary", [anOrigin("a"), anOrigin("b", secondAddress, second)]);

	it.each<{ name: string; input: unknown; path: string; message?: RegExp }>([
		{
			name: "fractional weight above 1",
			input: aConfig({ pools: [twoOrigins({ weight: 2.5 })] }),
			path: "pools[0].origins[1].weight",
		},
		{
			name: "negative weight",
			input: aConfig({ pools: [twoOrigins({ weight: -0.1 })] }),
			path: "pools[0].origins[1].weight",
		},
		{
			name: "unknown default pool",
			input: aConfig({ load_balancers: [aLoadBalancer("app.example.com", ["nope", "primary"])] }),
			path: "load_balancers[0].default_pools[0]",
			message: /no pool with id "nope"/,
		},
		{
			name: "unknown second default pool",
			input: aConfig({ load_balancers: [aLoadBalancer("app.example.com", ["primary", "nope"])] }),
			path: "load_balancers[0].default_pools[1]",
			message: /nope/,
		},
		{
			name: "unknown fallback pool",
			input: aConfig({ load_balancers: [aLoadBalancer("app.example.com", ["primary"], { fallback_pool: "gone" })] }),
			path: "load_balancers[0].fallback_pool",
			message: /gone/,
		},
		{
			name: "no default pools",
			input: aConfig({ load_balancers: [aLoadBalancer("app.example.com", [])] }),
			path: "load_balancers[0].default_pools",
		},
		{
			name: "unknown monitor",
			input: aConfig({ pools: [aPool("primary", [anOrigin("a")], { monitor: "missing" })] }),
			path: "pools[0].monitor",
			message: /no monitor with id "missing"/,
		},
		{
			name: "duplicate monitor id",
			input: aConfig({ monitors: [aMonitor("mon"), aMonitor("mon")] }),
			path: "monitors[1].id",
			message: /duplicate monitor id "mon"/,
		},
		{
			name: "duplicate pool id",
			input: aConfig({ pools: [aPool("primary", [anOrigin("a")]), aPool("primary", [anOrigin("b")])] }),
			path: "pools[1].id",
			message: /duplicate pool id "primary"/,
		},
		{
			name: "duplicate origin name in a pool",
			input: aConfig({ pools: [aPool("primary", [anOrigin("a"), anOrigin("a", "other.example.com")])] }),
			path: "pools[0].origins[1].name",
			message: /duplicate origin name "a" in pool "primary"/,
		},
		{
			name: "duplicate load balancer hostname, differing in case",
			input: aConfig({
				load_balancers: [aLoadBalancer("app.example.com", ["primary"]), aLoadBalancer("APP.example.com", ["primary"])],
			}),
			path: "load_balancers[1].name",
			message: /duplicate load balancer hostname "app.example.com"/,
		},
		{
			name: "bad address",
			input: aConfig({ pools: [twoOrigins({}, "not a host")] }),
			path: "pools[0].origins[1].address",
			message: /not a host/,
		},
		{
			name: "URL address with a query",
			input: aConfig({ pools: [twoOrigins({}, "http://example.com/?a=1")] }),
			path: "pools[0].origins[1].address",
			message: /query/,
		},
		{
			// Accepted today as the IPv6 host "[127.0.0.1:8080]", a URL no request can be sent to.
			name: "IPv4 address with the port written inside",
			input: aConfig({ pools: [twoOrigins({}, "127.0.0.1:8080")] }),
			path: "pools[0].origins[1].address",
		},
		{ name: "empty address", input: aConfig({ pools: [twoOrigins({}, "  ")] }), path: "pools[0].origins[1].address" },
		{
			name: "bad expected_codes",
			input: aConfig({ monitors: [aMonitor("mon", { expected_codes: "20x" })] }),
			path: "monitors[0].expected_codes",
		},
		{
			name: "out-of-range expected_codes",
			input: aConfig({ monitors: [aMonitor("mon", { expected_codes: "200,600" })] }),
			path: "monitors[0].expected_codes",
		},
		{
			name: "monitor timeout 0",
			input: aConfig({ monitors: [aMonitor("mon", { timeout: 0 })] }),
			path: "monitors[0].timeout",
		},
		{
			name: "unknown check region",
			input: aConfig({ pools: [aPool("primary", [anOrigin("a")], { check_regions: ["MARS" as "WEU"] })] }),
			path: "pools[0].check_regions[0]",
		},
		{
			name: "load shedding over 100%",
			input: aConfig({ pools: [aPool("primary", [anOrigin("a")], { load_shedding: { default_percent: 101 } })] }),
			path: "pools[0].load_shedding.default_percent",
		},
		{
			name: "session load shedding at random",
			input: aConfig({
				pools: [aPool("primary", [anOrigin("a")], { load_shedding: { session_policy: "random" as "hash" } })],
			}),
			path: "pools[0].load_shedding.session_policy",
		},
		{
			name: "unknown monitor type",
			input: aConfig({ monitors: [aMonitor("mon", { type: "dns" as "http" })] }),
			path: "monitors[0].type",
		},
		{
			name: "an HTTP monitor with TCP's method",
			input: aConfig({ monitors: [aMonitor("mon", { type: "http", method: "connection_established" })] }),
			path: "monitors[0].method",
		},
		{
			name: "unknown origin policy",
			input: aConfig({
				pools: [aPool("primary", [anOrigin("a")], { origin_steering: { policy: "fastest" as "p2c" } })],
			}),
			path: "pools[0].origin_steering.policy",
		},
		{
			name: "unknown pool in region_pools",
			input: aConfig({
				load_balancers: [aLoadBalancer("app.example.com", ["primary"], { region_pools: { WEU: ["nope"] } })],
			}),
			path: "load_balancers[0].region_pools.WEU[0]",
		},
		{
			name: "bad region code",
			input: aConfig({
				load_balancers: [
					aLoadBalancer("app.example.com", ["primary"], {
						region_pools: { EUROPE: ["primary"] } as Record<string, string[]>,
					}),
				],
			}),
			path: "load_balancers[0].region_pools",
			message: /EUROPE/,
		},
		{
			name: "out-of-range outlier threshold",
			input: aConfig({
				load_balancers: [
					aLoadBalancer("app.example.com", ["primary"], { outlier_detection: { max_ejection_percent: 150 } }),
				],
			}),
			path: "load_balancers[0].outlier_detection.max_ejection_percent",
		},
		{
			name: "pool id containing /",
			input: aConfig({ pools: [aPool("eu/west", [anOrigin("a")])] }),
			path: "pools[0].id",
		},
		{
			name: "pool id with a space",
			input: aConfig({ pools: [aPool("eu west", [anOrigin("a")])] }),
			path: "pools[0].id",
		},
		{
			name: "load balancer name that is not a hostname",
			input: aConfig({ load_balancers: [aLoadBalancer("app_example.com/x", ["primary"])] }),
			path: "load_balancers[0].name",
		},
		{
			name: "unknown proxy setting",
			input: aConfig({
				load_balancers: [
					aLoadBalancer("app.example.com", ["primary"], { proxy: { timeout: 5 } as unknown as { timeout_ms: number } }),
				],
			}),
			path: "load_balancers[0].proxy",
		},
		{
			name: "proxy timeout below 100 ms",
			input: aConfig({
				load_balancers: [aLoadBalancer("app.example.com", ["primary"], { proxy: { timeout_ms: 10 } })],
			}),
			path: "load_balancers[0].proxy.timeout_ms",
		},
		{ name: "unknown top-level field", input: { ...aConfig(), pool: [] }, path: "(document)", message: /pool/ },
		{ name: "not an object", input: "config", path: "(document)" },
	])("$name → $path", ({ input, path, message }) => {
		const { errors } = rejected(validateConfig(input));
		const error = errors.find((e) => e.path === path);
		expect(error, `errors were ${JSON.stringify(errors)}`).toBeDefined();
		if (message) expect(error?.message).toMatch(message);
	});

	it("reports every cross-reference error at once", () => {
		const input: ConfigInput = {
			monitors: [],
			pools: [aPool("p", [anOrigin("a"), anOrigin("a")], { monitor: "m" })],
			load_balancers: [aLoadBalancer("x.example.com", ["q"])],
		};
		expect(
			rejected(validateConfig(input))
				.errors.map((e) => e.path)
				.sort(),
		).toEqual(["load_balancers[0].default_pools[0]", "pools[0].monitor", "pools[0].origins[1].name"]);
	});
});

describe("validateConfig: messages", () => {
	const messagesOf = (input: unknown) => accepted(validateConfig(input)).messages;

	it("reports unknown fields and keeps them in the config", () => {
		const input = aConfig({
			monitors: [aMonitor("mon", { colour: "blue" })],
			pools: [aPool("primary", [anOrigin("a", undefined, { rack: 7 })], { monitor: "mon", owner: "team-x" })],
			load_balancers: [aLoadBalancer("app.example.com", ["primary"], { fallback_pool: "primary", tier: "gold" })],
		});
		const result = accepted(validateConfig(input));
		expect(result.messages).toEqual(
			expect.arrayContaining([
				"monitors[0].colour: unknown field; kept, but not acted on",
				"pools[0].owner: unknown field; kept, but not acted on",
				"pools[0].origins[0].rack: unknown field; kept, but not acted on",
				"load_balancers[0].tier: unknown field; kept, but not acted on",
			]),
		);
		expect(result.config.monitors[0]?.colour).toBe("blue");
		expect(result.config.pools[0]?.owner).toBe("team-x");
		expect(result.config.pools[0]?.origins[0]?.rack).toBe(7);
		expect(result.config.load_balancers[0]?.tier).toBe("gold");
	});

	it.each([
		{ field: "location_strategy", value: { prefer_ecs: "always", mode: "resolver_ip" }, at: "load_balancers[0]" },
		// Rules are acted on since issue 20: a rule's DNS-only overrides are what is kept and not acted on.
		{ field: "ttl", value: 30, at: "load_balancers[0].rules[0].overrides" },
		{
			field: "location_strategy",
			value: { prefer_ecs: "never", mode: "pop" },
			at: "load_balancers[0].rules[0].overrides",
		},
	])("says the Cloudflare field $field at $at is kept but not acted on", ({ field, value, at }) => {
		const inRule = at.endsWith("overrides");
		const fields = inRule ? { rules: [{ name: "r1", overrides: { [field]: value } }] } : { [field]: value };
		const input = aConfig({
			load_balancers: [aLoadBalancer("app.example.com", ["primary"], { fallback_pool: "primary", ...fields })],
		});
		const result = accepted(validateConfig(input));
		expect(result.messages).toContain(`${at}.${field}: kept, but not acted on by this version`);
		const lb = result.config.load_balancers[0];
		expect(inRule ? lb?.rules?.[0]?.overrides?.[field] : lb?.[field]).toEqual(value);
	});

	it.each([{ field: "notification_email", value: "ops@example.com" }])(
		"says the pool field $field is kept but not acted on",
		({ field, value }) => {
			const input = aConfig({ pools: [aPool("primary", [anOrigin("a")], { monitor: "mon", [field]: value })] });
			expect(messagesOf(input)).toContain(`pools[0].${field}: kept, but not acted on by this version`);
		},
	);

	it("runs tcp monitors (issue 21): no message", () => {
		const input = aConfig({
			monitors: [aMonitor("mon", { type: "tcp", method: "connection_established", port: 5432 })],
		});
		expect(messagesOf(input).filter((message) => message.startsWith("monitors[0]"))).toEqual([]);
	});

	it("says what a tcp monitor does not use, and that check_regions without a monitor checks nothing", () => {
		const input = aConfig({
			monitors: [aMonitor("mon", { type: "tcp", expected_body: "ok" })],
			pools: [aPool("primary", [anOrigin("a")], { check_regions: ["WEU"] })],
		});
		expect(messagesOf(input)).toEqual(
			expect.arrayContaining([
				"monitors[0]: a tcp monitor only opens a connection; its expected_body and header are kept, not used",
				"pools[0].check_regions: the pool has no monitor, so nothing is checked from these regions",
			]),
		);
	});

	it.each(["udp_icmp", "icmp_ping", "smtp"] as const)("keeps a %s monitor and says it is not run", (type) => {
		const input = aConfig({ monitors: [aMonitor("mon", { type, port: 25 })] });
		const result = accepted(validateConfig(input));
		expect(result.config.monitors[0]?.type).toBe(type);
		expect(result.messages).toContain(
			`monitors[0].type: "${type}" is kept, but not run by this version (it runs http, https, tcp); pools using this monitor are not checked, their origins count as healthy`,
		);
	});

	// Issue 21: acted on now, so not reported.
	it.each([
		{ field: "check_regions", value: ["WEU", "ALL_REGIONS"] },
		{
			field: "load_shedding",
			value: { default_percent: 20, default_policy: "hash", session_percent: 5, session_policy: "hash" },
		},
	])("takes the pool field $field without a message", ({ field, value }) => {
		const input = aConfig({ pools: [aPool("primary", [anOrigin("a")], { monitor: "mon", [field]: value })] });
		expect(messagesOf(input).filter((message) => message.includes(field))).toEqual([]);
	});

	// These Cloudflare fields are in the schema (so they are typed) yet nothing acts on them; the
	// not-yet-acted-on list names them, so the user should be told.
	it.each([
		{
			where: "monitor",
			input: aConfig({ monitors: [aMonitor("mon", { allow_insecure: true })] }),
			at: "monitors[0].allow_insecure",
		},
	])("says the $where field $at is not acted on", ({ input, at }) => {
		expect(messagesOf(input)).toContain(`${at}: kept, but not acted on by this version`);
	});

	it.each([
		{ address: "127.0.0.1", loopback: true },
		{ address: "192.0.2.10", loopback: false },
		{ address: "::1", loopback: true },
	])("warns about the IP address origin $address", ({ address, loopback }) => {
		const input = aConfig({ pools: [aPool("primary", [anOrigin("a", address, { port: 8080 })], { monitor: "mon" })] });
		const message = messagesOf(input).find((m) => m.startsWith("pools[0].origins[0].address:"));
		expect(message).toMatch(/is an IP address; a deployed Worker cannot fetch raw IPs/);
		if (loopback) expect(message).toContain("(fine locally)");
		else expect(message).not.toContain("fine locally");
	});

	it("does not warn about hostname origins", () => {
		expect(messagesOf(aConfig()).filter((m) => m.includes(".address"))).toEqual([]);
	});

	it("warns about a Host header on an origin", () => {
		const input = aConfig({
			pools: [
				aPool("primary", [anOrigin("a", undefined, { header: { Host: ["app.example.com"] } })], { monitor: "mon" }),
			],
		});
		expect(messagesOf(input)).toContainEqual(
			expect.stringMatching(/^pools\[0\]\.origins\[0\]\.header\.Host: not acted on/),
		);
	});

	it.each([
		{ name: "all origins disabled", origins: [anOrigin("a", undefined, { enabled: false })] },
		{ name: "no origins at all", origins: [] },
	])("warns about a pool with no enabled origin ($name)", ({ origins }) => {
		const input = aConfig({ pools: [aPool("primary", origins, { monitor: "mon" })] });
		expect(messagesOf(input)).toContain('pools[0]: pool "primary" has no enabled origin; it is never healthy');
	});

	it("warns about a missing fallback pool, naming the last default pool", () => {
		const input = aConfig({
			pools: [aPool("p1", [anOrigin("a")]), aPool("p2", [anOrigin("b")])],
			load_balancers: [aLoadBalancer("app.example.com", ["p1", "p2"])],
		});
		expect(messagesOf(input)).toContainEqual(
			expect.stringMatching(/^load_balancers\[0\]\.fallback_pool: not set; the last default pool \("p2"\)/),
		);
	});

	it("is silent for a plain, complete config", () => {
		expect(messagesOf(aConfig())).toEqual([]);
	});
});

describe("validateConfig: a Cloudflare export", () => {
	// The shapes GET /zones/:zone/load_balancers and /accounts/:account/load_balancers/{pools,monitors} return.
	const cloudflareExport = {
		monitors: [
			{
				id: "f1aba936b94213e5b8dca0c0dbf1f9cc",
				created_on: "2024-01-01T05:20:00.12345Z",
				modified_on: "2024-01-01T05:20:00.12345Z",
				description: "Login page monitor",
				type: "https",
				method: "GET",
				path: "/health",
				header: { Host: ["example.com"], "X-App-ID": ["abc123"] },
				port: 0,
				timeout: 3,
				retries: 0,
				interval: 90,
				expected_body: "alive",
				expected_codes: "2xx",
				follow_redirects: true,
				allow_insecure: false,
				consecutive_up: 3,
				consecutive_down: 2,
				probe_zone: "example.com",
			},
		],
		pools: [
			{
				id: "17b5962d775c646f3f9725cbc7a53df4",
				created_on: "2024-01-01T05:20:00.12345Z",
				modified_on: "2024-01-01T05:20:00.12345Z",
				description: "Primary data center - Provider XYZ",
				name: "primary-dc-1",
				enabled: true,
				minimum_origins: 2,
				monitor: "f1aba936b94213e5b8dca0c0dbf1f9cc",
				check_regions: ["WEU", "ENAM"],
				notification_email: "someone@example.com,sometwo@example.com",
				notification_filter: { origin: { disable: false, healthy: null }, pool: { disable: false, healthy: null } },
				load_shedding: { default_percent: 0, default_policy: "random", session_percent: 0, session_policy: "hash" },
				origin_steering: { policy: "random" },
				latitude: 0,
				longitude: 0,
				networks: ["cloudflare"],
				origins: [
					{
						name: "app-server-1",
						address: "app1.example.com",
						enabled: true,
						weight: 0.6,
						header: { Host: ["example.com"] },
						virtual_network_id: "a5624d4e-044a-4ff0-b3e1-e2465353d4b4",
					},
					{ name: "app-server-2", address: "app2.example.com", enabled: true, weight: 0.4, port: 8443 },
				],
			},
		],
		load_balancers: [
			{
				id: "699d98642c564d2e855e9661899b7252",
				created_on: "2024-01-01T05:20:00.12345Z",
				modified_on: "2024-01-01T05:20:00.12345Z",
				description: "Load Balancer for www.example.com",
				name: "www.example.com",
				enabled: true,
				ttl: 30,
				fallback_pool: "17b5962d775c646f3f9725cbc7a53df4",
				default_pools: ["17b5962d775c646f3f9725cbc7a53df4"],
				region_pools: { WNAM: ["17b5962d775c646f3f9725cbc7a53df4"] },
				pop_pools: {},
				country_pools: {},
				proxied: true,
				steering_policy: "",
				session_affinity: "none",
				session_affinity_ttl: 5000,
				session_affinity_attributes: { samesite: "Auto", secure: "Auto", drain_duration: 100 },
				adaptive_routing: { failover_across_pools: false },
				location_strategy: { mode: "pop", prefer_ecs: "always" },
				random_steering: { default_weight: 1 },
				rules: [],
				zone_name: "example.com",
			},
		],
	};

	it("validates, keeping Cloudflare's values", () => {
		const { config, messages } = accepted(validateConfig(cloudflareExport));
		expect(config.monitors[0]).toMatchObject({ type: "https", timeout: 3, retries: 0, expected_codes: "2xx" });
		expect(config.pools[0]).toMatchObject({ minimum_origins: 2, created_on: "2024-01-01T05:20:00.12345Z" });
		expect(config.pools[0]?.origins.map((o) => o.weight)).toEqual([0.6, 0.4]);
		expect(config.load_balancers[0]).toMatchObject({ name: "www.example.com", steering_policy: "off", ttl: 30 });
		expect(messages).toEqual(
			expect.arrayContaining([
				"monitors[0].probe_zone: kept, but not acted on by this version",
				"pools[0].notification_filter: kept, but not acted on by this version",
			]),
		);
		// Ids and timestamps are fields of the model (issue 17), not unknown ones.
		expect(messages.filter((message) => /\.(id|created_on|modified_on):/.test(message))).toEqual([]);
	});
});

describe("toFieldPath", () => {
	it.each([
		{ path: [], expected: "(document)" },
		{ path: ["pools"], expected: "pools" },
		{ path: ["pools", 1, "origins", 0, "address"], expected: "pools[1].origins[0].address" },
		{ path: [0, "x"], expected: "[0].x" },
	])("$expected", ({ path, expected }) => {
		expect(toFieldPath(path)).toBe(expected);
	});
});

describe("validateConfig: a document read back", () => {
	it("reports no field as set when it is sent back with the defaults GET /config filled in", () => {
		const first = accepted(validateConfig(aConfig()));
		const again = accepted(validateConfig(JSON.parse(JSON.stringify(first.config))));
		expect(again.messages.filter((message) => message.includes("not acted on"))).toEqual([]);
		expect(again.config).toEqual(first.config);
	});
});

describe("validateConfig: notifications (issue 18)", () => {
	const notification = {
		id: "ops",
		url: "https://hooks.example.com/switchyard",
		secret_name: "ALERT_SECRET",
		events: ["origin_health", "pool_health", "ejection"],
	};
	const withNotifications = (...notifications: unknown[]) =>
		validateConfig({ ...aConfig(), notifications } as unknown as ConfigInput);

	it("accepts one, and defaults to none", () => {
		expect(accepted(withNotifications(notification)).config.notifications).toEqual([notification]);
		expect(accepted(validateConfig(aConfig())).config.notifications).toEqual([]);
	});

	it.each([
		[{ url: "ftp://hooks.example.com/x" }, "notifications[0].url", /http:\/\/ or https:\/\//],
		[{ url: "hooks.example.com" }, "notifications[0].url", /http:\/\/ or https:\/\//],
		[{ events: ["origin_down"] }, "notifications[0].events[0]", /./],
		[{ events: [] }, "notifications[0].events", /at least one event/],
		[{ secret_name: "has-dash" }, "notifications[0].secret_name", /Worker secret/],
		[{ secret: "s3cret" }, "notifications[0]", /./],
	])("%j is refused at %s", (override, path, message) => {
		const { errors } = rejected(withNotifications({ ...notification, ...override }));
		expect(errors).toContainEqual({ path, message: expect.stringMatching(message) });
	});

	it("refuses a duplicate id", () => {
		const { errors } = rejected(withNotifications(notification, { ...notification }));
		expect(errors).toEqual([{ path: "notifications[1].id", message: 'duplicate notification id "ops"' }]);
	});
});
