/**
 * How callers address the Durable Objects: the authority by its one name, a counter object by the
 * key routing/shard-keys.ts gives its load balancer. Stubs typed by the RPC interfaces
 * (contract/rpc.ts), so no caller imports a class.
 */
import type { AuthorityRpc, CounterRpc, HubRpc } from "../contract/rpc";
import type { Env } from "../env";
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
