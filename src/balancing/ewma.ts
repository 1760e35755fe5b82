/**
 * Peak-EWMA, as in Finagle and Linkerd: each origin's cost is its peak-sensitive moving average of
 * latency times the requests it has in flight plus one, and the cheaper origin wins. A latency
 * spike counts at once (the peak) and is forgotten gradually (the exponential decay), so a slowing
 * origin sheds traffic before its queue builds. To avoid every balancer herding onto the one
 * cheapest origin, a pick compares two candidates sampled by weight (power of two choices, see
 * p2c.ts), as Linkerd does; a tie keeps the first sample, so ties split by weight at random.
 * Sources: Finagle's `Balancers.p2cPeakEwma`, https://twitter.github.io/finagle/guide/Clients.html#power-of-two-choices-p2c-peak-ewma,
 * https://github.com/twitter/finagle/blob/develop/finagle-core/src/main/scala/com/twitter/finagle/loadbalancer/p2c/PeakEwma.scala;
 * Linkerd, "Beyond Round Robin", https://linkerd.io/2016/03/16/beyond-round-robin-load-balancing-for-latency/
 *
 * An origin without a measurement costs 0 while idle, so it is tried and measured at once, and a
 * large penalty once it has a request in flight, so a new or restarted origin gets one probe rather
 * than a flood until its first response is timed. This is Finagle's rule ("penalize the host on
 * the first probe"); a median of the others would flood a cold origin that is in fact slow.
 */
import { sampleTwo } from "./p2c";
import type { OriginPolicy, PickContext } from "./policy";

/**
 * Cost of an origin with no latency yet and requests in flight: far above any real latency, plus
 * the requests in flight (Finagle: Long.MaxValue >> 16 ns, about 39 hours).
 */
export const UNMEASURED_PENALTY_MS = 2 ** 47 / 1e6;

/** Latency × (in flight + 1); an unmeasured (or 0 ms) origin costs 0 when idle, the penalty when busy. */
export function costOf(key: string, { inFlight, latencyMs }: PickContext): number {
	// NaN and negative counts are idle.
	const load = Math.max(inFlight?.(key) || 0, 0);
	const latency = latencyMs?.(key) ?? 0;
	if (latency > 0) return latency * (load + 1);
	return load > 0 ? UNMEASURED_PENALTY_MS + load : 0;
}

export function peakEwma(): OriginPolicy {
	return {
		name: "ewma",
		pick(candidates, ctx) {
			const [first, second] = sampleTwo(candidates, ctx.random);
			if (!first || !second) return first;
			return costOf(second.key, ctx) < costOf(first.key, ctx) ? second : first;
		},
	};
}

/** A peak-EWMA of latency: the value and when it was last updated (ms since the epoch). */
export interface PeakEwma {
	valueMs: number;
	at: number;
}

/**
 * The registry's update on each timed response. A sample above the current value replaces it
 * (peak); otherwise the value decays towards the sample with weight w = exp(-(now - at) / decayMs)
 * on the old value: value·w + sample·(1 - w), Finagle's formula. A sample that is not a finite
 * number ≥ 0 is ignored (with nothing before it, it counts as 0); a clock going backwards counts as
 * no time passed. Finagle also decays the value when reading it, towards 0 while no response
 * arrives; a reader gets that with `updatePeakEwma(stored, 0, now).valueMs`.
 */
export function updatePeakEwma(
	previous: PeakEwma | undefined,
	sampleMs: number,
	now: number,
	decayMs = 10_000,
): PeakEwma {
	const valid = Number.isFinite(sampleMs) && sampleMs >= 0;
	if (previous === undefined || !(previous.valueMs >= 0)) return { valueMs: valid ? sampleMs : 0, at: now };
	if (!valid) return previous;
	if (sampleMs > previous.valueMs) return { valueMs: sampleMs, at: now };
	const elapsed = now - previous.at;
	const weight = elapsed > 0 ? (decayMs > 0 ? Math.exp(-elapsed / decayMs) : 0) : 1;
	return { valueMs: previous.valueMs * weight + sampleMs * (1 - weight), at: elapsed > 0 ? now : previous.at };
}
