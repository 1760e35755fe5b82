/**
 * Reading an admin request's JSON body with the limits a public endpoint needs: 415 unless it is
 * JSON, 413 past MAX_ADMIN_BODY_BYTES (whether or not Content-Length says so), 400 when it is not
 * UTF-8, does not parse or is not an object, and 400 for what JavaScript cannot keep as sent: a
 * `__proto__` key, or nesting deeper than MAX_JSON_DEPTH (config/validate.ts; both named by their field).
 */
import { findUnsafeJson } from "../config/validate";
import { AdminError, ERROR_CODES } from "./envelope";

export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

export async function readJsonObject(
	request: Request,
	limitBytes = MAX_ADMIN_BODY_BYTES,
): Promise<Record<string, unknown>> {
	const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
	if (type !== "application/json" && !type.endsWith("+json")) {
		throw new AdminError(
			"unsupported_media_type",
			`send the body as application/json (got "${type || "no content type"}")`,
		);
	}
	const declared = Number(request.headers.get("content-length") ?? Number.NaN);
	if (declared > limitBytes) throw tooLarge(limitBytes);
	const text = await readText(request, limitBytes);
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		throw new AdminError("invalid_request", `the body is not valid JSON: ${(error as Error).message}`);
	}
	if (value === null || typeof value !== "object" || Array.isArray(value)) {
		throw new AdminError("invalid_request", "the body must be a JSON object");
	}
	const unsafe = findUnsafeJson(value);
	if (unsafe) {
		const message = `${unsafe.path}: ${unsafe.message}`;
		throw new AdminError("invalid_request", message, {
			errors: [{ code: ERROR_CODES.invalid_request, message, field: unsafe.path }],
		});
	}
	return value as Record<string, unknown>;
}

function tooLarge(limitBytes: number): AdminError {
	return new AdminError("payload_too_large", `the body is larger than ${limitBytes} bytes`);
}

async function readText(request: Request, limitBytes: number): Promise<string> {
	if (!request.body) return "";
	const reader = request.body.getReader();
	// Fatal: a byte sequence that is not UTF-8 is refused, not stored as U+FFFD.
	const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
	const decode = (bytes?: Uint8Array) => {
		try {
			return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
		} catch {
			throw new AdminError("invalid_request", "the body is not valid UTF-8");
		}
	};
	let text = "";
	let bytes = 0;
	for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
		bytes += chunk.value.byteLength;
		if (bytes > limitBytes) {
			await reader.cancel();
			throw tooLarge(limitBytes);
		}
		try {
			text += decode(chunk.value);
		} catch (error) {
			await reader.cancel();
			throw error;
		}
	}
	return text + decode();
}
