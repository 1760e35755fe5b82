/**
 * Cloudflare's monitor paths (issue 17): /accounts/:account_id/load_balancers/monitors[/:id],
 * …/references, …/preview and …/preview/:preview_id, with Cloudflare's methods and envelope.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { readStored } from "./admin-helpers";
import { ACCOUNT, cf, HEX32, LBS, ok, refused } from "./cloudflare-api";
import { onePoolConfig, originUrl, putConfig, setOriginHealthy, startClean } from "./helpers";

beforeEach(startClean);

const MONITORS = `${LBS}/monitors`;

describe("monitors through Cloudflare's paths", () => {
	it("create, list, get, update, edit and delete, as Cloudflare answers them", async () => {
		const created = await ok(
			await cf("POST", MONITORS, { type: "http", path: "/health", expected_codes: "2xx", description: "web" }),
		);
		const id = created.result.id as string;
		expect(id).toMatch(HEX32);
		expect(created.result).toMatchObject({ path: "/health", expected_codes: "2xx", description: "web" });
		expect(created.result.created_on).toEqual(expect.any(String));

		const list = await ok<unknown[]>(await cf("GET", MONITORS));
		expect(list.result).toEqual([created.result]);
		expect(list.result_info).toEqual({ page: 1, per_page: 1, count: 1, total_count: 1 });
		// pools.list's monitor filter is the pools list's alone: the monitors list ignores it.
		expect((await ok<unknown[]>(await cf("GET", `${MONITORS}?monitor=${id}`))).result).toEqual([created.result]);
		expect((await ok(await cf("GET", `${MONITORS}/${id}`))).result).toEqual(created.result);

		const updated = await ok(await cf("PUT", `${MONITORS}/${id}`, { path: "/ready", expected_codes: "200" }));
		expect(updated.result).toMatchObject({ id, path: "/ready", expected_codes: "200" });
		expect(updated.result.description).toBeUndefined();
		const edited = await ok(await cf("PATCH", `${MONITORS}/${id}`, { interval: 30 }));
		expect(edited.result).toMatchObject({ id, path: "/ready", interval: 30 });
		expect((await readStored()).document.monitors).toEqual([edited.result]);

		const deleted = await ok(await cf("DELETE", `${MONITORS}/${id}`));
		expect(deleted.result).toEqual({ id });
		expect((await readStored()).document.monitors).toEqual([]);
		expect(await refused(await cf("GET", `${MONITORS}/${id}`), 404)).toContain(id);
	});

	it("refuses unknown ids, invalid bodies, a monitor still in use and another account when ACCOUNT_ID is set", async () => {
		await putConfig(onePoolConfig(["a"]));
		const before = await readStored();
		await refused(await cf("GET", `${MONITORS}/nope`), 404);
		await refused(await cf("PUT", `${MONITORS}/nope`, { path: "/x" }), 404);
		await refused(await cf("PATCH", `${MONITORS}/nope`, { path: "/x" }), 404);
		await refused(await cf("DELETE", `${MONITORS}/nope`), 404);
		expect(await refused(await cf("POST", MONITORS, { timeout: 99 }), 400)).toContain("monitors[1].timeout");
		expect(await refused(await cf("PATCH", `${MONITORS}/health`, { path: "no-slash" }), 400)).toContain("path");
		expect(await refused(await cf("DELETE", `${MONITORS}/health`), 409)).toContain('used by pool "main"');

		const account = { ACCOUNT_ID: ACCOUNT };
		expect(
			await refused(await cf("GET", "/accounts/someone-else/load_balancers/monitors", undefined, account), 404),
		).toContain("someone-else");
		await refused(await cf("POST", "/accounts/someone-else/load_balancers/monitors", { path: "/" }, account), 404);
		await ok(await cf("GET", MONITORS, undefined, account));
		const after = await readStored();
		expect(after.text).toBe(before.text);
	});

	it("lists the pools that use a monitor as its references", async () => {
		await putConfig(onePoolConfig(["a"]));
		const references = await ok<unknown[]>(await cf("GET", `${MONITORS}/health/references`));
		expect(references.result).toEqual([
			{ reference_type: "referrer", resource_id: "main", resource_name: "main", resource_type: "pool" },
		]);
		await refused(await cf("GET", `${MONITORS}/nope/references`), 404);
	});

	it("previews settings once, now, against the origins of the pools using the monitor", async () => {
		await putConfig(onePoolConfig(["a", "b"]));
		await setOriginHealthy("b", false);
		const started = await ok<{ preview_id: string; pools: Record<string, string> }>(
			await cf("POST", `${MONITORS}/health/preview`, { path: "/health", expected_codes: "200" }),
		);
		expect(started.result.pools).toEqual({ main: "main" });
		expect(started.result.preview_id).toMatch(HEX32);

		const results = await ok(await cf("GET", `${LBS}/preview/${started.result.preview_id}`));
		expect(results.result).toEqual({
			main: {
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
							failure_reason: "status 503, expected 200",
							response_code: 503,
						},
					},
				],
			},
		});
		// The settings previewed are not stored.
		expect((await readStored()).document.monitors[0]?.expected_codes).toBe("2xx");
	});

	it("refuses a preview of an unknown monitor, of settings that are not a monitor's, and an unknown preview id", async () => {
		await putConfig(onePoolConfig(["a"]));
		await refused(await cf("POST", `${MONITORS}/nope/preview`, {}), 404);
		expect(await refused(await cf("POST", `${MONITORS}/health/preview`, { expected_codes: "abc" }), 400)).toContain(
			"expected_codes",
		);
		await refused(await cf("GET", `${LBS}/preview/0123456789abcdef0123456789abcdef`), 404);
	});
});

describe("what Switchyard does not have", () => {
	it("answers 404 in Cloudflare's envelope, saying it is not supported", async () => {
		for (const path of ["regions", "regions/WNAM", "search?query=x", "monitor_groups", "monitor_groups/abc"]) {
			expect(await refused(await cf("GET", `${LBS}/${path}`), 404)).toContain("not supported");
		}
		expect(await refused(await cf("POST", `${LBS}/monitor_groups`, { description: "x" }), 404)).toContain(
			"not supported",
		);
	});
});
