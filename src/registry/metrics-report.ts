/**
 * What the authority answers for GET /_lb/metrics: health as /status shows it (the same merge of
 * the counter objects' ejections), its health-check counts, and every counter object's report as
 * it came, each object apart (observe/metrics-text.ts renders it).
 */
import type { CounterReport } from "../contract/counters";
import type { MetricsReport } from "../contract/status";
import type { RoutingState } from "../routing/routing-state";
import { toOriginKey } from "../routing/snapshot";
import { toStatusReport } from "./status";

export function toMetricsReport(routing: RoutingState, reports: readonly CounterReport[], now: number): MetricsReport {
	const status = toStatusReport(routing, [], reports, now);
	return {
		configVersion: status.version,
		pools: status.pools.map((pool) => ({ pool: pool.id, healthy: pool.healthy })),
		origins: status.pools.flatMap((pool) =>
			pool.origins.map((origin) => {
				const health = routing.health.get(toOriginKey(pool.id, origin.name));
				return {
					pool: pool.id,
					origin: origin.name,
					healthy: origin.healthy,
					checks: { success: health?.checksPassed ?? 0, failure: health?.checksFailed ?? 0 },
					rttMs: origin.rtt_ms,
				};
			}),
		),
		counters: reports,
	};
}
