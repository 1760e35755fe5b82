/**
 * Session affinity cookies. The cookie pins a visitor to an origin: hostname, pool, origin and
 * expiry, encrypted and authenticated with AES-256-GCM, so it can be neither read (internal names
 * stay internal) nor forged. Keys rotate: the current key seals, and a cookie sealed with the
 * previous key still opens. A forged, expired, foreign or unreadable cookie is ignored, never an
 * error. Web Crypto only: runs in workerd and in Node. Cloudflare's equivalent is the `__cflb`
 * cookie: https://developers.cloudflare.com/load-balancing/understand-basics/session-affinity/
 */

import type { AffinityPlan, Attempt, Pin, RoutePlan } from "../contract/route";
import { fromBase64Url, toBase64Url } from "../digest";
import { BoundedMap } from "../routing/bounded-map";

export const AFFINITY_COOKIE = "__switchyard_affinity";

export interface AffinityKey {
	readonly key: CryptoKey;
}

interface CookiePayload {
	readonly h: string;
	readonly p: string;
	readonly o: string;
	/** Expiry, seconds since the epoch. */
	readonly e: number;
}

const encoder = new TextEncoder();
/** AES-GCM's nonce: 96 random bits per cookie. */
const IV_BYTES = 12;
/** AES-GCM's authentication tag. */
const TAG_BYTES = 16;
/** Separates the cookie key from other uses of the same secret. */
const KEY_CONTEXT = "switchyard affinity cookie v2\u0000";

/** Sealing keys from secrets, the current one first (it seals); later ones only open. */
export async function toAffinityKeys(secrets: readonly (string | undefined)[]): Promise<AffinityKey[]> {
	const keys: AffinityKey[] = [];
	for (const secret of secrets) {
		if (!secret) continue;
		const material = await crypto.subtle.digest("SHA-256", encoder.encode(KEY_CONTEXT + secret));
		const key = await crypto.subtle.importKey("raw", material, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
		keys.push({ key });
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
	const payload: CookiePayload = { h: hostname, p: pin.pool, o: pin.origin, e: Math.floor(nowMs / 1000) + ttlS };
	const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
	const sealed = new Uint8Array(
		await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key.key, encoder.encode(JSON.stringify(payload))),
	);
	const value = new Uint8Array(IV_BYTES + sealed.length);
	value.set(iv);
	value.set(sealed, IV_BYTES);
	return toBase64Url(value);
}

/** The pin in a request's Cookie header, when it is ours, opens with one of the keys, is for this host and unexpired. */
export async function readPin(
	cookieHeader: string | null,
	hostname: string,
	keys: readonly AffinityKey[],
	nowMs: number,
): Promise<Pin | undefined> {
	try {
		return await openPin(cookieHeader, hostname, keys, nowMs);
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
		typeof payload.e === "number"
	);
}

async function openPin(
	cookieHeader: string | null,
	hostname: string,
	keys: readonly AffinityKey[],
	nowMs: number,
): Promise<Pin | undefined> {
	const value = readCookie(cookieHeader, AFFINITY_COOKIE);
	const bytes = value ? fromBase64Url(value) : undefined;
	if (!bytes || bytes.length < IV_BYTES + TAG_BYTES) return undefined;
	const iv = bytes.slice(0, IV_BYTES);
	const sealed = bytes.slice(IV_BYTES);
	for (const { key } of keys) {
		let opened: ArrayBuffer;
		try {
			opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed);
		} catch {
			continue; // another key's, or forged
		}
		const payload: unknown = JSON.parse(new TextDecoder().decode(opened));
		if (!isPayload(payload) || payload.h !== hostname || !(payload.e * 1000 > nowMs)) return undefined;
		return { pool: payload.p, origin: payload.o };
	}
	return undefined;
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
 * Hostnames an AffinityHeaderCache remembers, the least recently used forgotten beyond (a wildcard
 * load balancer answers any number of them). A forgotten hostname is one not seen yet: its next
 * request sends all small headers and the location, and its reply teaches them again.
 */
export const MAX_AFFINITY_HOSTS = 1024;

interface HostNeeds {
	/** The request headers `header` affinity hashes (lower case); none for other load balancers. */
	readonly names: readonly string[];
	/** Does its load balancer steer by the visitor's location? */
	readonly location: boolean;
}

/**
 * What to send the registry with `route`, learned per hostname from its replies (one isolate's
 * cache, cleared when the registry's state moves): the request headers `header` affinity hashes,
 * and whether the load balancer steers by location (reading request.cf costs time; most do not).
 * For a hostname not seen yet, all small headers and the location go along once, so even the
 * first request is placed right.
 */
export class AffinityHeaderCache {
	private readonly byHost: BoundedMap<string, HostNeeds>;
	private state: number | undefined;

	constructor(maxHosts = MAX_AFFINITY_HOSTS) {
		this.byHost = new BoundedMap(maxHosts);
	}

	/** Hostnames remembered now (at most the bound). */
	get size(): number {
		return this.byHost.size;
	}

	/** Whether to work out the visitor's location for `hostname` (yes until its replies say otherwise). */
	wantsLocation(hostname: string): boolean {
		return this.byHost.get(hostname)?.location ?? true;
	}

	/** The headers to send with a route call for `hostname`. */
	select(hostname: string, headers: Headers): Record<string, string> | undefined {
		const names = this.byHost.get(hostname)?.names;
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
			this.state = state;
		} else {
			// Every reply teaches it: nothing to write when it says what is known already.
			const known = this.byHost.get(hostname);
			if (known?.location === needsLocation && isSameNames(known.names, names)) return;
		}
		this.byHost.set(hostname, { names: names.map((name) => name.toLowerCase()), location: needsLocation });
	}
}

