/** config/identity.ts: the registry's own fields (load balancer ids, created_on / modified_on), issue 17. */
import { describe, expect, it } from "vitest";
import { diffConfig } from "../../../src/config/diff";
import { toStamped, withRegistryFields } from "../../../src/config/identity";
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
