import { describe, expect, it } from "vitest";
import { isOtherShard } from "../../../src/contract/route";
import {
	AUTHORITY,
	counterKeyFor,
	fromCounterKey,
	groupByShard,
	isDueForRevalidation,
	isForOtherShard,
	isNewerReplica,
	mergeShardCounters,
	REVALIDATE_MS,
	shardKeyFor,
	shardOfLease,
	toLeasePrefix,
	toShardKeys,
} from "../../../src/routing/shard-keys";
import { anOutcome } from "../../fixtures/outcomes";

const aRecord = (leaseId: string) => anOutcome(leaseId);

describe("shardKeyFor", () => {
	it.each([
		["www.example.com", "lb:www.example.com"],
		["*.example.com", "lb:*.example.com"],
		["*", "lb:*"],
	])("gives load balancer %s the shard %s", (name, key) => {
		expect(shardKeyFor(name)).toBe(key);
	});

	it("is one counter object per load balancer in the global scope, one per data center otherwise (issue 12)", () => {
		const global = { name: "www.example.com", counter_scope: "global" as const };
		const colo = { name: "www.example.com", counter_scope: "colo" as const };
		const isolate = { name: "www.example.com", counter_scope: "isolate" as const };
		expect(counterKeyFor(global, "FRA")).toBe(counterKeyFor(global, "SJC"));
		expect(counterKeyFor(global, "FRA")).toBe(shardKeyFor("www.example.com"));
		expect(counterKeyFor(colo, "FRA")).toBe("lb:www.example.com@FRA");
		expect(counterKeyFor(colo, "SJC")).toBe("lb:www.example.com@SJC");
		expect(counterKeyFor(isolate, "FRA")).toBe("lb:www.example.com@FRA");
		expect(shardKeyFor("a.example.com")).not.toBe(shardKeyFor("b.example.com"));
	});

	it.each([
		["lb:www.example.com@FRA", { loadBalancer: "www.example.com", colo: "FRA" }],
		["lb:*@local", { loadBalancer: "*", colo: "local" }],
		["lb:*.example.com", { loadBalancer: "*.example.com", colo: null }],
	])("reads %s back", (key, parts) => {
		expect(fromCounterKey(key)).toEqual(parts);
	});

	it("never names the authority", () => {
		expect(shardKeyFor("global")).not.toBe(AUTHORITY);
	});
});

describe("lease ids", () => {
	it("name the shard that issued them, whatever the load balancer's name", () => {
		for (const name of ["app.test", "*", "*.example.com", "odd~name"]) {
			const key = shardKeyFor(name);
			expect(shardOfLease(`${toLeasePrefix(key, "1a2b3c4d")}-1z`)).toBe(key);
		}
	});

	it("name the right shard when leases of several alternate, one shard a prefix of another's", () => {
		const short = shardKeyFor("app.test");
		const long = `${short}@ams`;
		const leases = [short, long, short, short, long, `${short}@am`, long].map((key, i) => [
			key,
			`${toLeasePrefix(key, "1a2b3c4d")}-${i}`,
		]);
		for (const [key, lease] of leases) expect(shardOfLease(lease as string)).toBe(key);
	});

	it("without a shard go to the authority (issued before shards)", () => {
		expect(shardOfLease("1a2b3c4d-1")).toBe(AUTHORITY);
		expect(shardOfLease(`${toLeasePrefix(AUTHORITY, "1a2b3c4d")}-7`)).toBe(AUTHORITY);
	});

	it("group outcome records per shard, in order, so no release call mixes load balancers", () => {
		const a = toLeasePrefix(shardKeyFor("a.test"), "x");
		const b = toLeasePrefix(shardKeyFor("b.test"), "y");
		const groups = groupByShard([aRecord(`${a}-1`), aRecord(`${b}-1`), aRecord("old-1"), aRecord(`${a}-2`)]);
		expect([...groups].map(([key, records]) => [key, records.map((record) => record.leaseId)])).toEqual([
			["lb:a.test", [`${a}-1`, `${a}-2`]],
			["lb:b.test", [`${b}-1`]],
			[AUTHORITY, ["old-1"]],
		]);
	});
});

