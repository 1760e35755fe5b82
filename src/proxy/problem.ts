/**
 * Every error the balancer itself answers is an RFC 9457 problem document, built here and only
 * here: a stable `type`, the HTTP status, a human `detail`, and which load balancer and pool were
 * involved. Never a stack trace. https://www.rfc-editor.org/rfc/rfc9457
 */

export type ProblemKind =
	| "no_load_balancer"
	| "load_balancer_disabled"
	| "no_origin"
	| "origin_unreachable"
	| "origin_timeout"
	| "loop_detected"
	| "not_found"
	| "method_not_allowed"
	| "unauthorized"
	| "admin_disabled"
	| "invalid_request"
	| "request_timeout"
	| "invalid_config"
	| "precondition_failed"
	| "internal";

const STATUS: Record<ProblemKind, number> = {
	no_load_balancer: 404,
	load_balancer_disabled: 503,
	no_origin: 503,
	origin_unreachable: 502,
	origin_timeout: 504,
	loop_detected: 508,
	not_found: 404,
	method_not_allowed: 405,
	unauthorized: 401,
	admin_disabled: 503,
	invalid_request: 400,
	request_timeout: 408,
	invalid_config: 400,
	precondition_failed: 412,
	internal: 500,
};

const TITLE: Record<ProblemKind, string> = {
	no_load_balancer: "No load balancer for this host",
	load_balancer_disabled: "Load balancer disabled",
	no_origin: "No origin available",
	origin_unreachable: "Origin unreachable",
	origin_timeout: "Origin timed out",
	loop_detected: "Loop detected",
	not_found: "Not found",
	method_not_allowed: "Method not allowed",
	unauthorized: "Unauthorized",
	admin_disabled: "Admin API disabled",
	invalid_request: "Invalid request",
	request_timeout: "Request body timed out",
	invalid_config: "Invalid configuration",
	precondition_failed: "Configuration changed since you read it",
	internal: "Internal error",
};

export interface ProblemFields {
	readonly detail: string;
	readonly load_balancer?: string;
	readonly pool?: string;
	readonly [extension: string]: unknown;
}

export function toProblemResponse(kind: ProblemKind, fields: ProblemFields, headers: HeadersInit = {}): Response {
	const status = STATUS[kind];
	const body = {
		type: `https://switchyard.dev/problems/${kind.replaceAll("_", "-")}`,
		title: TITLE[kind],
		status,
		...fields,
	};
	const response = new Response(`${JSON.stringify(body, null, 2)}\n`, { status, headers });
	response.headers.set("content-type", "application/problem+json");
	response.headers.set("cache-control", "no-store");
	if (status === 503 && !response.headers.has("retry-after")) response.headers.set("retry-after", "5");
	return response;
}
