/**
 * Cloudflare's load balancer paths (issue 17): /zones/:zone_id/load_balancers[/:id] and
 * /accounts/:account_id/load_balancers[/:id]; zone_id kept, a zone sees its own and zoneless ones.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { readStored } from "./admin-helpers";
import { ACCOUNT, cf, HEX32, LBS, OTHER_ZONE, ok, refused, ZONE } from "./cloudflare-api";
import { onePoolConfig, putConfig, send, startClean } from "./helpers";

beforeEach(startClean);

const ZONE_LBS = `/zones/${ZONE}/load_balancers`;
const OTHER_LBS = `/zones/${OTHER_ZONE}/load_balancers`;
const names = (body: { result: { name: string }[] }) => body.result.map((lb) => lb.name).sort();

async function withPool(): Promise<void> {
	await putConfig({ ...onePoolConfig(["a"]), load_balancers: [] });
}

describe("load balancers through Cloudflare's zone and account paths", () => {
	it("create, list, get, update, edit and delete under a zone; the zone is kept", async () => {
		await withPool();
		const created = await ok(
			await cf("POST", ZONE_LBS, { name: "App.Test", default_pools: ["main"], fallback_pool: "main" }),
		);
		const id = created.result.id as string;
		expect(id).toMatch(HEX32);
		expect(created.result).toMatchObject({ name: "app.test", zone_id: ZONE, default_pools: ["main"] });

		const list = await ok<{ name: string }[]>(await cf("GET", ZONE_LBS));
		expect(list.result).toEqual([created.result]);
		expect(list.result_info).toEqual({ page: 1, per_page: 1, count: 1, total_count: 1 });
		expect((await ok(await cf("GET", `${ZONE_LBS}/${id}`))).result).toEqual(created.result);

		const updated = await ok(
			await cf("PUT", `${ZONE_LBS}/${id}`, {
				name: "app.test",
				default_pools: ["main"],
				fallback_pool: "main",
				description: "u",
			}),
		);
		expect(updated.result).toMatchObject({ id, zone_id: ZONE, description: "u" });
		const edited = await ok(await cf("PATCH", `${ZONE_LBS}/${id}`, { session_affinity: "cookie" }));
		expect(edited.result).toMatchObject({ id, zone_id: ZONE, description: "u", session_affinity: "cookie" });
		// Renamed through its id, as Cloudflare allows; traffic follows the new name.
		const renamed = await ok(await cf("PATCH", `${ZONE_LBS}/${id}`, { name: "www.test" }));
		expect(renamed.result).toMatchObject({ id, name: "www.test" });
		const served = await send("https://www.test/hello");
		expect(served.status).toBe(200);
		expect((await readStored()).document.load_balancers).toEqual([renamed.result]);

		expect((await ok(await cf("DELETE", `${ZONE_LBS}/${id}`))).result).toEqual({ id });
		expect((await readStored()).document.load_balancers).toEqual([]);
		await refused(await cf("GET", `${ZONE_LBS}/${id}`), 404);
	});

	it("the account's paths see every load balancer; a zone sees its own and those with no zone", async () => {
		await withPool();
		await ok(await cf("POST", ZONE_LBS, { name: "mine.test", default_pools: ["main"] }));
		const theirs = await ok(await cf("POST", OTHER_LBS, { name: "theirs.test", default_pools: ["main"] }));
		const shared = await ok(await cf("POST", LBS, { name: "shared.test", default_pools: ["main"] }));
		expect(shared.result.zone_id).toBeUndefined();

		expect(names(await ok(await cf("GET", ZONE_LBS)))).toEqual(["mine.test", "shared.test"]);
		expect(names(await ok(await cf("GET", OTHER_LBS)))).toEqual(["shared.test", "theirs.test"]);
		expect(names(await ok(await cf("GET", LBS)))).toEqual(["mine.test", "shared.test", "theirs.test"]);

		// Another zone's load balancer is not found through this zone, for any method, and stays as it was.
		const before = await readStored();
		const theirId = theirs.result.id as string;
		await refused(await cf("GET", `${ZONE_LBS}/${theirId}`), 404);
		await refused(await cf("PATCH", `${ZONE_LBS}/${theirId}`, { description: "x" }), 404);
		await refused(await cf("PUT", `${ZONE_LBS}/${theirId}`, { name: "theirs.test", default_pools: ["main"] }), 404);
		await refused(await cf("DELETE", `${ZONE_LBS}/${theirId}`), 404);
		expect((await readStored()).text).toBe(before.text);
		// Through the account, it is.
		expect((await ok(await cf("GET", `${LBS}/${theirId}`))).result).toMatchObject({ name: "theirs.test" });
		expect((await ok(await cf("DELETE", `${LBS}/${theirId}`))).result).toEqual({ id: theirId });
	});

	it("refuses unknown ids, invalid bodies, a zone_id that is not the path's, and other zones and accounts when set", async () => {
		await putConfig(onePoolConfig(["a"]));
		const before = await readStored();
		const unknown = "0123456789abcdef0123456789abcdef";
		for (const base of [ZONE_LBS, LBS]) {
			await refused(await cf("GET", `${base}/${unknown}`), 404);
			await refused(await cf("PATCH", `${base}/${unknown}`, { description: "x" }), 404);
			await refused(await cf("PUT", `${base}/${unknown}`, { name: "x.test", default_pools: ["main"] }), 404);
			await refused(await cf("DELETE", `${base}/${unknown}`), 404);
		}
		expect(await refused(await cf("POST", ZONE_LBS, { name: "x.test" }), 400)).toContain("default_pools");
		expect(await refused(await cf("POST", LBS, { name: "x.test", default_pools: ["nope"] }), 400)).toContain(
			'no pool with id "nope"',
		);
		expect(await refused(await cf("POST", LBS, { name: "app.test", default_pools: ["main"] }), 409)).toContain(
			"already exists",
		);
		expect(
			await refused(await cf("POST", ZONE_LBS, { name: "x.test", default_pools: ["main"], zone_id: OTHER_ZONE }), 400),
		).toContain("zone_id");
		const id = before.document.load_balancers[0]?.id as string;
		expect(await refused(await cf("PATCH", `${LBS}/${id}`, { id: unknown }), 400)).toContain("id");

		const vars = { ACCOUNT_ID: ACCOUNT, ZONE_ID: ZONE };
		await refused(await cf("GET", OTHER_LBS, undefined, vars), 404);
		await refused(await cf("POST", OTHER_LBS, { name: "x.test", default_pools: ["main"] }, vars), 404);
		await refused(await cf("GET", "/accounts/another/load_balancers", undefined, vars), 404);
		await refused(await cf("GET", `/accounts/another/load_balancers/${id}`, undefined, vars), 404);
		await ok(await cf("GET", `${ZONE_LBS}/${id}`, undefined, vars));
		await ok(await cf("GET", `${LBS}/${id}`, undefined, vars));
		expect((await readStored()).text).toBe(before.text);
	});
});

describe("zone_id is read-only", () => {
	it("a write on a zone's path cannot move a load balancer out of the zone, nor one on the account's path", async () => {
		await withPool();
		const mine = await ok(await cf("POST", ZONE_LBS, { name: "mine.test", default_pools: ["main"] }));
		const shared = await ok(await cf("POST", LBS, { name: "shared.test", default_pools: ["main"] }));
		const id = mine.result.id as string;
		const sharedId = shared.result.id as string;
		const before = await readStored();
		const body = { name: "mine.test", default_pools: ["main"], zone_id: OTHER_ZONE };
		for (const method of ["PUT", "PATCH"]) {
			const message = await refused(await cf(method, `${ZONE_LBS}/${id}`, body), 400);
			expect(message).toContain(`zone_id: "${OTHER_ZONE}" is not the zone of the path ("${ZONE}")`);
			expect(await refused(await cf(method, `${LBS}/${id}`, body), 400)).toContain(
				`"zone_id" cannot change (it is "${ZONE}")`,
			);
			expect(await refused(await cf(method, `${LBS}/${sharedId}`, { ...body, name: "shared.test" }), 400)).toContain(
				'"zone_id" cannot change (it has none)',
			);
			expect(await refused(await cf(method, `/load_balancers/${id}`, body), 400)).toContain("zone_id");
		}
		expect((await readStored()).text).toBe(before.text);

		// Sent back as it is, or left out: the stored zone stays, on either path, for PUT and PATCH.
		const same = { name: "mine.test", default_pools: ["main"], zone_id: ZONE };
		expect((await ok(await cf("PATCH", `${ZONE_LBS}/${id}`, same))).result.zone_id).toBe(ZONE);
		expect((await ok(await cf("PUT", `${LBS}/${id}`, { ...same, zone_id: undefined }))).result.zone_id).toBe(ZONE);
		expect((await ok(await cf("PATCH", `${LBS}/${id}`, { description: "d" }))).result.zone_id).toBe(ZONE);
		await ok(await cf("GET", `${ZONE_LBS}/${id}`));
		// A load balancer with no zone, edited through a zone's path naming that zone, keeps having none.
		const edited = await ok(await cf("PUT", `${ZONE_LBS}/${sharedId}`, { ...same, name: "shared.test" }));
		expect(edited.result.zone_id).toBeUndefined();
		expect(names(await ok(await cf("GET", OTHER_LBS)))).toEqual(["shared.test"]);
	});

	it("with ZONE_ID set, any other zone_id is refused on every path", async () => {
		await withPool();
		const vars = { ZONE_ID: ZONE };
		const lb = await ok(await cf("POST", LBS, { name: "mine.test", default_pools: ["main"], zone_id: ZONE }, vars));
		expect(lb.result.zone_id).toBe(ZONE);
		const id = lb.result.id as string;
		const before = await readStored();
		const body = { name: "x.test", default_pools: ["main"], zone_id: OTHER_ZONE };
		const expected = `zone_id: "${OTHER_ZONE}" is not this Switchyard's zone (ZONE_ID is "${ZONE}")`;
		for (const [method, path] of [
			["POST", LBS],
			["POST", "/load_balancers"],
			["PUT", `${LBS}/${id}`],
			["PATCH", `${LBS}/${id}`],
			["PUT", `/load_balancers/${id}`],
			["PATCH", `/load_balancers/${id}`],
		] as const) {
			expect(await refused(await cf(method, path, body, vars), 400), `${method} ${path}`).toContain(expected);
		}
		const config = { ...onePoolConfig(["a"]), load_balancers: [{ ...body, default_pools: ["main"] }] };
		expect(await refused(await cf("PUT", "/config", config, vars), 400)).toContain(
			`load_balancers[0].zone_id: "${OTHER_ZONE}" is not this Switchyard's zone`,
		);
		expect((await readStored()).text).toBe(before.text);
	});
});

describe("ACCOUNT_ID and ZONE_ID", () => {
	it("make every account and zone path naming another id a 404 that changes nothing", async () => {
		await putConfig(onePoolConfig(["a"]));
		const before = await readStored();
		const id = before.document.load_balancers[0]?.id as string;
		const vars = { ACCOUNT_ID: ACCOUNT, ZONE_ID: ZONE };
		const other = "/accounts/another/load_balancers";
		const routes: [string, string, unknown?][] = [
			["GET", `${other}/monitors`],
			["POST", `${other}/monitors`, { path: "/" }],
			["GET", `${other}/monitors/health`],
			["PUT", `${other}/monitors/health`, { path: "/" }],
			["PATCH", `${other}/monitors/health`, { path: "/" }],
			["DELETE", `${other}/monitors/health`],
			["GET", `${other}/monitors/health/references`],
			["POST", `${other}/monitors/health/preview`, {}],
			["GET", `${other}/pools`],
			["POST", `${other}/pools`, { name: "x", origins: [] }],
			["PATCH", `${other}/pools`, { notification_email: "" }],
			["GET", `${other}/pools/main`],
			["PUT", `${other}/pools/main`, { name: "main", origins: [] }],
			["PATCH", `${other}/pools/main`, { description: "x" }],
			["DELETE", `${other}/pools/main`],
			["GET", `${other}/pools/main/health`],
			["POST", `${other}/pools/main/preview`, {}],
			["GET", `${other}/pools/main/references`],
			["GET", `${other}/preview/0123456789abcdef0123456789abcdef`],
			["GET", other],
			["POST", other, { name: "x.test", default_pools: ["main"] }],
			["GET", `${other}/${id}`],
			["PUT", `${other}/${id}`, { name: "app.test", default_pools: ["main"] }],
			["PATCH", `${other}/${id}`, { description: "x" }],
			["DELETE", `${other}/${id}`],
			["GET", OTHER_LBS],
			["POST", OTHER_LBS, { name: "x.test", default_pools: ["main"] }],
			["GET", `${OTHER_LBS}/${id}`],
			["PUT", `${OTHER_LBS}/${id}`, { name: "app.test", default_pools: ["main"] }],
			["PATCH", `${OTHER_LBS}/${id}`, { description: "x" }],
			["DELETE", `${OTHER_LBS}/${id}`],
		];
		for (const [method, path, body] of routes) {
			const message = await refused(await cf(method, path, body, vars), 404);
			expect(message, `${method} ${path}`).toMatch(/no (account "another"|zone "9+") here/);
		}
		expect((await readStored()).text).toBe(before.text);
	});
});
