// Issue 12: the authority's pushes to the hubs (src/registry/replication.ts): rounds, deferral while
// an invocation's calls go to probes, and hubs that take pushes stay registered.
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/contract/replica";
import { Replication } from "../../src/registry/replication";
import { MEMBER_TTL_MS } from "../../src/routing/fan-out";
import { aReplica } from "../fixtures/replica";

function replication() {
	const sent: string[] = [];
	const background: Promise<unknown>[] = [];
	let waiting = 0;
	const push = new Replication({
		replica: (): Replica => aReplica(),
		send: async (hub) => {
			sent.push(hub);
		},
		background: (promise) => background.push(promise),
		roundsWaiting: () => waiting++,
	});
	push.pushing = true;
	return { push, sent, background, waiting: () => waiting };
}

const hubs = (n: number) => Array.from({ length: n }, (_, i) => `colo:H${i}`);

describe("Replication", () => {
	it("pushes to at most 48 hubs in the invocation of the change, the rest in rounds of their own", async () => {
		const { push, sent, background, waiting } = replication();
		for (const hub of hubs(100)) push.heardFrom(hub, Date.now());
		push.schedule();
		await Promise.all(background);
		expect(sent).toEqual(hubs(48));
		expect(waiting()).toBe(1);
		await push.nextRound();
		await push.nextRound();
		expect(sent).toEqual(hubs(100));
		expect(push.roundsPending).toBe(false);
	});

	it("while deferring (a probe round's invocation), calls no hub: the whole push waits for the next alarm", async () => {
		const { push, sent, background, waiting } = replication();
		for (const hub of hubs(3)) push.heardFrom(hub, Date.now());
		push.deferring = true;
		push.schedule();
		await Promise.all(background);
		expect(sent).toEqual([]);
		expect(push.roundsPending).toBe(true);
		expect(waiting()).toBe(1);
		push.deferring = false;
		await push.nextRound();
		expect(sent).toEqual(hubs(3));
	});

	it("keeps a hub that takes pushes registered, however rarely it asks", async () => {
		const { push, background } = replication();
		const start = Date.now() - MEMBER_TTL_MS + 1_000;
		push.heardFrom("colo:FRA", start);
		push.schedule();
		await Promise.all(background);
		expect(push.registered(start + MEMBER_TTL_MS + 500)).toEqual(["colo:FRA"]);
	});
});
