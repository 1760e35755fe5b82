/**
 * Issue 18, item 3: queued alerts survive an authority restart. A file of its own: the authority is
 * aborted (`state.abort()` inside runInDurableObject) between a failed attempt and the next; the
 * delivery is in its storage, and the restarted authority's alarm delivers it.
 */
import { reset, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, inject, it } from "vitest";
import type { EventEntry } from "../../src/contract/status";
import { AUTHORITY } from "../../src/routing/shard-keys";
import type { ReceivedAlert } from "../support/alert-types";
import { adminResult, originUrl, putConfig } from "./helpers";

const authority = () => env.REGISTRY.getByName(AUTHORITY);
const receiver = () => inject("alertReceiver");

async function receivedAlerts(): Promise<ReceivedAlert[]> {
	return (await (await fetch(`${receiver()}/_receiver/received`)).json()) as ReceivedAlert[];
}

async function untilReceived(count: number, timeoutMs = 15_000): Promise<ReceivedAlert[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const alerts = await receivedAlerts();
		if (alerts.length >= count || Date.now() > deadline) return alerts;
		await runDurableObjectAlarm(authority());
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

it("a delivery queued before the authority restarts is delivered after it", async () => {
	await reset();
	await (await fetch(`${receiver()}/_receiver/received`, { method: "DELETE" })).body?.cancel();
	await (await fetch(`${receiver()}/_receiver/fail?times=1&status=503`, { method: "POST" })).body?.cancel();
	await putConfig({
		pools: [
			{
				id: "main",
				name: "main",
				origins: [
					{ name: "a", address: originUrl("a") },
					{ name: "b", address: originUrl("b") },
				],
			},
		],
		load_balancers: [{ name: "app.test", default_pools: ["main"] }],
		notifications: [
			{ id: "ops", url: `${receiver()}/hooks/ops`, secret_name: "ALERT_TEST_SECRET", events: ["ejection"] },
		],
	});
	const now = Date.now();
	await authority().recordEjections([{ key: "main/a", until: now + 120_000, reason: "ejected", at: now }]);
	expect((await untilReceived(1)).map((alert) => alert.status)).toEqual([503]);
	const queued = await runInDurableObject(authority(), (_, state) =>
		state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries").one(),
	);
	expect(queued.n).toBe(1);

	await runInDurableObject(authority(), (_, state) => state.abort("restart")).catch(() => undefined);

	const alerts = await untilReceived(2);
	expect(alerts.map((alert) => alert.status)).toEqual([503, 200]);
	expect(alerts[1]?.body).toBe(alerts[0]?.body);
	const events = await adminResult<EventEntry[]>("/events?limit=20");
	expect(
		events.filter((event) => event.type === "alert").map((event) => event.type === "alert" && event.outcome),
	).toEqual(["delivered", "failed"]);
});
