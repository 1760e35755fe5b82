/**
 * A retry budget as Envoy has it: retries in flight may not exceed max(minRetries, percent% of
 * requests in flight), so a failing region does not multiply its own load, while a single dead
 * origin (before it is ejected) is still fully retried around. One per isolate.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/circuit_breaker.proto#config-cluster-v3-circuitbreakers-thresholds-retrybudget
 */
export class RetryBudget {
	private requests = 0;
	private retries = 0;

	constructor(private readonly minRetries = 3) {}

	/** Counts a request in flight; call the returned function once it is done. */
	enter(): () => void {
		this.requests++;
		let left = false;
		return () => {
			if (left) return;
			left = true;
			this.requests--;
		};
	}

	/** Takes a retry if the budget allows one; call the returned function when the retry is over. */
	tryRetry(percent: number): (() => void) | undefined {
		const allowed = Math.max(this.minRetries, (this.requests * percent) / 100);
		if (this.retries + 1 > allowed) return undefined;
		this.retries++;
		let done = false;
		return () => {
			if (done) return;
			done = true;
			this.retries--;
		};
	}
}
