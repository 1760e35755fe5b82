/**
 * Issue 22, pure parts: DNS SRV over HTTPS (the query, JSON and wire answers, records into origins
 * with priorities as failover tiers), discovered origins in the snapshot (which pools take them,
 * the configuration winning a name), planning by tier, a registration's checks, and the replica
 * carrying discovered origins to every planner.
 */
import { describe, expect, it } from "vitest";
import type { OriginPolicy } from "../../../src/balancing/policy";
import { roundRobin } from "../../../src/balancing/round-robin";
import { discoverySchema, toRegistrationInput } from "../../../src/config/discovery";
import { validateConfig } from "../../../src/config/validate";
import type { DiscoveredOrigin } from "../../../src/contract/discovery";
import { fromDnsMessage, fromDohJson, toDnsQuery, toDohRequest, toSrvOrigins } from "../../../src/routing/dns-srv";
import { type PlanContext, planRoute } from "../../../src/routing/plan";
import { RoutingState } from "../../../src/routing/routing-state";
import { toSnapshot } from "../../../src/routing/snapshot";
import { aConfig, aLoadBalancer, anOrigin, aPool, aValidConfig } from "../../fixtures/config";

const NAME = "_http._tcp.web.example.com";

function labels(name: string): number[] {
	return name.split(".").flatMap((label) => [label.length, ...new TextEncoder().encode(label)]);
}

/** An SRV answer in wire format: the second record's target points into the first's (compression). */
function wireAnswer(rcode = 0): Uint8Array {
	const question = [...toDnsQuery(NAME, 33).subarray(12)];
	const header = [0, 0, 0x81, 0x80 | rcode, 0, 1, 0, 2, 0, 0, 0, 0];
	const record = (rdata: number[]) => [
		0xc0,
		12,
		0,
		33,
		0,
		1,
		0,
		0,
		0,
		30,
		rdata.length >> 8,
		rdata.length & 0xff,
		...rdata,
	];
	const firstTarget = [...labels("a"), ...labels("web"), ...labels("example"), ...labels("com"), 0];
	const first = record([0, 10, 0, 60, 0x1f, 0x90, ...firstTarget]);
	// Where "web" of the first target sits: header, question, the first record's 12 fixed bytes, 6 of SRV, "a".
	const webAt = header.length + question.length + 12 + 6 + 2;
	const second = record([0, 20, 0, 0, 0x1f, 0x91, ...labels("b"), 0xc0, webAt]);
	return Uint8Array.from([...header, ...question, ...first, ...second]);
}

describe("DNS SRV over HTTPS (routing/dns-srv.ts)", () => {
	it("asks in JSON (?name=&type=SRV) or in wire format (?dns=, base64url, id 0)", () => {
		const json = toDohRequest("https://dns.example/dns-query", NAME, "json");
		expect(json).toEqual({
			url: `https://dns.example/dns-query?name=${NAME}&type=SRV`,
			headers: { accept: "application/dns-json" },
		});
		const wire = toDohRequest("https://dns.example/dns-query", NAME, "wire");
		expect(wire.headers).toEqual({ accept: "application/dns-message" });
		const dns = new URL(wire.url).searchParams.get("dns") as string;
		expect(dns).not.toMatch(/[=+/]/);
		expect([...Buffer.from(dns, "base64url")]).toEqual([...toDnsQuery(NAME, 33)]);
		expect([...toDnsQuery("a.b", 33)]).toEqual([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 1, 98, 0, 0, 33, 0, 1]);
	});

	it("reads a JSON answer's SRV records, leaving out other types and the no-service target", () => {
		expect(
			fromDohJson({
				Status: 0,
				Answer: [
					{ name: NAME, type: 5, data: "alias.example.com." },
					{ name: NAME, type: 33, data: "10 60 8080 A.Example.COM." },
					{ name: NAME, type: 33, data: "10 0 8080 ." },
				],
			}),
		).toEqual([{ priority: 10, weight: 60, port: 8080, target: "a.example.com" }]);
		expect(fromDohJson({ Status: 3 })).toBe("the resolver answered NXDOMAIN");
		expect(fromDohJson({ Status: 0, Answer: [{ type: 33, data: "10 60 x" }] })).toMatch(/priority weight port target/);
		expect(fromDohJson("nope")).toBe("the answer is not a JSON object");
	});

	it("reads a wire answer, compressed names included, and its errors", () => {
		expect(fromDnsMessage(wireAnswer())).toEqual([
			{ priority: 10, weight: 60, port: 8080, target: "a.web.example.com" },
			{ priority: 20, weight: 0, port: 8081, target: "b.web.example.com" },
		]);
		expect(fromDnsMessage(wireAnswer(2))).toBe("the resolver answered SERVFAIL");
		expect(fromDnsMessage(wireAnswer().subarray(0, 60))).toMatch(/past the end|not a DNS message/);
		expect(fromDnsMessage(Uint8Array.of(1, 2))).toBe("the answer is shorter than a DNS header");
	});

	it("turns records into origins: target:port names, SRV weight (0 as 1), one failover tier per priority", () => {
		const origins = toSrvOrigins("web", [
			{ priority: 20, weight: 0, port: 81, target: "c.example" },
			{ priority: 10, weight: 60, port: 80, target: "a.example" },
			{ priority: 10, weight: 30, port: 80, target: "b.example" },
			{ priority: 10, weight: 30, port: 80, target: "b.example" },
			{ priority: 30, weight: 5, port: 82, target: "d.example" },
		]);
		expect(origins).toEqual([
			{ pool: "web", name: "a.example:80", address: "a.example", port: 80, weight: 60, source: "dns" },
			{ pool: "web", name: "b.example:80", address: "b.example", port: 80, weight: 30, source: "dns" },
			{ pool: "web", name: "c.example:81", address: "c.example", port: 81, weight: 1, source: "dns", tier: 1 },
			{ pool: "web", name: "d.example:82", address: "d.example", port: 82, weight: 5, source: "dns", tier: 2 },
		]);
	});
});

