/**
 * Power of two choices: sample two distinct candidates at random and keep the one with fewer
 * requests in flight per unit of weight. Strict least-connections sends every new request to the
 * same "least loaded" origin until its count catches up, and herds when counts are stale; two
 * random choices keep most of the benefit (the maximum load drops from log n / log log n to
 * log log n) while spreading requests. Mitzenmacher, "The Power of Two Choices in Randomized Load
 * Balancing", https://www.eecs.harvard.edu/~michaelm/postscripts/tpds2001.pdf; Envoy's
 * least-request balancer, https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers
 *
 * Sampling is weighted (the first by weight, the second by weight among the rest) and a tie keeps
 * the first sample, so with every origin idle, or without an `inFlight` counter, the split follows
 * the weights exactly as `random` does. Under load the comparison divides by weight too, so a
 * heavier origin is both offered more often and allowed proportionally more requests in flight.
 */
import type { Candidate, OriginPolicy } from "./policy";

/** Index of a weighted draw among `candidates`, skipping `skip`; -1 when no candidate has weight. */
function drawIndex(candidates: readonly Candidate[], value: number, skip: number): number {
	let total = 0;
	candidates.forEach((candidate, at) => {
		if (at !== skip && candidate.weight > 0) total += candidate.weight;
	});
	if (!(total > 0)) return -1;
	let point = (value >= 0 && value < 1 ? value : 0) * total;
	let last = -1;
	for (let at = 0; at < candidates.length; at++) {
		const weight = (candidates[at] as Candidate).weight;
		if (at === skip || !(weight > 0)) continue;
		last = at;
		point -= weight;
		if (point < 0) return at;
	}
	return last;
}

/**
 * Two distinct candidates drawn by weight, using two values of `random`: one when only one
 * candidate has weight, none when there is none. Shared with peak-EWMA.
 */
export function sampleTwo<C extends Candidate>(candidates: readonly C[], random: () => number): C[] {
	if (candidates.length === 0) return [];
	const first = drawIndex(candidates, random(), -1);
	if (first === -1) return [];
	const second = candidates.length > 1 ? drawIndex(candidates, random(), first) : -1;
	const sampled = [candidates[first] as C];
	if (second !== -1) sampled.push(candidates[second] as C);
	return sampled;
}

export function p2c(): OriginPolicy {
	return {
		name: "p2c",
		pick(candidates, { random, inFlight }) {
			const [first, second] = sampleTwo(candidates, random);
			if (!first || !second) return first;
			// NaN and negative counts are idle; sampled candidates have a positive weight.
			const load = (candidate: Candidate) => Math.max(inFlight?.(candidate.key) || 0, 0) / candidate.weight;
			return load(second) < load(first) ? second : first;
		},
	};
}
