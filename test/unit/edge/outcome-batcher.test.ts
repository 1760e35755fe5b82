import { describe, expect, it, vi } from "vitest";
import { MAX_OUTCOME_BATCHERS, OutcomeBatcher, ShardedOutcomes } from "../../../src/edge/outcome-batcher";
import { toLeasePrefix } from "../../../src/routing/shard-keys";
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

describe("ShardedOutcomes (issue 14, item 3)", () => {
	const lease = (shard: string) => `${toLeasePrefix(shard, "obj")}-1`;
	const shards = Array.from({ length: 3 * MAX_OUTCOME_BATCHERS }, (_, i) => `lb:app.test@C${i}`);

	it("keeps at most MAX_OUTCOME_BATCHERS batchers; a forgotten one still sends what it holds, once", async () => {
		const sent = new Map<string, string[]>();
		const outcomes = new ShardedOutcomes(async (shard, batch) => {
			sent.set(shard, [...(sent.get(shard) ?? []), ...batch.map((record) => record.leaseId)]);
		}, 1);
		const flushes = shards.map((shard) => outcomes.add(aRecord(lease(shard))));
		expect(outcomes.size).toBeLessThanOrEqual(MAX_OUTCOME_BATCHERS);
		// The first object's batcher is forgotten: a route call going there carries nothing; its flush sends.
		expect(outcomes.take(shards[0] as string)).toEqual([]);
		await Promise.all(flushes);
		expect(sent.size).toBeGreaterThan(MAX_OUTCOME_BATCHERS);
		expect(sent.size).toBe(shards.length);
		for (const shard of shards) expect(sent.get(shard)).toEqual([lease(shard)]);
	});
});

describe("ShardedOutcomes: the wait of each batch", () => {
	it("asks for an object's wait at every flush: a load balancer this isolate starts planning itself gets its one-second batches", async () => {
		// The bug: the wait was fixed when the object's batcher was made. An isolate whose first outcome
		// for an object came from a plan the object made (a replica that did not know the load balancer
		// yet, or before the object went over its latency budget) kept sending that object a call per
		// 5 ms, one per request at low rates, after it had started planning the load balancer itself.
		vi.useFakeTimers();
		try {
			const shard = "lb:app.test@local";
			const sends: number[] = [];
			let plansHere = false;
			const outcomes = new ShardedOutcomes(
				async () => {
					sends.push(Date.now());
				},
				5,
				() => (plansHere ? 1_000 : undefined),
			);
			const started = Date.now();
			const first = outcomes.add(aRecord(`${toLeasePrefix(shard, "obj")}-1`));
			await vi.advanceTimersByTimeAsync(5);
			await first;
			expect(sends.map((at) => at - started)).toEqual([5]);
			plansHere = true;
			const second = outcomes.add(aRecord(`${toLeasePrefix(shard, "iso-1")}-2`));
			await vi.advanceTimersByTimeAsync(999);
			expect(sends).toHaveLength(1);
			await vi.advanceTimersByTimeAsync(1);
			await second;
			expect(sends.map((at) => at - started)).toEqual([5, 1_005]);
		} finally {
			vi.useRealTimers();
		}
	});
});
