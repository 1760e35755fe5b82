import { describe, expect, it } from "vitest";
import {
	findLoadBalancer,
	MAX_REMEMBERED_HOSTS,
	poolOfKey,
	toOriginKey,
	toRenewedOrigins,
	toSnapshot,
} from "../../../src/routing/snapshot";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool, aSnapshot, aValidConfig } from "../../fixtures/config";

describe("toSnapshot", () => {
	const snapshot = aSnapshot(
		aConfig({
			monitors: [aMonitor("mon", { path: "/health" })],
			pools: [
				aPool(
					"web",
					[
						anOrigin("a", "http://127.0.0.1:9001/api/"),
						anOrigin("b", "b.example.com", { port: 8080, weight: 0.5, enabled: false }),
					],
					{
						monitor: "mon",
					},
				),
				aPool("bare", [anOrigin("c")]),
			],
			load_balancers: [aLoadBalancer("app.example.com", ["web"], { fallback_pool: "bare" })],
		}),
		7,
	);

	it("keeps the version", () => {
		expect(snapshot.version).toBe(7);
	});

	it("compiles origins with keys and parsed addresses", () => {
		expect(snapshot.pools.get("web")?.origins).toEqual([
			{
				key: "web/a",
				pool: "web",
				name: "a",
				base: { protocol: "http:", host: "127.0.0.1:9001", hostname: "127.0.0.1", pathPrefix: "/api" },
				enabled: true,
				weight: 1,
				identity: JSON.stringify(["http://127.0.0.1:9001/api/", 0, "mon"]),
			},
			{
				key: "web/b",
				pool: "web",
				name: "b",
				base: { protocol: undefined, host: "b.example.com:8080", hostname: "b.example.com", pathPrefix: "" },
				enabled: false,
				weight: 0.5,
				identity: JSON.stringify(["b.example.com", 8080, "mon"]),
			},
		]);
	});

	it("gives an origin a new identity when its address, port or pool's monitor changes, not its weight (issue 14, item 1)", () => {
		const build = (origin: Partial<Parameters<typeof anOrigin>[2]>, monitor = "mon") =>
			toSnapshot(
				aValidConfig({
					monitors: [aMonitor("mon"), aMonitor("other")],
					pools: [aPool("web", [anOrigin("a", "a.example.com", origin)], { monitor })],
					load_balancers: [aLoadBalancer("app.example.com", ["web"])],
				}),
				1,
			);
		const before = build({});
		expect(toRenewedOrigins(before, build({ weight: 0.5, enabled: false }))).toEqual([]);
		expect(toRenewedOrigins(before, build({ address: "b.example.com" }))).toEqual(["web/a"]);
		expect(toRenewedOrigins(before, build({ port: 8443 }))).toEqual(["web/a"]);
		expect(toRenewedOrigins(before, build({}, "other"))).toEqual(["web/a"]);
	});

	it("attaches each pool's monitor", () => {
		expect(snapshot.pools.get("web")?.monitor?.path).toBe("/health");
		expect(snapshot.pools.get("bare")?.monitor).toBeUndefined();
	});

	it("indexes load balancers by hostname", () => {
		expect([...snapshot.loadBalancers.keys()]).toEqual(["app.example.com"]);
	});
});

describe("origin keys", () => {
	it.each([
		{ pool: "p", origin: "a", key: "p/a" },
		{ pool: "eu-west", origin: "name/with/slashes", key: "eu-west/name/with/slashes" },
	])("$pool + $origin ↔ $key", ({ pool, origin, key }) => {
		expect(toOriginKey(pool, origin)).toBe(key);
		expect(poolOfKey(key)).toBe(pool);
	});
});

