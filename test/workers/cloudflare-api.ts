/**
 * Requests to Cloudflare's API paths of the admin API (issue 17), with the env the Worker sees
 * optionally changed (ACCOUNT_ID, ZONE_ID), and their envelopes with `result_info`.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { ADMIN, type Envelope, TOKEN } from "./helpers";

export const ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353";
export const ZONE = "023e105f4ecef8ad9ca31a8372d0c354";
export const OTHER_ZONE = "99999999999999999999999999999999";
export const LBS = `/accounts/${ACCOUNT}/load_balancers`;
export const HEX32 = /^[0-9a-f]{32}$/;

export interface ResultInfo {
	page: number;
	per_page: number;
	count: number;
	total_count: number;
}

export interface CfEnvelope<T = Record<string, unknown>> extends Envelope<T> {
	result_info?: ResultInfo;
}

/** A request to `/_lb/api<path>` with the admin token, under `vars` set on the Worker's env. */
export async function cf(
	method: string,
	path: string,
	body?: unknown,
	vars: Partial<Pick<Env, "ACCOUNT_ID" | "ZONE_ID">> = {},
): Promise<Response> {
	const ctx = createExecutionContext();
	const request = new Request(`${ADMIN}/_lb/api${path}`, {
		method,
		headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const response = await worker.fetch(
		request as Request<unknown, IncomingRequestCfProperties>,
		{ ...(env as unknown as Env), ...vars },
		ctx,
	);
	const bytes = await response.arrayBuffer();
	await waitOnExecutionContext(ctx);
	return new Response(bytes, response);
}

/** The envelope of a success with `status`. */
export async function ok<T = Record<string, unknown>>(response: Response, status = 200): Promise<CfEnvelope<T>> {
	const body = (await response.json()) as CfEnvelope<T>;
	expect(response.status, JSON.stringify(body.errors)).toBe(status);
	expect(body.success).toBe(true);
	return body;
}

/** A refusal in Cloudflare's envelope: `status`, success false, errors with a message, result null; returns the messages. */
export async function refused(response: Response, status: number): Promise<string> {
	const body = (await response.json()) as CfEnvelope<null>;
	expect(response.status, JSON.stringify(body)).toBe(status);
	expect(body.success).toBe(false);
	expect(body.result).toBeNull();
	expect(body.errors.length).toBeGreaterThan(0);
	return body.errors.map((error) => `${error.field ?? ""} ${error.message}`).join("\n");
}
