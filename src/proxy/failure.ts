/**
 * One classifier for origin failures, shared by the proxy and the health probes. Failures look
 * different locally and at the edge: locally a refused connection makes `fetch` throw; at the
 * edge Cloudflare answers for the origin with 52x or 530 responses. Both map to the same kinds.
 * https://developers.cloudflare.com/support/troubleshooting/http-status-codes/cloudflare-5xx-errors/
 */

export type FailureKind = "unreachable" | "timeout";

/** The failure a response stands for, or undefined when it is the origin's own answer. */
export function classifyStatus(status: number): FailureKind | undefined {
	if (status === 524) return "timeout";
	if (status === 521 || status === 522 || status === 523 || status === 525 || status === 526 || status === 530) {
		return "unreachable";
	}
	return undefined;
}

/** The failure a rejected `fetch` stands for; `timedOut` says whether our own deadline fired. */
export function classifyError(timedOut: boolean): FailureKind {
	return timedOut ? "timeout" : "unreachable";
}
