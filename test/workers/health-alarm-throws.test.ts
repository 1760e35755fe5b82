/**
 * Issue 15 (found by the fault suite, test/faults/workers/health-faults.test.ts): an alarm whose
 * probe round throws re-arms itself. The alarm re-armed only after a round that returned, so one
 * that threw (its results not recorded, a storage write failing) left no alarm: the runtime removes
 * an alarm when it runs it, and what came next was up to its few retries and the cron a minute later.
 */
import { reset, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { onePoolConfig, putConfig } from "./helpers";

beforeEach(() => reset());

const registry = () => env.REGISTRY.getByName("global");

describe("issue 15: the alarm's probe round throws", () => {
	it("re-arms the alarm for the next due probe", async () => {
		await putConfig(onePoolConfig(["a", "b"], { monitor: { interval: 5 } }));
		await runInDurableObject(registry(), (instance) => {
			const authority = instance as unknown as { recordProbes?: (results: unknown) => Promise<void> };
			authority.recordProbes = async () => {
				delete authority.recordProbes; // once
				throw new Error("injected: recording the round failed");
			};
		});
		const before = Date.now();
		await expect(runDurableObjectAlarm(registry())).rejects.toThrow("injected: recording the round failed");

		const armed = await runInDurableObject(registry(), (_, state) => state.storage.getAlarm());
		expect(armed).not.toBeNull();
		// The origins handed out to the lost round are due an interval after it.
		expect(armed as number).toBeGreaterThanOrEqual(before + 1_000);
		expect(armed as number).toBeLessThanOrEqual(Date.now() + 5_000);
	});
});
