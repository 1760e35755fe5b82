import { describe, expect, it } from "vitest";
import { diffConfig } from "../../../src/config/diff";
import { applyOperation, type ConfigDocument, type ConfigOperation } from "../../../src/config/operations";

type Item = Record<string, unknown>;

/** The origins of the document's first pool. */
function originsOf(document: ConfigDocument): Item[] {
	return (document.pools[0] as Item).origins as Item[];
}

function aDocument(): ConfigDocument {
	return {
		monitors: [{ id: "m1", path: "/health" }],
		pools: [
			{ id: "eu", name: "eu", monitor: "m1", origins: [{ name: "eu-1", address: "eu-1.example.com" }] },
			{ id: "us", name: "us", origins: [{ name: "us-1", address: "us-1.example.com" }] },
			{ id: "spare", name: "spare", origins: [] },
		],
		load_balancers: [
			{ name: "www.example.com", default_pools: ["eu"], fallback_pool: "us", region_pools: { WEU: ["eu"] } },
		],
	};
}

const newId = () => "0123456789abcdef0123456789abcdef";
const apply = (op: ConfigOperation, document = aDocument()) => applyOperation(document, op, newId);

describe("applyOperation", () => {
	it("creates with a generated id when the body names none, and refuses a duplicate", () => {
		const created = apply({ target: "monitors", action: "create", body: { path: "/x" } });
		expect(created).toMatchObject({ ok: true, key: newId() });
		if (!created.ok) throw new Error("not created");
		expect(created.document.monitors.map((m) => m.id)).toEqual(["m1", newId()]);
		expect(apply({ target: "pools", action: "create", body: { id: "eu", name: "x", origins: [] } })).toMatchObject({
			ok: false,
			status: 409,
		});
	});

	it("does not generate a hostname for a load balancer", () => {
		expect(apply({ target: "load_balancers", action: "create", body: { default_pools: ["eu"] } })).toMatchObject({
			ok: false,
			status: 400,
			field: "name",
		});
	});

	it("patches by merging top-level fields and replaces by swapping the object, keeping the key", () => {
		const patched = apply({ target: "pools", action: "patch", key: "eu", body: { minimum_origins: 2 } });
		if (!patched.ok) throw new Error("not patched");
		expect(patched.document.pools[0]).toMatchObject({ id: "eu", name: "eu", monitor: "m1", minimum_origins: 2 });
		const replaced = apply({ target: "pools", action: "replace", key: "eu", body: { name: "eu2", origins: [] } });
		if (!replaced.ok) throw new Error("not replaced");
		expect(replaced.document.pools[0]).toEqual({ id: "eu", name: "eu2", origins: [] });
	});

	it("refuses to rename through the path", () => {
		expect(apply({ target: "monitors", action: "patch", key: "m1", body: { id: "m2" } })).toMatchObject({
			ok: false,
			status: 400,
			field: "id",
		});
	});

	it.each([
		{ target: "monitors", key: "m1", because: /used by pool "eu"/ },
		{ target: "pools", key: "eu", because: /default_pools/ },
		{ target: "pools", key: "us", because: /fallback_pool/ },
	] as const)("refuses to delete $target $key while it is referenced", ({ target, key, because }) => {
		const result = apply({ target, action: "delete", key });
		expect(result).toMatchObject({ ok: false, status: 409 });
		expect(result.ok ? "" : result.message).toMatch(because);
	});

	it("finds references in region_pools too", () => {
		const document = aDocument();
		(document.load_balancers[0] as Record<string, unknown>).default_pools = ["us"];
		const result = apply({ target: "pools", action: "delete", key: "eu" }, document);
		expect(result.ok ? "" : result.message).toMatch(/region_pools\.WEU/);
	});

	it("deletes an unreferenced pool, and answers 404 for an unknown one", () => {
		const deleted = apply({ target: "pools", action: "delete", key: "spare" });
		expect(deleted.ok && deleted.document.pools.map((pool) => pool.id)).toEqual(["eu", "us"]);
		expect(apply({ target: "pools", action: "delete", key: "nope" })).toMatchObject({ ok: false, status: 404 });
	});

	it("finds load balancers by hostname case-insensitively", () => {
		const result = apply({
			target: "load_balancers",
			action: "patch",
			key: "www.example.com",
			body: { enabled: false },
		});
		expect(result.ok && result.document.load_balancers[0]?.enabled).toBe(false);
	});

	it("adds, patches and removes origins inside a pool", () => {
		const added = apply({
			target: "origins",
			action: "create",
			pool: "eu",
			body: { name: "eu-2", address: "eu-2.example.com" },
		});
		if (!added.ok) throw new Error("not added");
		expect(originsOf(added.document).length).toBe(2);
		const patched = apply(
			{ target: "origins", action: "patch", pool: "eu", key: "eu-2", body: { weight: 0.5 } },
			added.document,
		);
		if (!patched.ok) throw new Error("not patched");
		expect(originsOf(patched.document)[1]).toEqual({
			name: "eu-2",
			address: "eu-2.example.com",
			weight: 0.5,
		});
		const removed = apply({ target: "origins", action: "delete", pool: "eu", key: "eu-1" }, patched.document);
		expect(removed.ok && originsOf(removed.document).map((o) => o.name)).toEqual(["eu-2"]);
		expect(apply({ target: "origins", action: "create", pool: "eu", body: { name: "eu-1" } })).toMatchObject({
			status: 409,
		});
		expect(apply({ target: "origins", action: "delete", pool: "nope", key: "x" })).toMatchObject({ status: 404 });
		expect(apply({ target: "origins", action: "delete", pool: "eu", key: "x" })).toMatchObject({ status: 404 });
	});

	it("never modifies the document it is given", () => {
		const document = aDocument();
		const copy = structuredClone(document);
		apply({ target: "origins", action: "delete", pool: "eu", key: "eu-1" }, document);
		apply({ target: "pools", action: "patch", key: "eu", body: { name: "x" } }, document);
		expect(document).toEqual(copy);
	});
});

