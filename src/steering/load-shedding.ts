/**
 * Load shedding (Cloudflare's `load_shedding` on a pool): a share of the traffic steering would
 * send to a pool goes on to the next pool in steering order instead, so an origin at risk is
 * relieved before it fails its health checks and the whole pool fails over. `default_percent` is
 * the share of new traffic (requests without a session to keep), shed at random per request
 * (`random`) or by a hash of the client's IP address (`hash`: a client keeps its pool);
 * `session_percent` is the share of sessions pinned to the pool (always hashed, so a shed session
 * stays shed instead of decaying request by request). When every pool sheds the request, the
 * fallback pool takes it. Pure: randomness and the hash function are passed in.
 * https://developers.cloudflare.com/load-balancing/additional-options/load-shedding/
 */
import type { LoadShedding } from "../config/schema";

/** What deciding whether a pool sheds one request needs. */
export interface ShedInput {
	/** The pool's load_shedding settings; undefined when it sheds nothing. */
	readonly settingsOf: (poolId: string) => LoadShedding | undefined;
	/** A number in [0, 1); Math.random in production. */
	readonly random: () => number;
	/** What the `hash` policies hash: the client's IP (or the session's key); without it they draw at random. */
	readonly hashKey?: string;
	/** A 32-bit unsigned hash of `text`, seeded (the pool's id goes into the seed, so pools shed independently). */
	readonly hash: (text: string) => number;
}

/** Hash buckets: a share is resolved to 0.01%. */
const BUCKETS = 10_000;

/** Whether a share `percent` of traffic falls on this request: a hash bucket when there is a key, else a draw. */
function isInShare(percent: number, poolId: string, byHash: boolean, input: ShedInput): boolean {
	if (!(percent > 0)) return false;
	if (percent >= 100) return true;
	if (byHash && input.hashKey !== undefined) {
		return input.hash(`${poolId}\u0000${input.hashKey}`) % BUCKETS < (percent / 100) * BUCKETS;
	}
	return input.random() * 100 < percent;
}

/** Whether `poolId` sheds this request, new traffic (`session` false) or a session pinned to it. */
export function isShed(poolId: string, session: boolean, input: ShedInput): boolean {
	const settings = input.settingsOf(poolId);
	if (!settings) return false;
	return session
		? isInShare(settings.session_percent, poolId, true, input)
		: isInShare(settings.default_percent, poolId, settings.default_policy === "hash", input);
}

/**
 * The pools steering chose, in its order, less those that shed this request: the first left takes
 * it. `shed` lists the pools it was shed from, in order. Empty `pools` when every one shed it: the
 * caller sends it to the fallback pool.
 */
export function applyLoadShedding(
	pools: readonly string[],
	input: ShedInput,
): { readonly pools: readonly string[]; readonly shed: readonly string[] } {
	const shed: string[] = [];
	for (const [i, poolId] of pools.entries()) {
		if (!isShed(poolId, false, input)) return { pools: shed.length === 0 ? pools : pools.slice(i), shed };
		shed.push(poolId);
	}
	return { pools: [], shed };
}
