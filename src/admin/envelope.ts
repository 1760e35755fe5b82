/**
 * Every admin API response uses Cloudflare's API envelope, so tooling written for Cloudflare's
 * API reads ours: `{ success, errors: [{ code, message }], messages, result }`. Errors are thrown
 * as AdminError anywhere in a handler and turned into an envelope in one place.
 * https://developers.cloudflare.com/fundamentals/api/how-to/make-api-calls/
 */

/** Our error codes (Cloudflare's are per product; these are Switchyard's, stable and documented). */
export const ERROR_CODES = {
	invalid_request: 1000,
	invalid_config: 1001,
	not_found: 1002,
	conflict: 1003,
	precondition_failed: 1004,
	payload_too_large: 1005,
	unsupported_media_type: 1006,
	unauthorized: 1007,
	forbidden: 1008,
	admin_disabled: 1009,
	internal: 1099,
} as const;

export type ErrorKind = keyof typeof ERROR_CODES;

const STATUS: Record<ErrorKind, number> = {
	invalid_request: 400,
	invalid_config: 400,
	not_found: 404,
	conflict: 409,
	precondition_failed: 412,
	payload_too_large: 413,
	unsupported_media_type: 415,
	unauthorized: 401,
	forbidden: 403,
	admin_disabled: 503,
	internal: 500,
};

export interface EnvelopeError {
	readonly code: number;
	readonly message: string;
	/** The field at fault, for validation errors: "pools[0].origins[1].weight". */
	readonly field?: string;
}

export class AdminError extends Error {
	readonly status: number;
	constructor(
		readonly kind: ErrorKind,
		message: string,
		readonly details: {
			errors?: EnvelopeError[];
			messages?: string[];
			headers?: Record<string, string>;
			result?: unknown;
		} = {},
	) {
		super(message);
		this.status = STATUS[kind];
	}
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

function respond(status: number, body: unknown, headers: Record<string, string> = {}): Response {
	return new Response(`${JSON.stringify(body, null, 2)}\n`, { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** A success envelope; `extra` adds fields after `result` (a list's `result_info`, a write's `changes`). */
export function toSuccess(
	result: unknown,
	init: {
		messages?: readonly string[];
		status?: number;
		headers?: Record<string, string>;
		extra?: Record<string, unknown>;
	} = {},
): Response {
	return respond(
		init.status ?? 200,
		{ success: true, errors: [], messages: init.messages ?? [], result, ...init.extra },
		init.headers,
	);
}

/**
 * A success whose `result` is JSON text already (configuration documents come from the registry as
 * text); `extra` adds fields beside it, such as a write's `changes`.
 */
export function toSuccessJson(
	resultJson: string,
	init: {
		messages?: readonly string[];
		status?: number;
		headers?: Record<string, string>;
		extra?: Record<string, unknown>;
	} = {},
): Response {
	const head = JSON.stringify({ success: true, errors: [], messages: init.messages ?? [], ...init.extra }).slice(0, -1);
	return new Response(`${head},"result":${resultJson}}\n`, {
		status: init.status ?? 200,
		headers: { ...JSON_HEADERS, ...init.headers },
	});
}

/** The configuration's top-level fields: a body with any of them is a document, not an envelope. */
const CONFIG_FIELDS = ["monitors", "pools", "load_balancers"];

/** Said in `messages` when a PUT /config body was an envelope and its `result` was taken. */
export const ENVELOPE_TAKEN = "the body is an admin API response: its result was taken as the configuration";

/**
 * The `result` of a body that is clearly one of our own success envelopes (as GET /config answers,
 * saved to a file): `success: true`, an object `result`, and none of the configuration's fields
 * beside them. Undefined for anything else, which is then read as a document.
 */
export function fromEnvelope(body: Record<string, unknown>): Record<string, unknown> | undefined {
	const { result } = body;
	if (body.success !== true || result === null || typeof result !== "object" || Array.isArray(result)) return undefined;
	if (CONFIG_FIELDS.some((field) => Object.hasOwn(body, field))) return undefined;
	return result as Record<string, unknown>;
}

export function toFailure(error: AdminError): Response {
	const errors = error.details.errors ?? [{ code: ERROR_CODES[error.kind], message: error.message }];
	return respond(
		error.status,
		{ success: false, errors, messages: error.details.messages ?? [], result: error.details.result ?? null },
		error.details.headers,
	);
}
