/**
 * Helpers for the admin API tests (admin-*.test.ts): raw requests with any token, body and content
 * type; the envelope and ETag of an answer; and "nothing already stored changed" checks that read
 * the configuration, its ETag and the audit log before and after a refused request.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ADMIN, type Envelope, send, TOKEN } from "./helpers";

export const READ_TOKEN = "test-read-token";
export const API = `${ADMIN}/_lb/api`;

export type Item = Record<string, unknown>;
export type OriginDoc = Item & { name: string; address: string; enabled: boolean; weight: number };
export type PoolDoc = Item & { id: string; name: string; origins: OriginDoc[] };
export interface ConfigDoc {
	monitors: (Item & { id: string })[];
	pools: PoolDoc[];
	load_balancers: (Item & { name: string })[];
}

export interface Change {
	kind: "monitor" | "pool" | "origin" | "load_balancer";
	id: string;
	change: "added" | "removed" | "changed";
	fields?: string[];
}

/** A CRUD write's answer: the envelope plus `dry_run` and `changes`. */
export interface WriteEnvelope<T = Item> extends Envelope<T> {
	dry_run: boolean;
	changes: Change[];
}

export interface PutConfigResult {
	version: number;
	changed: boolean;
	dry_run: boolean;
	changes: Change[];
}

export type EventEntry =
	| { type: "config"; at: string; actor: string; action: string; version: number; changes: Change[] }
	| { type: "health"; at: string; pool: string; origin: string; healthy: boolean; reason: string };

export interface OriginStatus {
	name: string;
	address: string;
	enabled: boolean;
	healthy: boolean;
	draining: boolean;
	draining_since: string | null;
}

export interface StatusReport {
	version: number;
	load_balancers: {
		name: string;
		enabled: boolean;
		default_pools: string[];
		fallback_pool: string;
		rules?: { name: string; disabled: boolean; matched: number }[];
	}[];
	pools: { id: string; name: string; healthy: boolean; origins: OriginStatus[] }[];
}

/** An admin request with a chosen token (undefined: no Authorization header) and a JSON body. */
export function adminAs(
	token: string | undefined,
	method: string,
	path: string,
	body?: unknown,
	headers: Record<string, string> = {},
): Promise<Response> {
	return send(`${API}${path}`, {
		method,
		headers: {
			...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
			"content-type": "application/json",
			...headers,
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
}

/** An admin-token request whose body is sent byte for byte, with the given content type. */
export function adminRaw(
	method: string,
	path: string,
	body: string,
	contentType = "application/json",
): Promise<Response> {
	return send(`${API}${path}`, {
		method,
		headers: { authorization: `Bearer ${TOKEN}`, "content-type": contentType },
		body,
	});
}

/** The configuration version an ETag names: `"7"` → 7. */
export function versionOf(response: Response): number {
	const etag = response.headers.get("etag");
	expect(etag, "ETag header").toMatch(/^"\d+"$/);
	return Number(JSON.parse(etag as string));
}

export async function envelopeOf<T>(response: Response): Promise<T> {
	expect(response.headers.get("content-type")).toMatch(/^application\/json/);
	return (await response.json()) as T;
}

/** Asserts a refused request: status, the envelope with one error of `code` (and `field`), no result. */
export async function expectFailure(
	response: Response,
	status: number,
	code: number,
	field?: string,
): Promise<Envelope<null>> {
	const body = await envelopeOf<Envelope<null>>(response);
	expect(response.status, JSON.stringify(body)).toBe(status);
	expect(body.success).toBe(false);
	expect(body.result).toBeNull();
	expect(body.errors.length).toBeGreaterThan(0);
	for (const error of body.errors) {
		expect(error.code).toBe(code);
		expect(typeof error.message).toBe("string");
	}
	if (field !== undefined) expect(body.errors.map((error) => error.field)).toContain(field);
	return body;
}

export interface Stored {
	etag: string;
	version: number;
	text: string;
	document: ConfigDoc;
	auditEntries: number;
}

/** What is stored now: GET /config (ETag and exact body) and the number of audit entries. */
export async function readStored(): Promise<Stored> {
	const response = await adminAs(TOKEN, "GET", "/config");
	expect(response.status).toBe(200);
	const etag = response.headers.get("etag") as string;
	const text = await response.text();
	const document = (JSON.parse(text) as Envelope<ConfigDoc>).result;
	const events = await readEvents(1000);
	return {
		etag,
		version: versionOf(response),
		text,
		document,
		auditEntries: events.filter((event) => event.type === "config").length,
	};
}

/** Nothing already stored changed: same ETag, byte-identical GET /config, no new audit entry. */
export async function expectUnchanged(before: Stored): Promise<void> {
	const after = await readStored();
	expect(after.etag).toBe(before.etag);
	expect(after.document).toEqual(before.document);
	expect(after.text).toBe(before.text);
	expect(after.auditEntries).toBe(before.auditEntries);
}

export async function readEvents(limit = 100): Promise<EventEntry[]> {
	const response = await adminAs(TOKEN, "GET", `/events?limit=${limit}`);
	const body = (await response.json()) as Envelope<EventEntry[]>;
	expect(response.status, JSON.stringify(body)).toBe(200);
	return body.result;
}

export async function readStatus(): Promise<StatusReport> {
	const response = await adminAs(TOKEN, "GET", "/status");
	const body = (await response.json()) as Envelope<StatusReport>;
	expect(response.status).toBe(200);
	return body.result;
}

export function originStatus(status: StatusReport, pool: string, origin: string): OriginStatus | undefined {
	return status.pools.find((entry) => entry.id === pool)?.origins.find((entry) => entry.name === origin);
}

/** The first 8 hex digits of a token's SHA-256: what the audit log used to show of it, and must not. */
export async function tokenDigestPrefix(token: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
	return [...digest.slice(0, 4)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `count` proxied GETs to `host`; returns which origin served each (debug_headers must be on). */
export async function servedBy(host: string, count: number): Promise<string[]> {
	const names: string[] = [];
	for (let i = 0; i < count; i++) {
		const response = await send(`https://${host}/served/${i}`);
		expect(response.status).toBe(200);
		names.push(response.headers.get("x-switchyard-origin") ?? "?");
		await response.body?.cancel();
	}
	return names;
}

export function registryStub() {
	return env.REGISTRY.getByName("global");
}

/** Lets the clock move on, so entries written next carry a later timestamp. */
export function tick(ms = 5): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
