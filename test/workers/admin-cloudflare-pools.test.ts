/**
 * Cloudflare's pool paths (issue 17): /accounts/:account_id/load_balancers/pools[/:id], the bulk
 * PATCH of notification_email, …/health, …/preview (the SDK's pools.health.create), …/references,
 * and lists with result_info and paging over raw HTTP.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { readStored } from "./admin-helpers";
import { ACCOUNT, type CfEnvelope, cf, HEX32, LBS, ok, refused } from "./cloudflare-api";
import { onePoolConfig, originUrl, putConfig, runCron, setOriginHealthy, startClean } from "./helpers";

beforeEach(startClean);

const POOLS = `${LBS}/pools`;
const origin = (name: string) => ({ name, address: originUrl(name) });

describe("pools through Cloudflare's paths", () => {
	it("create, list, get, update, edit and delete, as Cloudflare answers them", async () => {
		await putConfig({ monitors: [{ id: "health", path: "/health" }] });
		const created = await ok(await cf("POST", POOLS, { name: "primary", monitor: "health", origins: [origin("a")] }));
		const id = created.result.id as string;
		expect(id).toMatch(HEX32);
		expect(created.result).toMatchObject({ name: "primary", enabled: true, origins: [{ name: "a", weight: 1 }] });

		const list = await ok<unknown[]>(await cf("GET", POOLS));
		expect(list.result).toEqual([created.result]);
		expect(list.result_info).toEqual({ page: 1, per_page: 1, count: 1, total_count: 1 });
		expect((await ok(await cf("GET", `${POOLS}/${id}`))).result).toEqual(created.result);

		const updated = await ok(await cf("PUT", `${POOLS}/${id}`, { name: "primary", origins: [origin("b")] }));
		expect(updated.result).toMatchObject({ id, origins: [{ name: "b" }] });
		expect(updated.result.monitor).toBeUndefined();
		const edited = await ok(await cf("PATCH", `${POOLS}/${id}`, { description: "edited", monitor: "health" }));
		expect(edited.result).toMatchObject({ id, description: "edited", monitor: "health", origins: [{ name: "b" }] });
		expect((await readStored()).document.pools).toEqual([edited.result]);

		// The monitor filter the SDK's list takes.
		expect((await ok<unknown[]>(await cf("GET", `${POOLS}?monitor=health`))).result).toHaveLength(1);
		expect((await ok<unknown[]>(await cf("GET", `${POOLS}?monitor=other`))).result).toEqual([]);

		expect((await ok(await cf("DELETE", `${POOLS}/${id}`))).result).toEqual({ id });
		expect((await readStored()).document.pools).toEqual([]);
	});

	it("refuses unknown ids, invalid bodies, a pool still in use and another account when ACCOUNT_ID is set", async () => {
		await putConfig(onePoolConfig(["a"]));
		const before = await readStored();
		for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
			await refused(await cf(method, `${POOLS}/nope`, method === "GET" || method === "DELETE" ? undefined : {}), 404);
		}
		await refused(await cf("GET", `${POOLS}/nope/health`), 404);
		await refused(await cf("POST", `${POOLS}/nope/preview`, {}), 404);
		await refused(await cf("GET", `${POOLS}/nope/references`), 404);
		expect(await refused(await cf("POST", POOLS, { name: "x" }), 400)).toContain("pools[1].origins");
		expect(await refused(await cf("PATCH", `${POOLS}/main`, { origins: [{ name: "x", address: "" }] }), 400)).toContain(
			"address",
		);
		expect(await refused(await cf("DELETE", `${POOLS}/main`), 409)).toContain("app.test");
		const account = { ACCOUNT_ID: ACCOUNT };
		await refused(await cf("GET", "/accounts/another/load_balancers/pools", undefined, account), 404);
		await refused(await cf("GET", "/accounts/another/load_balancers/pools/main/health", undefined, account), 404);
		await ok(await cf("GET", `${POOLS}/main`, undefined, account));
		expect((await readStored()).text).toBe(before.text);
	});

	it("pages lists over raw HTTP, and returns everything without paging parameters", async () => {
		const pool = (id: string) => ({ id, name: id, origins: [origin("a")] });
		await putConfig({ pools: ["p1", "p2", "p3"].map(pool) });
		const ids = (body: CfEnvelope<{ id: string }[]>) => body.result.map((item) => item.id);

		const all = await ok<{ id: string }[]>(await cf("GET", POOLS));
		expect(ids(all)).toEqual(["p1", "p2", "p3"]);
		expect(all.result_info).toEqual({ page: 1, per_page: 3, count: 3, total_count: 3 });
		const second = await ok<{ id: string }[]>(await cf("GET", `${POOLS}?page=2&per_page=2`));
		expect(ids(second)).toEqual(["p3"]);
		expect(second.result_info).toEqual({ page: 2, per_page: 2, count: 1, total_count: 3 });
		const first = await ok<{ id: string }[]>(await cf("GET", `${POOLS}?per_page=2`));
		expect(ids(first)).toEqual(["p1", "p2"]);
		expect(first.result_info).toEqual({ page: 1, per_page: 2, count: 2, total_count: 3 });
		const beyond = await ok<{ id: string }[]>(await cf("GET", `${POOLS}?page=9&per_page=2`));
		expect(beyond.result).toEqual([]);
		expect(beyond.result_info).toEqual({ page: 9, per_page: 2, count: 0, total_count: 3 });
		for (const query of ["page=0", "per_page=0", "per_page=1001", "page=x", "per_page=1.5"]) {
			expect(await refused(await cf("GET", `${POOLS}?${query}`), 400)).toMatch(/page must be a whole number/);
		}
	});

	it("clears notification_email on every pool with a bulk PATCH, and refuses anything else", async () => {
		const pool = (id: string) => ({ id, name: id, notification_email: `${id}@example.com`, origins: [origin("a")] });
		await putConfig({ pools: ["p1", "p2"].map(pool) });
		const before = await readStored();
		expect(await refused(await cf("PATCH", POOLS, { notification_email: "x@example.com" }), 400)).toContain(
			"notification_email",
		);
		await refused(await cf("PATCH", POOLS, { notification_email: "", enabled: false }), 400);
		expect((await readStored()).text).toBe(before.text);

		const edited = await ok<{ id: string; notification_email: string }[]>(
			await cf("PATCH", POOLS, { notification_email: "" }),
		);
		expect(edited.result.map((item) => [item.id, item.notification_email])).toEqual([
			["p1", ""],
			["p2", ""],
		]);
		expect(edited.result_info?.total_count).toBe(2);
		expect((await readStored()).document.pools.map((item) => item.notification_email)).toEqual(["", ""]);
	});

	it("bulk PATCH: {} edits nothing and answers every pool; clearing touches only pools that had an address", async () => {
		const pool = (id: string, email?: string) => ({
			id,
			name: id,
			...(email === undefined ? {} : { notification_email: email }),
			origins: [origin("a")],
		});
		await putConfig({ pools: [pool("p1", "ops@example.com"), pool("p2"), pool("p3", "")] });
		const before = await readStored();

		// What the SDK's pools.bulkEdit({ account_id }) sends: no edit, every pool, the same version.
		const empty = await cf("PATCH", POOLS, {});
		const none = await ok<{ id: string }[]>(empty);
		expect(none.result).toEqual(before.document.pools);
		expect(none.result_info?.total_count).toBe(3);
		expect(empty.headers.get("etag")).toBe(before.etag);
		expect(await readStored()).toEqual(before);

		const cleared = await cf("PATCH", POOLS, { notification_email: "" });
		const body = await ok<{ id: string; notification_email?: string }[]>(cleared);
		expect(body.result.map((item) => [item.id, item.notification_email])).toEqual([
			["p1", ""],
			["p2", undefined],
			["p3", ""],
		]);
		expect(body).toMatchObject({
			changes: [{ kind: "pool", id: "p1", change: "changed", fields: ["notification_email"] }],
		});
		const after = await readStored();
		expect(after.version).toBe(before.version + 1);
		expect(after.document.pools.slice(1)).toEqual(before.document.pools.slice(1));

		// Nothing left to clear: no write, no new version, no audit entry.
		const again = await cf("PATCH", POOLS, { notification_email: "" });
		expect((await ok<unknown[]>(again)).result).toEqual(after.document.pools);
		expect(again.headers.get("etag")).toBe(after.etag);
		expect(await readStored()).toEqual(after);
	});

	it("answers a pool's health in Cloudflare's shape, under the place \"local\"", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		await setOriginHealthy("b", false);
		await runCron(Date.now());
		const health = await ok(await cf("GET", `${POOLS}/main/health`));
		expect(health.result).toEqual({
			pool_id: "main",
			pop_health: {
				local: {
					healthy: true,
					origins: [
						{
							[originUrl("a")]: {
								healthy: true,
								rtt: expect.stringMatching(/^\d+ms$/),
								failure_reason: "No failures",
								response_code: 200,
							},
						},
						{
							[originUrl("b")]: {
								healthy: false,
								rtt: expect.stringMatching(/^\d+ms$/),
								failure_reason: "status 503, expected 2xx",
								response_code: 503,
							},
						},
					],
				},
			},
		});
	});

	it("previews a pool's origins with its monitor's settings and the body's over them (pools.health.create)", async () => {
		await putConfig(onePoolConfig(["a"]));
		const started = await ok<{ preview_id: string; pools: Record<string, string> }>(
			await cf("POST", `${POOLS}/main/preview`, { path: "/missing/health", expected_codes: "201" }),
		);
		expect(started.result.pools).toEqual({ main: "main" });
		const results = await ok(await cf("GET", `${LBS}/preview/${started.result.preview_id}`));
		expect(results.result).toEqual({
			main: {
				healthy: false,
				origins: [
					{
						[originUrl("a")]: {
							healthy: false,
							rtt: expect.stringMatching(/^\d+ms$/),
							failure_reason: "status 200, expected 201",
							response_code: 200,
						},
					},
				],
			},
		});
		expect(await refused(await cf("POST", `${POOLS}/main/preview`, { timeout: 0 }), 400)).toContain("timeout");
	});

	it("lists the monitor a pool uses and the load balancers that use it as its references", async () => {
		await putConfig(onePoolConfig(["a"]));
		const lb = (await readStored()).document.load_balancers[0];
		const references = await ok<unknown[]>(await cf("GET", `${POOLS}/main/references`));
		expect(references.result).toEqual([
			{ reference_type: "referral", resource_id: "health", resource_name: "health", resource_type: "monitor" },
			{ reference_type: "referrer", resource_id: lb?.id, resource_name: "app.test", resource_type: "load_balancer" },
		]);
	});
});
