/**
 * Issue 15: what the admin input fuzzer (test/faults/workers/admin-fuzz.test.ts) found, kept as
 * fixed cases. A CRUD body whose key field (`id`, or an origin's or load balancer's `name`) is an
 * object JavaScript cannot turn into a string (its `toString` is not a function) made the admin
 * API answer 500: the key was read with String() before validation. It is a 400 naming the field
 * now, and nothing stored changes.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { adminRaw, expectFailure, expectUnchanged, readStored, type Stored } from "./admin-helpers";
import { onePoolConfig, putConfig, startClean } from "./helpers";

beforeEach(startClean);

async function setUp(): Promise<Stored> {
	await putConfig(onePoolConfig(["a", "b"]));
	return readStored();
}

const UNPRINTABLE = ['{"toString": 1}', '{"toString": null, "valueOf": null}', '{"valueOf": 1, "toString": {}}'];

describe("issue 15: a key field that String() cannot convert is a 400, not a 500", () => {
	for (const value of UNPRINTABLE) {
		it(`monitors, pools and load balancers: ${value}`, async () => {
			const before = await setUp();
			const writes: [string, string, string, string][] = [
				["POST", "/monitors", `{"id": ${value}, "path": "/health"}`, "monitors[1].id"],
				["PUT", "/monitors/health", `{"id": ${value}, "path": "/health"}`, "id"],
				["PATCH", "/pools/main", `{"id": ${value}}`, "id"],
				["POST", "/pools", `{"id": ${value}, "name": "p", "origins": []}`, "pools[1].id"],
				["POST", "/load_balancers", `{"name": ${value}, "default_pools": ["main"]}`, "load_balancers[1].name"],
				["PUT", "/load_balancers/app.test", `{"name": ${value}, "default_pools": ["main"]}`, "name"],
			];
			for (const [method, path, body, field] of writes) {
				const response = await adminRaw(method, path, body);
				await expectFailure(response, 400, 1001, field);
			}
			await expectUnchanged(before);
		});

		it(`origins: ${value}`, async () => {
			const before = await setUp();
			const writes: [string, string, string, string][] = [
				[
					"POST",
					"/pools/main/origins",
					`{"name": ${value}, "address": "http://127.0.0.1:1"}`,
					"pools[0].origins[2].name",
				],
				["PUT", "/pools/main/origins/a", `{"name": ${value}, "address": "http://127.0.0.1:1"}`, "name"],
				["PATCH", "/pools/main/origins/a", `{"name": ${value}}`, "name"],
			];
			for (const [method, path, body, field] of writes) {
				const response = await adminRaw(method, path, body);
				await expectFailure(response, 400, 1001, field);
			}
			await expectUnchanged(before);
		});
	}

	it("an id that is a list is not taken for the string inside it", async () => {
		const before = await setUp();
		// String(["health"]) is "health": the list used to pass for the path's id and be replaced by it.
		const response = await adminRaw("PUT", "/monitors/health", '{"id": ["health"], "path": "/other"}');
		const body = await expectFailure(response, 400, 1001, "id");
		expect(body.errors[0]?.message).toMatch(/cannot change/);
		await expectUnchanged(before);
	});
});
