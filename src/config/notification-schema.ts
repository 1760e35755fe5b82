/**
 * The `notifications` of the configuration document: signed alerts on health changes
 * (src/registry/notifications.ts sends them).
 */
import { z } from "zod";

/** What a notification can be sent for: an origin's health, a pool's health, an ejection the authority accepted. */
export const NOTIFICATION_EVENTS = ["origin_health", "pool_health", "ejection"] as const;

/**
 * An alert: a signed POST to `url` on each matching transition (src/registry/notifications.ts).
 * `secret_name` names a Worker secret (`wrangler secret put`): the secret itself is never here.
 */
export const notificationSchema = z.strictObject({
	id: z.string().trim().min(1).max(100),
	url: z
		.string()
		.max(2048)
		.refine((value) => /^https?:$/.test(URL.parse(value)?.protocol ?? ""), "must be an http:// or https:// URL"),
	secret_name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must name a Worker secret (letters, digits and _)"),
	events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1, "must list at least one event"),
});

export type Notification = z.output<typeof notificationSchema>;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
