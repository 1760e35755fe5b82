/**
 * Consistent hashing on a ring of virtual nodes: each origin owns 1,000 points per unit of weight
 * on a 32-bit ring, and a request goes to the owner of the first point at or after the hash of its
 * key (the session-affinity key, else the client IP). The same key keeps reaching the same origin,
 * and when an origin joins or leaves only the keys between its points and their neighbours move:
 * about 1/n of them. Karger et al., "Consistent Hashing and Random Trees" (STOC 1997),
 * https://dl.acm.org/doi/10.1145/258533.258660; nginx's `hash … consistent`,
 * https://nginx.org/en/docs/http/ngx_http_upstream_module.html#hash; Envoy's ring hash,
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#ring-hash
 *
 * Why a ring and not Maglev: an origin's points depend only on its own key and weight, so removing
 * an origin moves exactly the keys it held and nothing else; Maglev's table trades that guarantee
 * for O(1) lookups and a more even spread. Pools are small (tens of origins), the ring is built
 * once per distinct candidate set and cached, and a lookup is a binary search.
 *
 * Why 1,000 points and not nginx's 160: an origin's share of the ring varies by about
 * √points / total points; with 160 per weight one of three equal origins got 37% of 10,000 keys
 * and a 1:3 split missed by up to 8%, with 1,000 (Envoy's default minimum ring is 1,024) the
 * spread is ±1.4% (one standard deviation).
 * Without a hash key the pick falls back to weighted random, as Envoy does.
 */
import type { Candidate, OriginPolicy } from "./policy";
import { weightedRandom } from "./random";

/** Points per unit of weight; weights are 0–1 per pool, so the heaviest origin has 1,000. */
export const POINTS_PER_WEIGHT = 1000;
/** Bounds the ring of an absurd weight: 100 units of weight. */
const MAX_POINTS = 100 * POINTS_PER_WEIGHT;
/** Rings kept for recently seen candidate sets (health flapping alternates between a few). */
const CACHED_RINGS = 8;

const encoder = new TextEncoder();

function rotl(x: number, r: number): number {
	return (x << r) | (x >>> (32 - r));
}

function mixKey(k: number): number {
	return Math.imul(rotl(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
}

/**
 * MurmurHash3 (x86, 32-bit) of `bytes`: fast, non-cryptographic, with good avalanche on short,
 * similar inputs ("10.0.0.1", "10.0.0.2"), which FNV-1a lacks. Written from Austin Appleby's
 * description, https://github.com/aappleby/smhasher/wiki/MurmurHash3
 */
function murmur3Bytes(bytes: Uint8Array, seed: number): number {
	const tail = bytes.length & ~3;
	let h = seed | 0;
	for (let i = 0; i < tail; i += 4) {
		const k = (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
		h ^= mixKey(k);
		h = (Math.imul(rotl(h, 13), 5) + 0xe6546b64) | 0;
	}
	let k = 0;
	const rest = bytes.length & 3;
	if (rest >= 3) k ^= (bytes[tail + 2] ?? 0) << 16;
	if (rest >= 2) k ^= (bytes[tail + 1] ?? 0) << 8;
	if (rest >= 1) h ^= mixKey(k ^ (bytes[tail] ?? 0));
	h ^= bytes.length;
	h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
	h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
	return (h ^ (h >>> 16)) >>> 0;
}

/** MurmurHash3 (x86, 32-bit) of the UTF-8 bytes of `text`. */
export function murmur3(text: string, seed = 0): number {
	return murmur3Bytes(encoder.encode(text), seed);
}

interface Ring {
	/** Sorted point positions. */
	readonly points: Uint32Array;
	/** owners[i]: index, in the candidate list the ring was built for, of the owner of points[i]. */
	readonly owners: Uint32Array;
}

export function pointsFor(weight: number): number {
	if (!(weight > 0)) return 0;
	return Math.min(MAX_POINTS, Math.max(1, Math.round(weight * POINTS_PER_WEIGHT)));
}

/** Room for the owner's rank below a point in one float64 (2^32 · 2^20 < 2^53). */
const RANKS = 2 ** 20;

/**
 * The ring for `candidates`. Point i of an origin is the hash of its key with seed i, so its points
 * depend on nothing else. Points are packed with their owner's rank in key order into one float64
 * array, so a plain numeric sort orders them and a collision goes to the smaller key whatever the
 * candidates' order.
 */
function buildRing(candidates: readonly Candidate[]): Ring {
	const byKey = candidates
		.map((_, at) => at)
		.sort((x, y) => {
			const [kx, ky] = [(candidates[x] as Candidate).key, (candidates[y] as Candidate).key];
			return kx < ky ? -1 : kx > ky ? 1 : 0;
		})
		.slice(0, RANKS);
	let total = 0;
	for (const at of byKey) total += pointsFor((candidates[at] as Candidate).weight);
	const packed = new Float64Array(total);
	let next = 0;
	byKey.forEach((at, rank) => {
		const candidate = candidates[at] as Candidate;
		const bytes = encoder.encode(candidate.key);
		const count = pointsFor(candidate.weight);
		for (let i = 0; i < count; i++) packed[next++] = murmur3Bytes(bytes, i) * RANKS + rank;
	});
	packed.sort();
	const points = new Uint32Array(total);
	const owners = new Uint32Array(total);
	packed.forEach((value, i) => {
		const rank = value % RANKS;
		points[i] = (value - rank) / RANKS;
		owners[i] = byKey[rank] ?? 0;
	});
	return { points, owners };
}

/** Index of the first point at or after `hash`, wrapping to 0 past the end. */
function lookup(ring: Ring, hash: number): number {
	let low = 0;
	let high = ring.points.length;
	while (low < high) {
		const mid = (low + high) >>> 1;
		if ((ring.points[mid] ?? 0) < hash) low = mid + 1;
		else high = mid;
	}
	return low === ring.points.length ? 0 : low;
}

function sameSet(a: readonly Candidate[], b: readonly Candidate[]): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) {
		const [x, y] = [a[i] as Candidate, b[i] as Candidate];
		if (x.key !== y.key || !Object.is(x.weight, y.weight)) return false;
	}
	return true;
}

export function consistentHash(): OriginPolicy {
	const rings = new Map<string, Ring>();
	const fallback = weightedRandom();
	// The common case, the same set as last time, is checked without building a signature.
	let last: { candidates: Candidate[]; ring: Ring } | undefined;
	const ringFor = (candidates: readonly Candidate[]): Ring => {
		if (last && sameSet(last.candidates, candidates)) return last.ring;
		const signature = candidates.map((candidate) => `${candidate.key}\u0000${candidate.weight}`).join("\u0001");
		let ring = rings.get(signature);
		if (ring) {
			// Most recently used last, so the first entry is the one to evict.
			rings.delete(signature);
		} else {
			ring = buildRing(candidates);
			if (rings.size >= CACHED_RINGS) rings.delete(rings.keys().next().value as string);
		}
		rings.set(signature, ring);
		last = { candidates: candidates.map(({ key, weight }) => ({ key, weight })), ring };
		return ring;
	};
	return {
		name: "hash",
		pick(candidates, ctx) {
			// An empty key would pin every such request to one origin: treat it as missing.
			if (!ctx.hashKey) return fallback.pick(candidates, ctx);
			if (candidates.length === 0) return undefined;
			const ring = ringFor(candidates);
			if (ring.points.length === 0) return undefined;
			return candidates[ring.owners[lookup(ring, murmur3(ctx.hashKey))] ?? 0];
		},
	};
}
