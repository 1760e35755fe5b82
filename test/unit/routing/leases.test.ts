import { describe, expect, it } from "vitest";
import { LeaseTable } from "../../../src/routing/leases";

describe("LeaseTable", () => {
	it("counts leases per origin and releases each once", () => {
		const leases = new LeaseTable("t", 1000);
		const first = leases.take("p/a", 0);
		const second = leases.take("p/a", 0);
		leases.take("p/b", 0);
		expect(first).not.toBe(second);
		expect([leases.inFlight("p/a"), leases.inFlight("p/b"), leases.inFlight("p/c")]).toEqual([2, 1, 0]);
		expect(leases.release(first)).toBe(true);
		expect(leases.release(first)).toBe(false);
		expect(leases.release("unknown")).toBe(false);
		expect(leases.inFlight("p/a")).toBe(1);
	});

	it("expires leases a dead Worker never released", () => {
		const leases = new LeaseTable("t", 1000);
		const stale = leases.take("p/a", 0);
		leases.take("p/a", 120_000); // the next take after the sweep interval expires the stale one
		expect(leases.inFlight("p/a")).toBe(1);
		expect(leases.release(stale)).toBe(false);
	});
});