describe("findLoadBalancer", () => {
	const names = ["app.example.com", "*.example.com", "*.b.example.com", "*"];
	const snapshot = aSnapshot(
		aConfig({
			pools: [aPool("p", [anOrigin("a")])],
			load_balancers: names.map((name) => aLoadBalancer(name, ["p"])),
		}),
	);
	const withoutCatchAll = aSnapshot(
		aConfig({
			pools: [aPool("p", [anOrigin("a")])],
			load_balancers: names.filter((name) => name !== "*").map((name) => aLoadBalancer(name, ["p"])),
		}),
	);

	it.each([
		{ host: "app.example.com", expected: "app.example.com", why: "exact" },
		{ host: "APP.Example.COM", expected: "app.example.com", why: "case-insensitive" },
		{ host: "app.example.com.", expected: "app.example.com", why: "trailing dot" },
		{ host: "x.example.com", expected: "*.example.com", why: "wildcard" },
		{ host: "X.EXAMPLE.COM.", expected: "*.example.com", why: "wildcard, case and trailing dot" },
		{ host: "x.y.example.com", expected: "*.example.com", why: "wildcard over several labels" },
		{ host: "b.example.com", expected: "*.example.com", why: "*.b.example.com does not answer b.example.com" },
		{ host: "a.b.example.com", expected: "*.b.example.com", why: "most specific wildcard" },
		{ host: "z.a.b.example.com", expected: "*.b.example.com", why: "most specific wildcard, deeper" },
		{ host: "example.com", expected: "*", why: "a wildcard does not answer its apex" },
		{ host: "other.org", expected: "*", why: "catch-all" },
		{ host: "localhost", expected: "*", why: "catch-all for a single label" },
	])("$host → $expected ($why)", ({ host, expected }) => {
		expect(findLoadBalancer(snapshot, host)?.name).toBe(expected);
	});

	it.each(["other.org", "example.com", "localhost"])("finds nothing for %s without a catch-all", (host) => {
		expect(findLoadBalancer(withoutCatchAll, host)).toBeUndefined();
	});

	it("an exact name beats a wildcard listed before it", () => {
		const reordered = aSnapshot(
			aConfig({
				pools: [aPool("p", [anOrigin("a")])],
				load_balancers: [
					aLoadBalancer("*", ["p"]),
					aLoadBalancer("*.example.com", ["p"]),
					aLoadBalancer("app.example.com", ["p"]),
				],
			}),
		);
		expect(findLoadBalancer(reordered, "app.example.com")?.name).toBe("app.example.com");
	});

	it("answers the same when asked again, and remembers a bounded number of hostnames", () => {
		const fresh = aSnapshot(
			aConfig({
				pools: [aPool("p", [anOrigin("a")])],
				load_balancers: ["app.example.com", "*.example.com"].map((name) => aLoadBalancer(name, ["p"])),
			}),
		);
		for (let round = 0; round < 2; round++) {
			expect(findLoadBalancer(fresh, "APP.example.com")?.name).toBe("app.example.com");
			expect(findLoadBalancer(fresh, "x.example.com")?.name).toBe("*.example.com");
			expect(findLoadBalancer(fresh, "other.org")).toBeUndefined();
		}
		// Junk hostnames (anyone can send any Host) never grow the memory past its bound.
		for (let i = 0; i < 3 * MAX_REMEMBERED_HOSTS; i++) findLoadBalancer(fresh, `junk-${i}.org`);
		expect(fresh.hostLookups.size).toBeLessThanOrEqual(MAX_REMEMBERED_HOSTS);
		expect(findLoadBalancer(fresh, "x.example.com")?.name).toBe("*.example.com");
	});
});

describe("findLoadBalancer's memo of hostnames (issue 14, item 3)", () => {
	const wildcard = () =>
		aSnapshot(
			aConfig({
				pools: [aPool("p", [anOrigin("a")])],
				load_balancers: ["app.example.com", "*.example.com"].map((name) => aLoadBalancer(name, ["p"])),
			}),
		);

	it("stays within its bound under many subdomains of a wildcard, and answers a forgotten one again", () => {
		const snapshot = wildcard();
		for (let i = 0; i < 20 * MAX_REMEMBERED_HOSTS; i++) {
			expect(findLoadBalancer(snapshot, `tenant-${i}.example.com`)?.name).toBe("*.example.com");
		}
		expect(snapshot.hostLookups.size).toBe(MAX_REMEMBERED_HOSTS);
		expect(snapshot.hostLookups.has("tenant-0.example.com")).toBe(false);
		expect(findLoadBalancer(snapshot, "tenant-0.example.com")?.name).toBe("*.example.com");
		expect(findLoadBalancer(snapshot, "app.example.com")?.name).toBe("app.example.com");
	});

	it("keeps a hostname in steady use through a flood of others (it forgets the least recently used)", () => {
		const snapshot = wildcard();
		findLoadBalancer(snapshot, "app.example.com");
		for (let i = 0; i < 10 * MAX_REMEMBERED_HOSTS; i++) {
			findLoadBalancer(snapshot, `junk-${i}.org`);
			if (i % 100 === 0) findLoadBalancer(snapshot, "app.example.com");
		}
		expect(snapshot.hostLookups.has("app.example.com")).toBe(true);
		expect(snapshot.hostLookups.size).toBeLessThanOrEqual(MAX_REMEMBERED_HOSTS);
	});
});
