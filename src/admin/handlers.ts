/**
 * What the admin API's route handlers share, short routes and Cloudflare's paths alike: the caller
 * on the request, write options from If-Match and `?dry_run`, path parameters, refused writes as
 * envelope errors, request bodies (one that may be absent too), and one CRUD change sent to the
 * authority, a PUT or PATCH of one item among them.
 */
import type { IRequest } from "itty-router";
import type { Collection, ConfigOperation } from "../config/operations";
import type { WriteResult } from "../contract/status";
import type { Env } from "../env";
import { getAuthority } from "../registry/objects";
import type { Caller } from "./auth";
import { readJsonObject } from "./body";
import { AdminError, ERROR_CODES, toSuccessJson } from "./envelope";

export type AdminRequest = IRequest & { caller: Caller };
export type Args = [env: Env, ctx: ExecutionContext];

export function toEtag(version: number): string {
	return `"${version}"`;
}

/** If-Match as a config version: undefined when absent or "*", an error when unreadable. */
export function toIfMatchVersion(header: string | null): number | undefined {
	if (header === null || header.trim() === "*") return undefined;
	const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
	if (!match)
		throw new AdminError("invalid_request", `If-Match must be a configuration version such as "3", got ${header}`);
	return Number(match[1]);
}

function isDryRun(request: IRequest): boolean {
	return ["1", "true"].includes(String(request.query.dry_run ?? ""));
}

export function writeOptions(request: AdminRequest) {
	return {
		ifMatch: toIfMatchVersion(request.headers.get("if-match")),
		dryRun: isDryRun(request),
		actor: request.caller.actor,
	};
}

export function param(request: IRequest, name: string): string {
	const raw = String(request.params[name] ?? "");
	try {
		return decodeURIComponent(raw);
	} catch {
		// Not valid percent-encoding: no object can have that name.
		throw new AdminError("not_found", `no object named "${raw}"`);
	}
}

/** Turns a refused write into the envelope error that fits it. */
export function throwIfRefused(
	result: WriteResult,
	ifMatch: number | undefined,
): asserts result is Extract<WriteResult, { ok: true }> {
	if (result.ok) return;
	if (result.status === 400) {
		throw new AdminError("invalid_config", "the configuration was not changed", {
			messages: ["the configuration was not changed"],
			errors: result.errors.map((error) => ({
				code: ERROR_CODES.invalid_config,
				message: `${error.path}: ${error.message}`,
				field: error.path,
			})),
		});
	}
	if (result.status === 412) {
		throw new AdminError(
			"precondition_failed",
			`If-Match names version ${ifMatch}, but the configuration is at version ${result.version}; read it again`,
			{ headers: { etag: toEtag(result.version) } },
		);
	}
	if (result.status === 413) {
		throw new AdminError("payload_too_large", result.message, {
			errors: [{ code: ERROR_CODES.payload_too_large, message: result.message, field: result.field }],
		});
	}
	throw new AdminError(result.status === 404 ? "not_found" : "conflict", result.message);
}

/** One collection of the stored configuration. */
export async function listOf(env: Env, collection: Collection): Promise<Record<string, unknown>[]> {
	const { json } = await getAuthority(env).getConfig();
	return (JSON.parse(json) as Record<Collection, Record<string, unknown>[]>)[collection];
}

/** Sends one CRUD change to the authority; answers the object it names, with the write's changes beside it. */
export async function change(request: AdminRequest, env: Env, op: ConfigOperation, status = 200): Promise<Response> {
	const options = writeOptions(request);
	const result = await getAuthority(env).changeConfig(op, options);
	throwIfRefused(result, options.ifMatch);
	return toSuccessJson(result.resultJson, {
		status: options.dryRun ? 200 : status,
		messages: result.messages,
		headers: { etag: toEtag(result.version) },
		extra: { dry_run: options.dryRun, changes: result.changes },
	});
}

type Item = Record<string, unknown>;

/** A request's JSON object body (admin/body.ts limits and refusals). */
export function bodyOf(request: IRequest): Promise<Item> {
	return readJsonObject(request as unknown as Request);
}

/** The body of a request that may have none (no body, or Content-Length 0): `{}` then. */
export async function optionalBody(request: IRequest): Promise<Item> {
	if (request.headers.get("content-length") === "0" || request.body === null) return {};
	return bodyOf(request);
}

/**
 * PUT (`replace`) or PATCH of one item of `target`, for the short routes and Cloudflare's paths:
 * `keyOf` names the item first (a bad key is a 404 before the body is looked at), then the body
 * is read, given to `prepare` (which may refuse it or change it), and sent as one change.
 */
export function writeItem(
	target: Collection,
	action: "replace" | "patch",
	keyOf: (request: AdminRequest, env: Env) => string | Promise<string>,
	prepare?: (body: Item, env: Env) => void,
): (request: IRequest, env: Env) => Promise<Response> {
	return async (raw, env) => {
		const request = raw as AdminRequest;
		const key = await keyOf(request, env);
		const body = await bodyOf(request);
		prepare?.(body, env);
		return change(request, env, { target, action, key, body });
	};
}
