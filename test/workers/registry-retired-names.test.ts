/**
 * Issue 11 (found by the review of the house): before counter objects had a class of their own, the
 * `Registry` class also served as counter shards, addressed as REGISTRY.getByName("lb:<name>"). A
 * Worker still running that code during a deploy may address one; it must not become a second
 * authority (tables, a seed, an alarm probing origins, pushes with its own state).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { onePoolConfig, putConfig, startClean } from "./helpers";

beforeEach(startClean);

describe("a Registry object under a counter shard's old name", () => {
	it("keeps no storage and arms no alarm, while the authority works as before", async () => {
		await putConfig(onePoolConfig(["a"], { monitor: { interval: 5 } }));
		const retired = env.REGISTRY.getByName("lb:app.test");
		expect(await retired.getConfig()).toEqual({
			version: 0,
			json: JSON.stringify({ monitors: [], pools: [], load_balancers: [], notifications: [] }),
		});
		const { tables, alarm } = await runInDurableObject(retired, async (_, state) => ({
			tables: state.storage.sql
				.exec<{ name: string }>(
					"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
				)
				.toArray()
				.map((row) => row.name),
			alarm: await state.storage.getAlarm(),
		}));
		expect(tables).toEqual([]);
		expect(alarm).toBeNull();
		// The authority ("global") has its configuration and its alarm.
		const authority = env.REGISTRY.getByName("global");
		expect((await authority.getConfig()).version).toBe(1);
		expect(await runInDurableObject(authority, (_, state) => state.storage.getAlarm())).not.toBeNull();
	});
});
