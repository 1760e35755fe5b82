/**
 * `npm run bench:analytics`: what writing one Analytics Engine data point costs the Worker in
 * JavaScript (issue 18): the observer the isolate wires when ANALYTICS is bound
 * (src/observe/analytics.ts), timed in Node against a binding that keeps nothing. The runtime's own
 * writeDataPoint is not in it: local workerd turns every data point into an HTTP request to a
 * service (bench:ab --analytics), which is not what the binding costs on Cloudflare.
 *
 *   node bench/analytics.ts
 */
import type { RequestSample } from "../src/contract/outcome.ts";
import { analyticsObserver } from "../src/observe/analytics.ts";

const ROUNDS = 5;
const PER_ROUND = 200_000;

let written = 0;
const observe = analyticsObserver({ writeDataPoint: () => void written++ }, () => 1);
if (!observe) throw new Error("no observer for a bound dataset");
const sample: RequestSample = {
	loadBalancer: "www.example.com",
	pool: "eu",
	colo: "FRA",
	bytes: 1234,
	record: {
		leaseId: "lb:www.example.com@FRA|iso-1-1",
		attempts: 1,
		retried: false,
		totalMs: 3,
		failures: [],
		servedBy: "eu/origin-1",
		status: 200,
		ttfbMs: 2.5,
		aborted: false,
	},
};

const perPoint: number[] = [];
for (let round = 0; round <= ROUNDS; round++) {
	const start = performance.now();
	for (let i = 0; i < PER_ROUND; i++) observe(sample);
	// Round 0 warms the JIT up.
	if (round > 0) perPoint.push(((performance.now() - start) * 1000) / PER_ROUND);
}
perPoint.sort((a, b) => a - b);
const median = perPoint[Math.floor(perPoint.length / 2)] as number;
process.stdout.write(
	`analytics observer: ${median.toFixed(3)} µs per data point in JavaScript (median of ${ROUNDS} × ${PER_ROUND}; ${written} written)\n`,
);
