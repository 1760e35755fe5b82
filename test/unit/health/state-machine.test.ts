import { describe, expect, it } from "vitest";
import { applyCheck, type HealthState, PENDING, UNCHECKED } from "../../../src/health/state-machine";

const DOWN: HealthState = { healthy: false, upStreak: 0, downStreak: 5, changedAt: 1 };

/** Applies `checks` ("+" good, "-" failed) at times 1000, 2000, …; returns the state after each. */
function run(start: HealthState, checks: string, consecutiveUp: number, consecutiveDown: number): HealthState[] {
	const states: HealthState[] = [];
	let state = start;
	[...checks].forEach((check, i) => {
		state = applyCheck(state, check === "+", { consecutiveUp, consecutiveDown }, (i + 1) * 1000);
		states.push(state);
	});
	return states;
}

const healthyAfterEach = (states: HealthState[]) => states.map((s) => (s.healthy ? "H" : "u")).join("");

describe("applyCheck", () => {
	it("starts healthy", () => {
		expect(UNCHECKED).toEqual({ healthy: true, upStreak: 0, downStreak: 0, changedAt: 0 });
	});

	it.each([
		{ name: "down 3 needs 3 failures", start: UNCHECKED, checks: "---", up: 1, down: 3, expected: "HHu" },
		{
			name: "a success resets the down count",
			start: UNCHECKED,
			checks: "--+--+---",
			up: 1,
			down: 3,
			expected: "HHHHHHHHu",
		},
		{ name: "down 1 falls at once", start: UNCHECKED, checks: "-", up: 1, down: 1, expected: "u" },
		{ name: "down 0 behaves as 1", start: UNCHECKED, checks: "-", up: 0, down: 0, expected: "u" },
		{ name: "successes keep it healthy", start: UNCHECKED, checks: "+++", up: 2, down: 2, expected: "HHH" },
		{ name: "up 2 needs 2 successes", start: DOWN, checks: "++", up: 2, down: 1, expected: "uH" },
		{ name: "a failure resets the up count", start: DOWN, checks: "+-++", up: 2, down: 1, expected: "uuuH" },
		{ name: "up 1 rises at once", start: DOWN, checks: "+", up: 1, down: 1, expected: "H" },
		{ name: "up 0 behaves as 1", start: DOWN, checks: "+", up: 0, down: 0, expected: "H" },
		{ name: "failures keep it unhealthy", start: DOWN, checks: "---", up: 1, down: 1, expected: "uuu" },
		{ name: "flaps only after full streaks", start: UNCHECKED, checks: "--+--++", up: 2, down: 2, expected: "HuuuuuH" },
		{
			name: "down 3 counts a fresh streak after rising",
			start: DOWN,
			checks: "+--+---",
			up: 1,
			down: 3,
			expected: "HHHHHHu",
		},
	])("$name", ({ start, checks, up, down, expected }) => {
		expect(healthyAfterEach(run(start, checks, up, down))).toBe(expected);
	});

	it("counts streaks", () => {
		expect(run(UNCHECKED, "++-", 1, 5).map((s) => [s.upStreak, s.downStreak])).toEqual([
			[1, 0],
			[2, 0],
			[0, 1],
		]);
	});

	it("sets changedAt only on a transition", () => {
		const states = run(UNCHECKED, "+--++-", 2, 2);
		expect(states.map((s) => s.changedAt)).toEqual([0, 0, 3000, 3000, 5000, 5000]);
	});

	it("does not modify the state it is given", () => {
		const start = { ...UNCHECKED };
		applyCheck(start, false, { consecutiveUp: 1, consecutiveDown: 1 }, 1);
		expect(start).toEqual(UNCHECKED);
	});

	it("lets a pending origin's first result decide at once, whatever consecutive_up and _down say (issue 14, item 1)", () => {
		const rule = { consecutiveUp: 3, consecutiveDown: 3 };
		expect(applyCheck(PENDING, true, rule, 5)).toEqual({ healthy: true, upStreak: 1, downStreak: 0, changedAt: 0 });
		expect(applyCheck(PENDING, false, rule, 5)).toEqual({ healthy: false, upStreak: 0, downStreak: 1, changedAt: 5 });
	});
});