/** Whether `names` are `lowered` (lower case already), in the same order. */
function isSameNames(lowered: readonly string[], names: readonly string[]): boolean {
	if (lowered.length !== names.length) return false;
	for (let i = 0; i < names.length; i++) if (lowered[i] !== names[i]?.toLowerCase()) return false;
	return true;
}

/**
 * The affinity cookie to set, if any: for `cookie` and `ip_cookie` affinity, pin the origin that
 * answered — unless the request's own pin was honoured and answered (nothing to change), or the
 * pinned origin failed over under zero_downtime_failover "temporary" (the pin stays for later).
 */
export async function toAffinityCookie(
	plan: Extract<RoutePlan, { ok: true }>,
	served: Attempt,
	attemptIndex: number,
	url: URL,
	keys: (() => Promise<readonly AffinityKey[]> | readonly AffinityKey[]) | undefined,
	nowMs: number,
): Promise<string | undefined> {
	const affinity = plan.affinity;
	if (!affinity || affinity.mode === "header" || !keys || plan.failOpen) return undefined;
	if (affinity.pinned && attemptIndex === 0) return undefined;
	// "temporary": a visitor whose pinned origin is down is served elsewhere but keeps its pin.
	if (affinity.pinPresent && affinity.zeroDowntimeFailover === "temporary") return undefined;
	const signer = (await keysOrNone(keys))[0];
	if (!signer) return undefined;
	const value = await toCookieValue(
		url.hostname,
		{ pool: served.pool, origin: served.origin },
		affinity.ttlS,
		signer,
		nowMs,
	);
	return toSetCookie(value, affinity, url.protocol === "https:");
}

/** The keys, or none when they cannot be had (a cold isolate whose hub does not answer: planning says so). */
export async function keysOrNone(
	keys: () => Promise<readonly AffinityKey[]> | readonly AffinityKey[],
): Promise<readonly AffinityKey[]> {
	try {
		return await keys();
	} catch (error) {
		console.error("switchyard: no session affinity keys", error);
		return [];
	}
}