describe("diffConfig", () => {
	it("lists added, removed and changed objects with the fields that changed, origins one by one", () => {
		const before = aDocument();
		const after = aDocument();
		after.monitors.push({ id: "m2" });
		after.pools.splice(2, 1);
		(after.pools[0] as Record<string, unknown>).minimum_origins = 1;
		originsOf(after).push({ name: "eu-2", address: "x" });
		(after.load_balancers[0] as Record<string, unknown>).fallback_pool = "eu";
		expect(diffConfig(before, after)).toEqual([
			{ kind: "monitor", id: "m2", change: "added" },
			{ kind: "pool", id: "eu", change: "changed", fields: ["minimum_origins", "origins"] },
			{ kind: "origin", id: "eu/eu-2", change: "added" },
			{ kind: "pool", id: "spare", change: "removed" },
			{ kind: "load_balancer", id: "www.example.com", change: "changed", fields: ["fallback_pool"] },
		]);
	});

	it("is empty for equal documents", () => {
		expect(diffConfig(aDocument(), aDocument())).toEqual([]);
	});
});

describe("applyOperation: load balancer ids (issue 17)", () => {
	const LB_ID = "699d98642c564d2e855e9661899b7252";
	const withId = () => {
		const document = aDocument();
		(document.load_balancers[0] as Item).id = LB_ID;
		return document;
	};

	it("gives a created load balancer an id, and refuses one whose id is taken", () => {
		const created = apply({
			target: "load_balancers",
			action: "create",
			body: { name: "api.example.com", default_pools: ["us"] },
		});
		if (!created.ok) throw new Error(created.message);
		expect(created.document.load_balancers[1]).toMatchObject({ name: "api.example.com", id: newId() });
		const taken = apply(
			{ target: "load_balancers", action: "create", body: { name: "b.example.com", id: LB_ID, default_pools: ["us"] } },
			withId(),
		);
		expect(taken).toMatchObject({ ok: false, status: 409 });
	});

	it("finds a load balancer by its id as by its name, and may rename it when named by id", () => {
		const patched = apply(
			{ target: "load_balancers", action: "patch", key: LB_ID, body: { name: "new.example.com" } },
			withId(),
		);
		if (!patched.ok) throw new Error(patched.message);
		expect(patched.document.load_balancers[0]).toMatchObject({ id: LB_ID, name: "new.example.com" });
		expect(patched.key).toBe("new.example.com");
		// Named by its name, the name still cannot change.
		const byName = apply(
			{ target: "load_balancers", action: "patch", key: "www.example.com", body: { name: "new.example.com" } },
			withId(),
		);
		expect(byName).toMatchObject({ ok: false, status: 400, field: "name" });
	});

	it("keeps the id and zone on replace, refuses a body changing the id, and deletes by id", () => {
		const document = withId();
		(document.load_balancers[0] as Item).zone_id = "zone-1";
		const replaced = apply(
			{
				target: "load_balancers",
				action: "replace",
				key: LB_ID,
				body: { name: "www.example.com", default_pools: ["us"] },
			},
			document,
		);
		if (!replaced.ok) throw new Error(replaced.message);
		expect(replaced.document.load_balancers[0]).toEqual({
			id: LB_ID,
			zone_id: "zone-1",
			name: "www.example.com",
			default_pools: ["us"],
		});
		const changingId = apply(
			{ target: "load_balancers", action: "patch", key: LB_ID, body: { id: newId() } },
			withId(),
		);
		expect(changingId).toMatchObject({ ok: false, status: 400, field: "id" });
		// zone_id is read-only: the stored one (or none) stays, a body naming another is refused.
		for (const action of ["patch", "replace"] as const) {
			const body = { name: "www.example.com", default_pools: ["us"], zone_id: "zone-2" };
			expect(apply({ target: "load_balancers", action, key: LB_ID, body }, document)).toMatchObject({
				ok: false,
				status: 400,
				field: "zone_id",
				message: expect.stringContaining('it is "zone-1"'),
			});
			expect(apply({ target: "load_balancers", action, key: LB_ID, body }, withId())).toMatchObject({
				ok: false,
				status: 400,
				field: "zone_id",
				message: expect.stringContaining("it has none"),
			});
			const same = apply(
				{ target: "load_balancers", action, key: LB_ID, body: { ...body, zone_id: "zone-1" } },
				document,
			);
			if (!same.ok) throw new Error(same.message);
			expect(same.document.load_balancers[0]?.zone_id).toBe("zone-1");
		}
		const deleted = apply({ target: "load_balancers", action: "delete", key: LB_ID }, withId());
		if (!deleted.ok) throw new Error(deleted.message);
		expect(deleted.document.load_balancers).toEqual([]);
		expect(apply({ target: "load_balancers", action: "delete", key: newId() }, withId())).toMatchObject({
			ok: false,
			status: 404,
		});
	});
});
