import { describe, expect, it } from "vitest";
import { OutcomeBatcher } from "../../../src/edge/outcome-batcher";
import { anOutcome } from "../../fixtures/outcomes";

const aRecord = (leaseId: string) => anOutcome(leaseId);

describe("OutcomeBatcher", () => {
	it("sends records added together in one call; only the first add has a flush to wait for", async () => {
		const sent: string[][] = [];
		const batcher = new OutcomeBatcher(async (batch) => {
			sent.push(batch.map((record) => record.leaseId));
		}, 1);
		const flush = batcher.add(aRecord("a"));
		expect([batcher.add(aRecord("b")), batcher.add(aRecord("c"))]).toEqual([undefined, undefined]);
		expect(sent).toEqual([]);
		await flush;
		expect(sent).toEqual([["a", "b", "c"]]);
		await batcher.add(aRecord("d"));
		expect(sent).toEqual([["a", "b", "c"], ["d"]]);
	});

	it("survives a failed send: the next records still go out", async () => {
		const sent: string[][] = [];
		let fail = true;
		const batcher = new OutcomeBatcher(async (batch) => {
			if (fail) {
				fail = false;
				throw new Error("registry unavailable");
			}
			sent.push(batch.map((record) => record.leaseId));
		}, 1);
		await expect(batcher.add(aRecord("lost"))).resolves.toBeUndefined();
		await batcher.add(aRecord("kept"));
		expect(sent).toEqual([["kept"]]);
	});
});