const registered = (name: string, pool = "web", extra: Partial<DiscoveredOrigin> = {}): DiscoveredOrigin => ({
	pool,
	name,
	address: `${name}.example.com`,
	weight: 1,
	source: "registration",
	...extra,
});

function discoveryConfig() {
	return aValidConfig(
		aConfig({
			monitors: [],
			pools: [
				aPool("web", [anOrigin("a")], { discovery: { self_registration: true } }),
				aPool("closed", [anOrigin("z")]),
				aPool("dns", [], { discovery: { dns_srv: NAME } }),
			],
			load_balancers: [aLoadBalancer("app.example.com", ["web"], { fallback_pool: "dns" })],
		}),
	);
}

describe("discovered origins in the snapshot", () => {
	it("appends them to the pools whose discovery takes their source; a configured name wins", () => {
		const snapshot = toSnapshot(discoveryConfig(), 3, [
			registered("b", "web", { weight: 4 }),
			registered("a"), // a configured origin has this name
			registered("c", "closed"), // no self_registration
			registered("d", "dns"), // takes DNS, not registrations
			{ pool: "dns", name: "x:80", address: "x.example", port: 80, weight: 2, source: "dns", tier: 1 },
			{ pool: "web", name: "y:80", address: "y.example", port: 80, weight: 1, source: "dns" },
		]);
		const names = (pool: string) => snapshot.pools.get(pool)?.origins.map((origin) => origin.name);
		expect(names("web")).toEqual(["a", "b"]);
		expect(names("closed")).toEqual(["z"]);
		expect(names("dns")).toEqual(["x:80"]);
		// Weights scaled with the pool's others, as configured whole numbers are.
		expect(snapshot.origins.get("web/a")).toMatchObject({ weight: 0.25 });
		expect(snapshot.origins.get("web/b")).toMatchObject({
			weight: 1,
			discovered: "registration",
			address: "b.example.com",
			enabled: true,
		});
		expect(snapshot.origins.get("dns/x:80")).toMatchObject({
			discovered: "dns",
			tier: 1,
			base: { host: "x.example:80" },
		});
		// The document itself is untouched.
		expect(snapshot.config.pools[0]?.origins.map((origin) => origin.name)).toEqual(["a"]);
	});

	it("plans only the lowest failover tier that can serve, the next when it cannot", () => {
		const snapshot = toSnapshot(discoveryConfig(), 1, [
			{ pool: "web", name: "ignored", address: "i.example", weight: 1, source: "dns" },
		]);
		const dns = toSnapshot(
			aValidConfig(
				aConfig({
					monitors: [],
					pools: [aPool("dns", [], { discovery: { dns_srv: NAME } })],
					load_balancers: [aLoadBalancer("app.example.com", ["dns"])],
				}),
			),
			1,
			toSrvOrigins("dns", [
				{ priority: 1, weight: 1, port: 80, target: "p1.example" },
				{ priority: 1, weight: 1, port: 80, target: "p2.example" },
				{ priority: 2, weight: 1, port: 80, target: "f1.example" },
			]),
		);
		expect(snapshot.pools.get("web")?.origins).toHaveLength(1);
		const policy: OriginPolicy = roundRobin();
		const context = (down: string[]): PlanContext => ({
			isHealthy: (key) => !down.includes(key),
			policyFor: () => policy,
			random: () => 0,
		});
		const firsts = (down: string[]) =>
			Array.from({ length: 4 }, () => {
				const plan = planRoute(dns, "app.example.com", context(down));
				if (!plan.ok) throw new Error(plan.detail);
				return plan.attempts.map((attempt) => attempt.origin);
			});
		for (const attempts of firsts([])) expect(attempts.sort()).toEqual(["p1.example:80", "p2.example:80"]);
		for (const attempts of firsts(["dns/p1.example:80"])) expect(attempts).toEqual(["p2.example:80"]);
		for (const attempts of firsts(["dns/p1.example:80", "dns/p2.example:80"]))
			expect(attempts).toEqual(["f1.example:80"]);
	});

	it("travels in the replica: a holder plans the same pools, and a changed set alone is installed again", () => {
		const authority = new RoutingState();
		authority.install(discoveryConfig(), 2);
		authority.installDiscovered([registered("b")], 1_000);
		const holder = new RoutingState();
		holder.adoptReplica(authority.toReplica(10, 0, 1_000), 1_000);
		expect(holder.snapshot.pools.get("web")?.origins.map((origin) => origin.name)).toEqual(["a", "b"]);
		authority.installDiscovered([], 2_000);
		holder.adoptReplica(authority.toReplica(11, 0, 2_000), 2_000);
		expect(holder.snapshot.pools.get("web")?.origins.map((origin) => origin.name)).toEqual(["a"]);
		// Without the configuration (only RTT averages moved), the discovered origins stay as they were.
		authority.installDiscovered([registered("c")], 3_000);
		holder.adoptReplica(authority.toReplica(11, 1, 3_000, false), 3_000);
		expect(holder.snapshot.pools.get("web")?.origins.map((origin) => origin.name)).toEqual(["a"]);
	});
});

