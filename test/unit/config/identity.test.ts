/** config/identity.ts: the registry's own fields (load balancer ids, created_on / modified_on), issue 17. */
import { describe, expect, it } from "vitest";
import { diffConfig } from "../../../src/config/diff";
import { repairStored, toStamped, withRegistryFields } from "../../../src/config/identity";
import { toDocument } from "../../../src/config/operations";
import type { Config } from "../../../src/config/schema";
import { validateConfig } from "../../../src/config/validate";

const STORED_ID = "0123456789abcdef0123456789abcdef";
const NEW_ID = "fedcba9876543210fedcba9876543210";
const T0 = "2026-01-01T00:00:00.000Z";
const T1 = "2026-06-01T00:00:00.000Z";

function configOf(input: unknown): Config {
	const result = validateConfig(input);
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.config;
}

const pool = { id: "eu", name: "eu", origins: [{ name: "a", address: "a.example.com" }] };
const stored = toStamped(
	configOf({ pools: [pool], load_balancers: [{ id: STORED_ID, name: "www.example.com", default_pools: ["eu"] }] }),
	configOf({}),
	T0,
);

describe("withRegistryFields", () => {
	it("keeps a load balancer's id by name, gives a new one its own, and keeps an imported id", () => {
		const input = {
			pools: [pool],
			load_balancers: [
				{ name: "WWW.example.com", default_pools: ["eu"] },
				{ name: "api.example.com", default_pools: ["eu"] },
				{ id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", name: "imported.example.com", default_pools: ["eu"] },
			],
		};
		const out = withRegistryFields(input, stored, () => NEW_ID) as { load_balancers: { id: string }[] };
		expect(out.load_balancers.map((lb) => lb.id)).toEqual([STORED_ID, NEW_ID, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]);
		// The input itself is not changed.
		expect(input.load_balancers[0]).not.toHaveProperty("id");
	});

	it("drops the timestamps a client sends", () => {
		const out = withRegistryFields(
			{ monitors: [{ id: "m", created_on: "x", modified_on: 5 }], pools: [{ ...pool, created_on: T1 }] },
			stored,
			() => NEW_ID,
		) as { monitors: object[]; pools: object[] };
		expect(out.monitors[0]).toEqual({ id: "m" });
		expect(out.pools[0]).toEqual(pool);
	});

	it("passes anything that is not a document through, for validation to report", () => {
		expect(withRegistryFields(null, stored, () => NEW_ID)).toBeNull();
		expect(withRegistryFields({ load_balancers: "no" }, stored, () => NEW_ID)).toEqual({ load_balancers: "no" });
	});
});

describe("toStamped", () => {
	it("stamps new objects, keeps unchanged ones' times and moves modified_on of changed ones", () => {
		const next = configOf({
			pools: [pool, { id: "us", name: "us", origins: [] }],
			load_balancers: [{ id: STORED_ID, name: "renamed.example.com", default_pools: ["eu"] }],
		});
		const stamped = toStamped(next, stored, T1);
		expect(stamped.pools[0]).toMatchObject({ created_on: T0, modified_on: T0 });
		expect(stamped.pools[1]).toMatchObject({ created_on: T1, modified_on: T1 });
		// Matched by id: the renamed load balancer is the same one, changed.
		expect(stamped.load_balancers[0]).toMatchObject({ created_on: T0, modified_on: T1 });
	});

	it("leaves the timestamps out of diffs", () => {
		const again = toStamped(configOf(toDocument(stored)), stored, T1);
		const restamped = { ...toDocument(again), pools: [{ ...toDocument(again).pools[0], modified_on: T1 }] };
		expect(diffConfig(toDocument(stored), restamped)).toEqual([]);
	});
});

describe("repairStored", () => {
	it("drops what an older version kept and today's schema refuses, and says what", () => {
		const lb = { name: "www.example.com", default_pools: ["eu"] };
		const { document, repaired } = repairStored({
			monitors: [{ id: "m", created_on: T0, modified_on: 5 }],
			pools: [{ ...pool, created_on: "yesterday" }],
			load_balancers: [
				{ ...lb, id: "web", zone_id: "" },
				{ ...lb, name: "b.example.com", id: 3, zone_id: 7 },
				{ ...lb, name: "c.example.com", id: STORED_ID.toUpperCase(), zone_id: "z1", created_on: T1 },
				{ ...lb, name: "d.example.com", id: STORED_ID },
			],
		});
		expect(document).toEqual({
			monitors: [{ id: "m", created_on: T0 }],
			pools: [pool],
			load_balancers: [
				lb,
				{ ...lb, name: "b.example.com" },
				{ ...lb, name: "c.example.com", id: STORED_ID.toUpperCase(), zone_id: "z1", created_on: T1 },
				{ ...lb, name: "d.example.com" },
			],
		});
		expect(repaired).toEqual([
			"monitors[0].modified_on 5 dropped (not an ISO 8601 timestamp; set again)",
			'pools[0].created_on "yesterday" dropped (not an ISO 8601 timestamp; set again)',
			'load_balancers[0].id "web" dropped (not 32 hexadecimal characters; a new id is made)',
			'load_balancers[0].zone_id "" dropped (not a zone id)',
			"load_balancers[1].id 3 dropped (not 32 hexadecimal characters; a new id is made)",
			"load_balancers[1].zone_id 7 dropped (not a zone id)",
			`load_balancers[3].id "${STORED_ID}" dropped (the id of an earlier load balancer; a new id is made)`,
		]);
		expect(validateConfig(document).ok).toBe(true);
	});

	it("changes nothing in a document today's version stored", () => {
		expect(repairStored(JSON.parse(JSON.stringify(stored)))).toEqual({
			document: JSON.parse(JSON.stringify(stored)),
			repaired: [],
		});
	});
});