const global = (name: string) => ({ name, counter_scope: "global" as const });

describe("isForOtherShard", () => {
	it("sends a first try on when the load balancer's counters live elsewhere", () => {
		expect(isForOtherShard({ hostname: "b.test", shardTry: 1 }, "lb:a.test", global("b.test"))).toBe(true);
		expect(isForOtherShard({ hostname: "a.test", shardTry: 1 }, "lb:a.test", global("a.test"))).toBe(false);
		// The authority keeps no counters: it sends every first try on.
		expect(isForOtherShard({ hostname: "a.test", shardTry: 1 }, AUTHORITY, global("a.test"))).toBe(true);
	});

	it("in the colo scope, sends a first try from another data center on to that data center's object", () => {
		const lb = { name: "a.test", counter_scope: "colo" as const };
		expect(isForOtherShard({ hostname: "a.test", shardTry: 1, colo: "FRA" }, "lb:a.test@FRA", lb)).toBe(false);
		expect(isForOtherShard({ hostname: "a.test", shardTry: 1, colo: "SJC" }, "lb:a.test@FRA", lb)).toBe(true);
		expect(isForOtherShard({ hostname: "a.test", shardTry: 1 }, "lb:a.test@local", lb)).toBe(false);
	});

	it("plans a second try, and requests from Workers that predate shards, wherever they land", () => {
		expect(isForOtherShard({ hostname: "b.test", shardTry: 2 }, "lb:a.test", global("b.test"))).toBe(false);
		expect(isForOtherShard({ hostname: "b.test" }, AUTHORITY, global("b.test"))).toBe(false);
	});

	it("recognises the reply", () => {
		expect(isOtherShard({ ok: false, problem: "other_shard" })).toBe(true);
		expect(isOtherShard({ ok: false, problem: "no_load_balancer" })).toBe(false);
		expect(isOtherShard({ ok: true })).toBe(false);
	});
});

describe("isNewerReplica", () => {
	it.each([
		{ copy: { state: 5, checks: 0 }, held: undefined, newer: true },
		{ copy: { state: 6, checks: 0 }, held: { state: 5, checks: 9 }, newer: true },
		{ copy: { state: 5, checks: 3 }, held: { state: 5, checks: 2 }, newer: true },
		{ copy: { state: 5, checks: 2 }, held: { state: 5, checks: 2 }, newer: false },
		{ copy: { state: 4, checks: 9 }, held: { state: 5, checks: 0 }, newer: false },
	])("$copy over $held: $newer", ({ copy, held, newer }) => {
		expect(isNewerReplica(copy, held)).toBe(newer);
	});
});

describe("isDueForRevalidation", () => {
	it("at most every REVALIDATE_MS", () => {
		expect(isDueForRevalidation(10_000, 10_000 + REVALIDATE_MS - 1)).toBe(false);
		expect(isDueForRevalidation(10_000, 10_000 + REVALIDATE_MS)).toBe(true);
		expect(isDueForRevalidation(0, REVALIDATE_MS)).toBe(true);
	});
});

describe("mergeShardCounters", () => {
	it("adds requests in flight; shows the most failures in a row and the latest ejection", () => {
		const merged = mergeShardCounters([
			{ inFlight: { "p/a": 2, "p/b": 1 }, passiveFailures: { "p/a": 1 }, ejectedUntil: { "p/c": 5_000 } },
			{ inFlight: { "p/a": 3 }, passiveFailures: { "p/a": 2, "p/b": 1 }, ejectedUntil: { "p/c": 9_000 } },
			{ inFlight: {}, passiveFailures: {}, ejectedUntil: {} },
		]);
		expect(merged).toEqual({
			inFlight: { "p/a": 5, "p/b": 1 },
			passiveFailures: { "p/a": 2, "p/b": 1 },
			ejectedUntil: { "p/c": 9_000 },
		});
	});
});

describe("toShardKeys", () => {
	it("lists each load balancer's shard once, with the load balancers it serves", () => {
		expect([...toShardKeys(["a.test", "*", "b.test"])]).toEqual([
			["lb:a.test", ["a.test"]],
			["lb:*", ["*"]],
			["lb:b.test", ["b.test"]],
		]);
	});
});
