/**
 * Alerts, the authority's part: health transitions written to the events with the alerts they
 * send queued in the same transaction (the `deliveries` table, so a restart loses none), and the
 * alarm's deliveries: a signed POST each, retried with backoff (alerts.ts) for up to an hour.
 * Every delivery and every failure is an event (GET /_lb/api/events) naming the notification and
 * the delivery, never the secret or the signature. The secret is read from the Worker's env by
 * name at delivery time.
 */
import type { EventEntry } from "../contract/status";
import type { RoutingState } from "../routing/routing-state";
import { SIGNATURE_HEADER, signBody, type Transition, toAlerts, toNextAttemptAt } from "./alerts";
import { appendHealthEvent, EVENTS_KEPT } from "./storage";

/** Deliveries sent by one alarm at most (every fetch counts against the invocation's subrequests). */
export const DELIVERIES_PER_ALARM = 4;
const DELIVERY_TIMEOUT_MS = 10_000;

export type AlertEvent = Extract<EventEntry, { type: "alert" }>;

type DeliveryRow = {
	id: string;
	notification_id: string;
	url: string;
	secret_name: string;
	body: string;
	attempts: number;
	first_at: number;
	next_at: number;
};

export interface NotifierHooks {
	/** A delivery was queued: the alarm must come (soon). */
	queued(): void;
	readonly fetch?: typeof fetch;
	readonly now?: () => number;
}

export class Notifier {
	/** Deliveries being sent now: an alarm that overlaps another never sends one twice. */
	private readonly sending = new Set<string>();

	constructor(
		private readonly sql: SqlStorage,
		private readonly env: object,
		private readonly routing: RoutingState,
		private readonly hooks: NotifierHooks,
	) {}

	/** Whether the Worker has a binding (a secret) by this name. */
	static hasSecret(env: object, name: string): boolean {
		return typeof (env as Record<string, unknown>)[name] === "string";
	}

	/** Writes health transitions to the events and queues the alerts they send; the caller runs it in a transaction. */
	record(transitions: readonly Transition[]): void {
		if (transitions.length === 0) return;
		for (const transition of transitions) appendHealthEvent(this.sql, transition);
		const now = this.hooks.now?.() ?? Date.now();
		const alerts = toAlerts(transitions, this.routing.snapshot, this.routing.healthAt(now), () => crypto.randomUUID());
		for (const alert of alerts) {
			this.sql.exec(
				"INSERT INTO deliveries (id, notification_id, url, secret_name, body, attempts, first_at, next_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
				alert.id,
				alert.notificationId,
				alert.url,
				alert.secretName,
				alert.body,
				now,
				now,
			);
		}
		if (alerts.length > 0) this.hooks.queued();
	}

	/** When the next queued delivery is due, if any is queued. */
	nextDueAt(): number | undefined {
		const row = this.sql.exec<{ next: number | null }>("SELECT MIN(next_at) AS next FROM deliveries").toArray()[0];
		return row?.next ?? undefined;
	}

	/** Sends the deliveries due at `now` (DELIVERIES_PER_ALARM at most, oldest first); how many it sent. Never throws. */
	async deliverDue(now: number): Promise<number> {
		const due = this.sql
			.exec<DeliveryRow>("SELECT * FROM deliveries WHERE next_at <= ? ORDER BY next_at", now)
			.toArray()
			.filter((row) => !this.sending.has(row.id))
			.slice(0, DELIVERIES_PER_ALARM);
		for (const row of due) this.sending.add(row.id);
		try {
			await Promise.all(due.map((row) => this.deliver(row)));
		} finally {
			for (const row of due) this.sending.delete(row.id);
		}
		return due.length;
	}

	private async deliver(row: DeliveryRow): Promise<void> {
		const attempt = row.attempts + 1;
		let failure: { status?: number; error: string } | undefined;
		const secret = (this.env as Record<string, unknown>)[row.secret_name];
		if (typeof secret !== "string") {
			failure = { error: `no Worker secret named ${row.secret_name}` };
		} else {
			try {
				const response = await (this.hooks.fetch ?? fetch)(row.url, {
					method: "POST",
					headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signBody(row.body, secret) },
					body: row.body,
					signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
				});
				await response.body?.cancel();
				if (!response.ok) failure = { status: response.status, error: `the receiver answered ${response.status}` };
			} catch (error) {
				failure = { error: error instanceof Error ? error.message : String(error) };
			}
		}
		const now = this.hooks.now?.() ?? Date.now();
		const event = (JSON.parse(row.body) as { event: string }).event;
		const base = { notification: row.notification_id, delivery: row.id, event, url: row.url, attempt };
		if (!failure) {
			this.sql.exec("DELETE FROM deliveries WHERE id = ?", row.id);
			this.append(now, { ...base, outcome: "delivered" });
			return;
		}
		const next = toNextAttemptAt(row.first_at, attempt, now);
		if (next === undefined) this.sql.exec("DELETE FROM deliveries WHERE id = ?", row.id);
		else this.sql.exec("UPDATE deliveries SET attempts = ?, next_at = ? WHERE id = ?", attempt, next, row.id);
		this.append(now, {
			...base,
			outcome: next === undefined ? "dropped" : "failed",
			...(failure.status !== undefined ? { status: failure.status } : {}),
			error: failure.error,
			...(next !== undefined ? { next_attempt_at: new Date(next).toISOString() } : {}),
		});
	}

	private append(at: number, event: Omit<AlertEvent, "type" | "at">): void {
		this.sql.exec("INSERT INTO alert_events (at, doc) VALUES (?, ?)", at, JSON.stringify(event));
		this.sql.exec("DELETE FROM alert_events WHERE id <= (SELECT MAX(id) FROM alert_events) - ?", EVENTS_KEPT);
	}
}

/** The newest alert events first. */
export function listAlertEvents(sql: SqlStorage, limit: number): AlertEvent[] {
	return sql
		.exec<{ at: number; doc: string }>("SELECT at, doc FROM alert_events ORDER BY id DESC LIMIT ?", limit)
		.toArray()
		.map((row) => ({ type: "alert", at: new Date(row.at).toISOString(), ...JSON.parse(row.doc) }));
}
