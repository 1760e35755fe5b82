/**
 * The contract every origin-steering policy keeps, run by each policy's test file in one line
 * (Hono's `runTest({ newRouter })` style): `runPolicyContract({ name: "p2c", make: p2c, loadAware: true })`.
 * It also runs the policy through the real `planRoute`, so the filters in front of it (disabled,
 * weight 0, unhealthy, draining) are covered for every policy.
 */
import { describe, expect, it } from "vitest";
import type { Candidate, OriginPolicy, PickContext } from "../../../src/balancing/policy";
import { planRoute } from "../../../src/routing/plan";
import { aConfig, aLoadBalancer, anOrigin, aPool, aSnapshot } from "../../fixtures/config";

export interface PolicyContract {
	/** The policy's `name`. */
	readonly name: string;
	/** A fresh instance, with its own counters. */
	readonly make: () => OriginPolicy;
	/** Whether the policy reads `inFlight`: a much busier candidate must then never be preferred. */
	readonly loadAware?: boolean;
}

/** A deterministic `random` (mulberry32): the same seed gives the same values in [0, 1). */
export function seeded(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) | 0;
		let t = Math.imul(state ^ (state >>> 15), 1 | state);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const c = (key: string, weight = 1): Candidate => ({ key, weight });

/** Enough picks for every policy to reach each of a few equal candidates. */
const PICKS = 300;

/** Contexts a policy must cope with; `i` varies per pick. */
const CONTEXTS: { name: string; make: (random: () => number) => (i: number) => PickContext }[] = [
	{ name: "only random", make: (random) => () => ({ random }) },
	{
		name: "idle counters and a varying hash key",
		make: (random) => (i) => ({
			random,
			inFlight: () => 0,
			latencyMs: () => undefined,
			hashKey: `203.0.113.${i % 256}/${i}`,
			now: 1_700_000_000_000 + i,
		}),
	},
	{
		name: "equal measured latency",
		make: (random) => () => ({ random, inFlight: () => 0, latencyMs: () => 25 }),
	},
];

export function runPolicyContract({ name, make, loadAware = false }: PolicyContract): void {
	describe(`${name}: policy contract`, () => {
		it(`is named ${name}`, () => {
			expect(make().name).toBe(name);
		});

		it.each(CONTEXTS)("returns undefined for no candidates ($name)", ({ make: ctxFor }) => {
			expect(make().pick([], ctxFor(seeded(1))(0))).toBeUndefined();
		});

		it.each(CONTEXTS)("picks the only candidate ($name)", ({ make: ctxFor }) => {
			const policy = make();
			const only = { key: "pool/only", weight: 0.3, extra: true };
			const ctx = ctxFor(seeded(2));
			for (let i = 0; i < 5; i++) expect(policy.pick([only], ctx(i))).toBe(only);
		});

		it.each([{ weights: [1, 1, 1] }, { weights: [1, 0.2, 0.2] }, { weights: [0.01, 1, 0.5, 0.25] }])(
			"only ever returns one of the candidates it was given (weights $weights)",
			({ weights }) => {
				const candidates = weights.map((weight, at) => ({ key: `pool/o${at}`, weight }));
				for (const { make: ctxFor } of CONTEXTS) {
					const policy = make();
					const ctx = ctxFor(seeded(3));
					for (let i = 0; i < PICKS; i++) expect(candidates).toContain(policy.pick(candidates, ctx(i)));
				}
			},
		);

		it.each(CONTEXTS)(`picks every one of equal, idle candidates within ${PICKS} picks ($name)`, ({ make: ctxFor }) => {
			const candidates = [c("pool/a"), c("pool/b"), c("pool/c")];
			const policy = make();
			const ctx = ctxFor(seeded(4));
			const seen = new Set<string | undefined>();
			for (let i = 0; i < PICKS; i++) seen.add(policy.pick(candidates, ctx(i))?.key);
			expect([...seen].sort()).toEqual(["pool/a", "pool/b", "pool/c"]);
		});

		it("does not throw without counters, with odd random values or odd weights", () => {
			const policy = make();
			const odd = [0, 0.5, 1 - Number.EPSILON, 1, Number.NaN, -1];
			const sets = [[c("a")], [c("a"), c("b", 0.5)], [c("a", 1e-9), c("b", 1e6)], [c("a", 0), c("b", Number.NaN)]];
			for (const value of odd) {
				for (const candidates of sets) {
					const picked = policy.pick(candidates, { random: () => value });
					if (picked !== undefined) expect(candidates).toContain(picked);
				}
			}
		});

		if (loadAware) {
			it.each([
				{ name: "two candidates", keys: ["busy", "idle"] },
				{ name: "three candidates", keys: ["idle1", "busy", "idle2"] },
				{ name: "five candidates", keys: ["a", "b", "busy", "c", "d"] },
			])("never prefers a candidate with far more requests in flight ($name)", ({ keys }) => {
				const candidates = keys.map((key) => c(key));
				const inFlight = (key: string) => (key === "busy" ? 100 : 1);
				for (const latencyMs of [undefined, () => 20]) {
					const policy = make();
					const random = seeded(5);
					for (let i = 0; i < PICKS; i++) {
						const picked = policy.pick(candidates, { random, inFlight, latencyMs, hashKey: undefined });
						expect(picked?.key).not.toBe("busy");
					}
				}
			});
		}

		describe("through planRoute", () => {
			const HOST = "app.example.com";
			const snapshot = aSnapshot(
				aConfig({
					pools: [
						aPool("primary", [
							anOrigin("ok1"),
							anOrigin("disabled", undefined, { enabled: false }),
							anOrigin("zero", undefined, { weight: 0 }),
							anOrigin("sick"),
							anOrigin("draining"),
							anOrigin("ok2", undefined, { weight: 0.5 }),
						]),
					],
					load_balancers: [aLoadBalancer(HOST, ["primary"], { fallback_pool: "primary" })],
				}),
			);

			it("never sends a request first to a disabled, weight-0, unhealthy or draining origin", () => {
				const policy = make();
				const random = seeded(6);
				const first = new Set<string>();
				for (let i = 0; i < PICKS; i++) {
					const plan = planRoute(snapshot, HOST, {
						isHealthy: (key) => key !== "primary/sick",
						isDraining: (key) => key === "primary/draining",
						policyFor: () => policy,
						random,
					});
					expect(plan.ok).toBe(true);
					if (!plan.ok) return;
					first.add(plan.attempts[0]?.origin ?? "none");
					expect(plan.attempts.map((attempt) => attempt.origin).sort()).toEqual(["ok1", "ok2"]);
				}
				expect([...first].sort()).toEqual(["ok1", "ok2"]);
			});
		});
	});
}
