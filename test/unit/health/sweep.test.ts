import { describe, expect, it } from "vitest";
import type { ProbeResult, ProbeTarget } from "../../../src/health/probe";
import { MAX_CONCURRENT_PROBES, mapWithLimit, runHealthSweep, type SweepRegistry } from "../../../src/health/sweep";
import { type Deferred, deferred, fakeFetch, respondingFetch, settle } from "../../fixtures/fetch";

describe("mapWithLimit", () => {
	/** Work whose calls stay pending until resolved by hand, counting how many are pending at once. */
	function manualWork() {
		const pending: { item: number; done: Deferred<string> }[] = [];
		let inFlight = 0;
		let maxInFlight = 0;
		const work = async (item: number) => {
			inFlight++;
			maxInFlight = Math.max(maxInFlight, inFlight);
			const done = deferred<string>();
			pending.push({ item, done });
			try {
				return await done.promise;
			} finally {
				inFlight--;
			}
		};
		return {
			work,
			pending,
			get inFlight() {
				return inFlight;
			},
			get maxInFlight() {
				return maxInFlight;
			},
		};
	}

	it.each([
		{ items: 10, limit: 3 },
		{ items: 7, limit: 6 },
		{ items: 2, limit: 6 },
		{ items: 5, limit: 1 },
	])("keeps at most $limit of $items calls pending, results in input order", async ({ items, limit }) => {
		const w = manualWork();
		const input = Array.from({ length: items }, (_, i) => i);
		const all = mapWithLimit(input, limit, w.work);
		await settle();
		expect(w.inFlight).toBe(Math.min(limit, items));
		// Finish the newest pending call first, so completion order differs from input order.
		const finished = new Set<number>();
		while (finished.size < items) {
			const open = w.pending.filter((p) => !finished.has(p.item));
			expect(open.length).toBeLessThanOrEqual(limit);
			const newest = open.at(-1);
			if (!newest) throw new Error("nothing pending");
			finished.add(newest.item);
			newest.done.resolve(`r${newest.item}`);
			await settle();
			expect(w.inFlight).toBeLessThanOrEqual(limit);
		}
		expect(await all).toEqual(input.map((i) => `r${i}`));
		expect(w.maxInFlight).toBe(Math.min(limit, items));
		expect(w.pending.map((p) => p.item).sort((a, b) => a - b)).toEqual(input);
	});

	it("starts the next item as soon as one finishes", async () => {
		const w = manualWork();
		const all = mapWithLimit([0, 1, 2, 3], 2, w.work);
		await settle();
		expect(w.pending.map((p) => p.item)).toEqual([0, 1]);
		w.pending[1]?.done.resolve("one");
		await settle();
		expect(w.pending.map((p) => p.item)).toEqual([0, 1, 2]);
		for (const p of w.pending) p.done.resolve(`r${p.item}`);
		await settle();
		for (const p of w.pending) p.done.resolve(`r${p.item}`);
		expect(await all).toEqual(["r0", "one", "r2", "r3"]);
	});

	it("calls nothing for no items", async () => {
		let calls = 0;
		expect(
			await mapWithLimit([], 3, async () => {
				calls++;
			}),
		).toEqual([]);
		expect(calls).toBe(0);
	});

	it("rejects when a call rejects", async () => {
		await expect(
			mapWithLimit([1, 2, 3], 2, async (n) => {
				if (n === 2) throw new Error("boom");
				return n;
			}),
		).rejects.toThrow("boom");
	});
});

function aTarget(key: string, url = `http://${key.replace("/", "-")}.example.com/`): ProbeTarget {
	return {
		key,
		url,
		method: "GET",
		headers: {},
		timeoutMs: 10_000,
		retries: 0,
		expectedCodes: "200",
		expectedBody: "",
		followRedirects: false,
	};
}

function aRegistry(due: ProbeTarget[]) {
	const recorded: ProbeResult[][] = [];
	const dueAt: number[] = [];
	const registry: SweepRegistry = {
		async dueProbes(now) {
			dueAt.push(now);
			return due;
		},
		async recordProbes(results) {
			recorded.push(results);
		},
	};
	return { registry, recorded, dueAt };
}

describe("runHealthSweep", () => {
	it("probes what is due and records every result in one call", async () => {
		const { registry, recorded, dueAt } = aRegistry([aTarget("p/a"), aTarget("p/b"), aTarget("q/c")]);
		const fetcher = respondingFetch((url) => new Response("x", { status: url.includes("p-b") ? 503 : 200 }));
		const summary = await runHealthSweep(registry, fetcher, () => 42_000);
		expect(summary).toEqual({ probed: 3, failed: 1 });
		expect(dueAt).toEqual([42_000]);
		expect(recorded).toHaveLength(1);
		expect(recorded[0]?.map((r) => [r.key, r.ok, r.at])).toEqual([
			["p/a", true, 42_000],
			["p/b", false, 42_000],
			["q/c", true, 42_000],
		]);
		expect(fetcher.calls.map((c) => c.url).sort()).toEqual([
			"http://p-a.example.com/",
			"http://p-b.example.com/",
			"http://q-c.example.com/",
		]);
	});

	it("does not call recordProbes when nothing is due", async () => {
		const { registry, recorded } = aRegistry([]);
		const fetcher = respondingFetch();
		expect(await runHealthSweep(registry, fetcher)).toEqual({ probed: 0, failed: 0 });
		expect(recorded).toEqual([]);
		expect(fetcher.calls).toEqual([]);
	});

	it(`keeps at most ${MAX_CONCURRENT_PROBES} probes open at once`, async () => {
		const targets = Array.from({ length: 10 }, (_, i) => aTarget(`p/o${i}`));
		const { registry, recorded } = aRegistry(targets);
		const answers: Deferred<Response>[] = [];
		const fetcher = fakeFetch(() => {
			const answer = deferred<Response>();
			answers.push(answer);
			return answer.promise;
		});
		const sweep = runHealthSweep(registry, fetcher);
		await settle();
		expect(answers).toHaveLength(MAX_CONCURRENT_PROBES);
		answers[0]?.resolve(new Response("ok"));
		await settle();
		expect(answers).toHaveLength(MAX_CONCURRENT_PROBES + 1);
		for (let i = 1; i < 10; i++) {
			answers[i]?.resolve(new Response("ok"));
			await settle();
		}
		expect(await sweep).toEqual({ probed: 10, failed: 0 });
		expect(recorded[0]?.map((r) => r.key)).toEqual(targets.map((t) => t.key));
	});
});
