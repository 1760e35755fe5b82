/**
 * One classifier for origin failures, shared by the proxy and the health probes. Failures look
 * different locally and at the edge: locally a refused connection makes `fetch` throw; at the
 * edge Cloudflare answers for the origin with 52x or 530 responses. Both map to the same kinds.
 * https://developers.cloudflare.com/support/troubleshooting/http-status-codes/cloudflare-5xx-errors/
 */

import type { FailureKind } from "./outcome";

export type { FailureKind };

/** Cloudflare's answers for an origin it could not deliver the request to. */
const NOT_DELIVERED = new Set([521, 522, 523, 525, 526, 530]);

/** The failure a response stands for, or undefined when it is the origin's own answer. */
export function classifyStatus(status: number): FailureKind | undefined {
	if (status === 524) return "timeout";
	return NOT_DELIVERED.has(status) ? "refused" : undefined;
}

/** The failure a rejected `fetch` stands for; `timedOut` says whether our own deadline fired. */
export function classifyError(timedOut: boolean): "unreachable" | "timeout" {
	return timedOut ? "timeout" : "unreachable";
}

/** What the edge's own error statuses mean, for health-check reasons and logs. */
const EDGE_MEANING: Record<number, string> = {
	521: "connection refused",
	522: "connection timed out",
	523: "origin unreachable",
	524: "no response in time",
	525: "TLS handshake failed",
	526: "invalid TLS certificate",
	530: "DNS resolution failed",
};

export function describeEdgeStatus(status: number): string | undefined {
	return EDGE_MEANING[status];
}
