/**
 * Alerts, the pure part: which notifications a batch of health transitions sends (an origin's
 * health, its pool's health, an ejection), the JSON body each one POSTs, its signature
 * (`X-Switchyard-Signature: sha256=<hex HMAC-SHA256 of the body>`, as GitHub's webhooks sign), and
 * the retry schedule: exponential backoff from 1 s, capped, given up an hour after the first try.
 * The authority queues and sends them (notifications.ts).
 */
import type { NotificationEvent } from "../config/notification-schema";
import type { Config, LoadBalancer } from "../config/schema";
import { isPoolHealthy } from "../routing/plan";
import { poolOfKey, type Snapshot } from "../routing/snapshot";

export const SIGNATURE_HEADER = "X-Switchyard-Signature";
export const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 5 * 60_000;
/** A delivery not accepted this long after its first attempt is dropped. */
export const MAX_DELIVERY_AGE_MS = 60 * 60_000;

/** One health transition, as the authority records it in its events. */
export interface Transition {
	readonly at: number;
	readonly originKey: string;
	readonly healthy: boolean;
	readonly reason: string;
	/** An ejection the authority accepted (not a health check's verdict). */
	readonly ejection?: boolean;
}

export interface AlertBody {
	readonly id: string;
	readonly event: NotificationEvent;
	readonly load_balancers: string[];
	readonly pool: string;
	readonly origin: string | null;
	readonly healthy: boolean;
	readonly reason: string;
	readonly at: string;
	readonly config_version: number;
}

/** A POST to queue: which notification, where, and its body's exact text. */
export interface QueuedAlert {
	readonly id: string;
	readonly notificationId: string;
	readonly url: string;
	readonly secretName: string;
	readonly body: string;
}

/** The delay before the next attempt after `failures` failed ones: 1 s, 2 s, 4 s … capped at MAX_RETRY_MS. */
export function toRetryDelayMs(failures: number): number {
	return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
}

/** When to try again after `failures` failed attempts, or undefined when the delivery is given up. */
export function toNextAttemptAt(firstAt: number, failures: number, now: number): number | undefined {
	const next = now + toRetryDelayMs(failures);
	return next - firstAt > MAX_DELIVERY_AGE_MS ? undefined : next;
}

/** `sha256=<hex>`: HMAC-SHA256 of the body's UTF-8 bytes with the secret. */
export async function signBody(body: string, secret: string): Promise<string> {
	const encoder = new TextEncoder();
	const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
	]);
	const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
	return `sha256=${Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** The load balancers that send to `pool` by any of their pool lists. */
export function loadBalancersUsing(config: Config, pool: string): string[] {
	const uses = (lb: LoadBalancer) =>
		lb.default_pools.includes(pool) ||
		lb.fallback_pool === pool ||
		[lb.region_pools, lb.country_pools, lb.pop_pools].some((map) =>
			Object.values(map ?? {}).some((pools) => (pools as string[] | undefined)?.includes(pool)),
		);
	return config.load_balancers.filter(uses).map((lb) => lb.name);
}

/**
 * The alerts a batch of transitions sends. A pool's health is compared before and after the batch:
 * before is now with the batch's origins turned back. `isHealthy`: an origin's health now.
 */
export function toAlerts(
	transitions: readonly Transition[],
	snapshot: Snapshot,
	isHealthy: (key: string) => boolean,
	newId: () => string,
): QueuedAlert[] {
	const { config } = snapshot;
	if (!config.notifications?.length || transitions.length === 0) return [];
	const bodies: Omit<AlertBody, "id" | "config_version" | "load_balancers">[] = [];
	const flipped = new Set<string>();
	const pools = new Map<string, number>();
	for (const t of transitions) {
		const pool = poolOfKey(t.originKey);
		const origin = t.originKey.slice(pool.length + 1);
		const event = t.ejection ? "ejection" : "origin_health";
		bodies.push({ event, pool, origin, healthy: t.healthy, reason: t.reason, at: new Date(t.at).toISOString() });
		flipped.add(t.originKey);
		pools.set(pool, Math.max(pools.get(pool) ?? 0, t.at));
	}
	for (const [pool, at] of pools) {
		const entry = snapshot.pools.get(pool);
		const after = isPoolHealthy(entry, isHealthy);
		const before = isPoolHealthy(entry, (key) => (flipped.has(key) ? !isHealthy(key) : isHealthy(key)));
		if (before === after) continue;
		const reason = after ? "enough healthy origins again" : "fewer healthy origins than minimum_origins";
		bodies.push({ event: "pool_health", pool, origin: null, healthy: after, reason, at: new Date(at).toISOString() });
	}
	const alerts: QueuedAlert[] = [];
	for (const body of bodies) {
		for (const notification of config.notifications) {
			if (!notification.events.includes(body.event)) continue;
			const id = newId();
			const full: AlertBody = {
				id,
				event: body.event,
				load_balancers: loadBalancersUsing(config, body.pool),
				pool: body.pool,
				origin: body.origin,
				healthy: body.healthy,
				reason: body.reason,
				at: body.at,
				config_version: snapshot.version,
			};
			const { url, secret_name: secretName } = notification;
			alerts.push({ id, notificationId: notification.id, url, secretName, body: JSON.stringify(full) });
		}
	}
	return alerts;
}
