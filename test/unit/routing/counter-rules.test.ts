/**
 * A counter object's core with load balancing rules (issue 20): it plans with the overrides of the
 * rules the Worker matched (by index, for the same rules' digest only), and counts each rule's
 * matches from the outcomes it hears of, a fixed response's included.
 */
import { describe, expect, it } from "vitest";
import { LOCAL_COLO, type RoutePlan, type RouteRules } from "../../../src/contract/route";
import { isCompactPlan } from "../../../src/contract/wire";
import { CounterCore } from "../../../src/routing/counter";
import { rulesOf } from "../../../src/routing/rule-overrides";
import { counterKeyFor, toLeasePrefix } from "../../../src/routing/shard-keys";
import { findLoadBalancer } from "../../../src/routing/snapshot";
import { aConfig, aLoadBalancer, anOrigin, aPool } from "../../fixtures/config";
import { anOutcome } from "../../fixtures/outcomes";
import { aReplica } from "../../fixtures/replica";

const HOST = "app.example.com";
const SHARD = counterKeyFor({ name: HOST, counter_scope: "colo" }, LOCAL_COLO);

function aCore(): { core: CounterCore; rules: (...matched: number[]) => RouteRules } {
	const core = new CounterCore(SHARD, toLeasePrefix(SHARD, "t"));
	const replica = aReplica(
		aConfig({
			pools: [aPool("web", [anOrigin("w")]), aPool("api", [anOrigin("x")])],
			load_balancers: [
				aLoadBalancer(HOST, ["web"], {
					fallback_pool: "web",
					rules: [
						{
							name: "api",
							condition: 'starts_with(http.request.uri.path, "/api")',
							overrides: { default_pools: ["api"] },
						},
						{ name: "down", condition: 'http.request.uri.path eq "/down"', fixed_response: { status_code: 503 } },
					],
				}),
			],
		}),
	);
	core.adopt(replica, 0);
	const snapshot = core.routing.snapshot;
	const digest = rulesOf(snapshot, findLoadBalancer(snapshot, HOST) as never)?.digest as string;
	return { core, rules: (...matched) => ({ version: replica.version, digest, matched }) };
}

describe("CounterCore with rules", () => {
	it("plans with the matched rules' overrides, and without them for other rules", () => {
		const { core, rules } = aCore();
		const pool = (request: Parameters<CounterCore["route"]>[0]) => {
			const reply = core.route(request, 1, () => 0);
			if (isCompactPlan(reply) || !reply.ok) throw new Error(JSON.stringify(reply));
			return (reply as Extract<RoutePlan, { ok: true }>).pool;
		};
		expect(pool({ hostname: HOST })).toBe("web");
		expect(pool({ hostname: HOST, rules: rules(0) })).toBe("api");
		expect(pool({ hostname: HOST, rules: { ...rules(0), digest: "ffffffff" } })).toBe("web");
	});

	it("counts matches by rule name from outcomes, a fixed response's too, and reports them", () => {
		const { core } = aCore();
		core.applyOutcomes(
			[
				anOutcome(`${SHARD}~t-1`, { rules: [0] }),
				anOutcome(`${SHARD}~fixed-response`, { attempts: 0, status: 503, rules: [1] }),
				anOutcome(`${SHARD}~t-2`, { rules: [0] }),
				anOutcome(`${SHARD}~t-3`),
			],
			2,
		);
		expect(core.counters(3).rules).toEqual({ api: 2, down: 1 });
		expect(new CounterCore(SHARD, "x").counters(3).rules).toBeUndefined();
	});
});
