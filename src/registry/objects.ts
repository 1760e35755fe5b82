/**
 * How callers address the Durable Objects: the authority by its one name, a counter object by the
 * key routing/shard-keys.ts gives its load balancer. Stubs typed by the RPC interfaces
 * (contract/rpc.ts), so no caller imports a class.
 */
import type { AuthorityRpc, CounterRpc, HubRpc, ProberRpc } from "../contract/rpc";
import type { Env } from "../env";
import { type CheckRegion, REGION_HINTS, toProbeObjectName } from "../health/regions";
import { AUTHORITY, hubKeyFor } from "../routing/shard-keys";

/** The authority: the one object holding configuration, health, drains, events and the audit log. */
export function getAuthority(env: Env): DurableObjectStub<AuthorityRpc> {
	return env.REGISTRY.getByName(AUTHORITY);
}

/** The counter object named `key` ("lb:<name>", routing/shard-keys.ts). */
export function getCounter(env: Env, key: string): DurableObjectStub<CounterRpc> {
	return env.COUNTERS.getByName(key);
}

/** The hub of data center `colo` ("colo:<colo>"). */
export function getHub(env: Env, colo: string): DurableObjectStub<HubRpc> {
	return env.HUBS.getByName(hubKeyFor(colo));
}

/** The probe object of `region` ("probe:<region>"), created (on first call) in that region by its location hint. */
export function getProber(env: Env, region: CheckRegion): DurableObjectStub<ProberRpc> {
	return env.PROBES.getByName(toProbeObjectName(region), { locationHint: REGION_HINTS[region] });
}
