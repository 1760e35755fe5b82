/**
 * Session affinity cookies. The cookie pins a visitor to an origin: hostname, pool, origin, expiry
 * and the id of the key that signed it, HMAC-SHA256-signed so it cannot be forged, and with a key
 * id so keys can rotate (a cookie signed with the previous key still verifies). A forged, expired
 * or foreign cookie is ignored, never an error. Web Crypto only: runs in workerd and in Node.
 * Cloudflare's equivalent is the `__cflb` cookie:
 * https://developers.cloudflare.com/load-balancing/understand-basics/session-affinity/
 */

import type { AffinityPlan, Pin } from "../contract/route";
import { shortDigest } from "../digest";

export const AFFINITY_COOKIE = "__switchyard_affinity";

export interface AffinityKey {
	/** First 8 hex digits of the secret's SHA-256: names the key in the cookie, never reveals it. */
	readonly id: string;
	readonly key: CryptoKey;
}

interface CookiePayload {
	readonly h: string;
	readonly p: string;
	readonly o: string;
	/** Expiry, seconds since the epoch. */
	readonly e: number;
	readonly k: string;
}

const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | undefined {
	try {
		const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
		return Uint8Array.from(binary, (char) => char.charCodeAt(0));
	} catch {
		return undefined;
	}
}

/** Signing keys from secrets, the current one first (it signs); later ones only verify. */
export async function toAffinityKeys(secrets: readonly (string | undefined)[]): Promise<AffinityKey[]> {
	const keys: AffinityKey[] = [];
	for (const secret of secrets) {
		if (!secret) continue;
		const id = await shortDigest(secret);
		const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
			"sign",
			"verify",
		]);
		keys.push({ id, key });
	}
	return keys;
}

export async function toCookieValue(
	hostname: string,
	pin: Pin,
	ttlS: number,
	key: AffinityKey,
	nowMs: number,
): Promise<string> {
	const payload: CookiePayload = {
		h: hostname,
		p: pin.pool,
		o: pin.origin,
		e: Math.floor(nowMs / 1000) + ttlS,
		k: key.id,
	};
	const body = toBase64Url(encoder.encode(JSON.stringify(payload)));
	const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key.key, encoder.encode(body)));
	return `${body}.${toBase64Url(signature)}`;
}

/** The pin in a request's Cookie header, when it is ours, for this host, unexpired and correctly signed. */
export async function readPin(
	cookieHeader: string | null,
	hostname: string,
	keys: readonly AffinityKey[],
	nowMs: number,
): Promise<Pin | undefined> {
	try {
		return await verifyPin(cookieHeader, hostname, keys, nowMs);
	} catch {
		// Whatever a client puts in a cookie, it is ignored, never an error.
		return undefined;
	}
}

function isPayload(value: unknown): value is CookiePayload {
	if (value === null || typeof value !== "object") return false;
	const payload = value as Record<string, unknown>;
	return (
		typeof payload.h === "string" &&
		typeof payload.p === "string" &&
		typeof payload.o === "string" &&
		typeof payload.k === "string" &&
		typeof payload.e === "number"
	);
}

async function verifyPin(
	cookieHeader: string | null,
	hostname: string,
	keys: readonly AffinityKey[],
	nowMs: number,
): Promise<Pin | undefined> {
	const value = readCookie(cookieHeader, AFFINITY_COOKIE);
	if (!value) return undefined;
	const [body, signature, extra] = value.split(".");
	if (!body || !signature || extra !== undefined) return undefined;
	const payloadBytes = fromBase64Url(body);
	const signatureBytes = fromBase64Url(signature);
	if (!payloadBytes || !signatureBytes) return undefined;
	const payload: unknown = JSON.parse(new TextDecoder().decode(payloadBytes));
	if (!isPayload(payload)) return undefined;
	const key = keys.find((candidate) => candidate.id === payload.k);
	if (!key) return undefined;
	const valid = await crypto.subtle.verify("HMAC", key.key, signatureBytes, encoder.encode(body));
	if (!valid || payload.h !== hostname || !(payload.e * 1000 > nowMs)) return undefined;
	return { pool: payload.p, origin: payload.o };
}

export function readCookie(cookieHeader: string | null, name: string): string | undefined {
	for (const part of (cookieHeader ?? "").split(";")) {
		const at = part.indexOf("=");
		if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
	}
	return undefined;
}

/** The Set-Cookie header for a pin, with the load balancer's session_affinity_attributes. */
export function toSetCookie(value: string, affinity: AffinityPlan, https: boolean): string {
	const parts = [`${AFFINITY_COOKIE}=${value}`, "Path=/", `Max-Age=${affinity.ttlS}`, "HttpOnly"];
	const secure = affinity.secure === "Always" || (affinity.secure === "Auto" && https);
	// SameSite=None needs Secure; "Auto" keeps the browser's default (Lax) unless the site is https.
	const samesite = affinity.samesite === "Auto" ? (secure ? "None" : "Lax") : affinity.samesite;
	if (samesite === "None" && !secure) parts.push("SameSite=Lax");
	else parts.push(`SameSite=${samesite}`);
	if (secure) parts.push("Secure");
	return parts.join("; ");
}

/**
 * What to send the registry with `route`, learned per hostname from its replies (one isolate's
 * cache, cleared when the registry's state moves): the request headers `header` affinity hashes,
 * and whether the load balancer steers by location (reading request.cf costs time; most do not).
 * For a hostname not seen yet, all small headers and the location go along once, so even the
 * first request is placed right.
 */
export class AffinityHeaderCache {
	private readonly byHost = new Map<string, readonly string[]>();
	/** Per hostname: does its load balancer steer by the visitor's location? */
	private readonly locationByHost = new Map<string, boolean>();
	private state: number | undefined;

	/** Whether to work out the visitor's location for `hostname` (yes until its replies say otherwise). */
	wantsLocation(hostname: string): boolean {
		return this.locationByHost.get(hostname) ?? true;
	}

	/** The headers to send with a route call for `hostname`. */
	select(hostname: string, headers: Headers): Record<string, string> | undefined {
		const names = this.byHost.get(hostname);
		if (names !== undefined && names.length === 0) return undefined;
		const selected: Record<string, string> = {};
		if (names === undefined) {
			let count = 0;
			for (const [name, value] of headers) {
				if (name === "cookie" || name === "authorization" || value.length > 256 || ++count > 48) continue;
				selected[name] = value;
			}
		} else {
			for (const name of names) {
				const value = headers.get(name);
				if (value !== null) selected[name] = value;
			}
		}
		return selected;
	}

	learn(hostname: string, names: readonly string[], state: number | undefined, needsLocation = true): void {
		if (state !== this.state) {
			this.byHost.clear();
			this.locationByHost.clear();
			this.state = state;
		}
		this.byHost.set(
			hostname,
			names.map((name) => name.toLowerCase()),
		);
		this.locationByHost.set(hostname, needsLocation);
	}
}