describe("the discovery block and a registration's body", () => {
	const discovery = discoverySchema.parse({ self_registration: true, ttl_s: 20 });

	it("fills in defaults and names a bad field", () => {
		expect(discoverySchema.parse({ dns_srv: NAME })).toEqual({
			self_registration: false,
			ttl_s: 30,
			dns_srv: NAME,
			resolver: "https://cloudflare-dns.com/dns-query",
			resolver_format: "json",
			refresh_s: 30,
		});
		const bad = validateConfig(
			aConfig({ pools: [aPool("p", [anOrigin("a")], { discovery: { dns_srv: "web.example.com", refresh_s: 1 } })] }),
		);
		expect(bad.ok).toBe(false);
		if (!bad.ok) {
			expect(bad.errors.map((error) => error.path).sort()).toEqual([
				"pools[0].discovery.dns_srv",
				"pools[0].discovery.refresh_s",
			]);
		}
		const empty = validateConfig(
			aConfig({ pools: [aPool("primary", [], { discovery: { self_registration: true } })] }),
		);
		expect(empty.ok && empty.messages.some((message) => message.includes("no enabled origin"))).toBe(false);
	});

	it("checks a registration: address, port, weight, ttl_s (the pool's when absent), the name", () => {
		expect(toRegistrationInput("web-1", { address: "10.0.0.1", port: 8080 }, discovery)).toEqual({
			ok: true,
			input: { address: "10.0.0.1", port: 8080, weight: 1, ttlS: 20 },
		});
		expect(toRegistrationInput("web-1", { address: "http://h.example:81", ttl_s: 3 }, discovery)).toMatchObject({
			ok: true,
			input: { ttlS: 3 },
		});
		const refused = (name: string, body: unknown) => {
			const result = toRegistrationInput(name, body, discovery);
			return result.ok ? undefined : result.field;
		};
		expect(refused("web-1", {})).toBe("address");
		expect(refused("web-1", { address: "h.example:80" })).toBe("address");
		expect(refused("web-1", { address: "h.example", port: 0 })).toBe("port");
		expect(refused("web-1", { address: "h.example", weight: 1.5 })).toBe("weight");
		expect(refused("web-1", { address: "h.example", ttl_s: 2 })).toBe("ttl_s");
		expect(refused("web-1", { address: "h.example", extra: 1 })).toBe("(body)");
		expect(refused("../x", { address: "h.example" })).toBe("name");
	});
});
