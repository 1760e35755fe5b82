// Issue 12: who gets pushes, and in how many calls per invocation.
import { describe, expect, it } from "vitest";
import { Members, PushRounds } from "../../../src/routing/fan-out";

const keys = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `k${from + i}`);

describe("PushRounds", () => {
	it("sends at most one round now and the rest one round per invocation", () => {
		const rounds = new PushRounds(48);
		expect(rounds.start(keys(120))).toEqual(keys(48));
		expect(rounds.pending).toBe(true);
		expect(rounds.next()).toEqual(keys(48, 48));
		expect(rounds.next()).toEqual(keys(24, 96));
		expect(rounds.pending).toBe(false);
		expect(rounds.next()).toEqual([]);
	});

	it("serves members still owed a push first when a newer push comes, each once", () => {
		const rounds = new PushRounds(2);
		rounds.start(["a", "b", "c", "d", "e"]); // a, b now; c, d, e owed
		expect(rounds.start(["a", "b", "c", "d", "e", "f"])).toEqual(["c", "d"]);
		expect(rounds.next()).toEqual(["e", "a"]);
		expect(rounds.next()).toEqual(["b", "f"]);
		expect(rounds.pending).toBe(false);
	});

	it("can leave the whole push to later invocations", () => {
		const rounds = new PushRounds(2);
		rounds.startLater(["a", "b", "c"]);
		expect(rounds.pending).toBe(true);
		expect(rounds.next()).toEqual(["a", "b"]);
		expect(rounds.next()).toEqual(["c"]);
	});
});

describe("Members", () => {
	it("keeps those heard from within the TTL, in the order they came, and forgets the others", () => {
		const members = new Members(1_000);
		members.heard("a", 0);
		members.heard("b", 500);
		members.heard("a", 900);
		expect(members.current(1_000)).toEqual(["a", "b"]);
		expect(members.current(1_600)).toEqual(["a"]);
		expect(members.current(2_000)).toEqual([]);
		members.heard("b", 2_000);
		expect(members.current(2_000)).toEqual(["b"]);
	});
});
