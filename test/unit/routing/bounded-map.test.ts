// Issue 14, item 3: every map a Worker isolate keeps under keys that requests choose is bounded; this
// is the one helper they share (the maps' own tests are beside their modules).
import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../../src/routing/bounded-map";

const keysOf = (map: BoundedMap<string, number>) => [...map.values()].map((value) => `k${value}`);

describe("BoundedMap", () => {
	it("holds at most its capacity, however many keys go in, forgetting the least recently used first", () => {
		const map = new BoundedMap<string, number>(3);
		for (let i = 0; i < 1000; i++) map.set(`k${i}`, i);
		expect(map.size).toBe(3);
		expect(keysOf(map)).toEqual(["k997", "k998", "k999"]);
		expect(map.get("k0")).toBeUndefined();
		expect(map.get("k999")).toBe(999);
	});

	it("counts a get or a set as a use: the entry used last is forgotten last", () => {
		const map = new BoundedMap<string, number>(3);
		map.set("k1", 1).set("k2", 2).set("k3", 3);
		expect(map.get("k1")).toBe(1);
		map.set("k4", 4); // forgets k2, the least recently used
		expect(keysOf(map)).toEqual(["k3", "k1", "k4"]);
		map.set("k3", 3);
		map.set("k5", 5); // forgets k1
		expect(keysOf(map)).toEqual(["k4", "k3", "k5"]);
	});

	it("moves nothing for the key used last, and still orders every use after it", () => {
		const map = new BoundedMap<string, number>(3);
		map.set("k1", 1).set("k2", 2).set("k3", 3);
		for (let i = 0; i < 5; i++) expect(map.get("k3")).toBe(3);
		expect(keysOf(map)).toEqual(["k1", "k2", "k3"]);
		expect(map.get("k1")).toBe(1);
		expect(map.get("k1")).toBe(1);
		expect(map.get("k2")).toBe(2);
		expect(keysOf(map)).toEqual(["k3", "k1", "k2"]);
		map.delete("k2");
		map.set("k4", 4).set("k5", 5); // forgets k3
		expect(map.get("k2")).toBeUndefined();
		expect(keysOf(map)).toEqual(["k1", "k4", "k5"]);
		map.clear();
		map.set("k1", 1);
		expect(map.get("k1")).toBe(1);
		expect(keysOf(map)).toEqual(["k1"]);
	});

	it("has, values and size look without using", () => {
		const map = new BoundedMap<string, number>(2);
		map.set("k1", 1).set("k2", 2);
		expect(map.has("k1")).toBe(true);
		expect(map.size).toBe(2);
		map.set("k3", 3); // k1 is still the least recently used
		expect(keysOf(map)).toEqual(["k2", "k3"]);
	});

	it("keeps null values apart from absent ones, and deletes and clears", () => {
		const map = new BoundedMap<string, number | null>(2);
		map.set("none", null);
		expect(map.get("none")).toBeNull();
		expect(map.get("absent")).toBeUndefined();
		expect(map.delete("none")).toBe(true);
		expect(map.has("none")).toBe(false);
		map.set("a", 1);
		map.clear();
		expect(map.size).toBe(0);
	});

	it.each([0, -1, 1.5, Number.NaN])("refuses a capacity of %s", (capacity) => {
		expect(() => new BoundedMap(capacity)).toThrow(RangeError);
	});
});
