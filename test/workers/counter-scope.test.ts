/**
 * Issue 12: where decisions are made (`counter_scope`). Requests carry their data center in
 * `request.cf.colo`; in the colo scope (the default) each data center's traffic has a counter
 * object of its own, with an exact rotation; in the global scope one object keeps one rotation.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { StatusReport } from "../../src/contract/status";
import { adminResult, onePoolConfig, putConfig, send, startClean } from "./helpers";

beforeEach(startClean);

const COLOS = ["FRA", "SJC", "LHR"];

/** 18 requests to app.test, interleaved over three data centers: the origin that served each, per colo. */
async function interleaved(): Promise<Record<string, string[]>> {
	const served: Record<string, string[]> = Object.fromEntries(COLOS.map((colo) => [colo, []]));
	for (let i = 0; i < 18; i++) {
		const colo = COLOS[i % COLOS.length] as string;
		const response = await send(`https://app.test/scope/${i}`, { cf: { colo } } as RequestInit);
		expect(response.status).toBe(200);
		served[colo]?.push(response.headers.get("x-switchyard-origin") ?? "?");
	}
	return served;
}

describe("counter_scope", () => {
	it("colo (the default): one counter object per data center, each with an exact rotation", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		const served = await interleaved();
		for (const colo of COLOS) expect(served[colo], colo).toEqual(["a", "b", "c", "a", "b", "c"]);
		const report = await adminResult<StatusReport>("/status");
		expect(
			report.counters
				.map(({ name, scope, colo, routed }) => ({ name, scope, colo, routed }))
				.sort((x, y) => x.name.localeCompare(y.name)),
		).toEqual(["FRA", "LHR", "SJC"].map((colo) => ({ name: `lb:app.test@${colo}`, scope: "colo", colo, routed: 6 })));
	});

	it("global: one counter object for the world, one rotation across data centers", async () => {
		const config = onePoolConfig(["a", "b", "c"]);
		await putConfig({
			...config,
			load_balancers: config.load_balancers.map((lb) => ({ ...lb, counter_scope: "global" })),
		});
		const served = await interleaved();
		// Request i (of colo i % 3) got origin i % 3 of the one rotation.
		for (const [n, colo] of COLOS.entries()) expect(served[colo], colo).toEqual(Array(6).fill(["a", "b", "c"][n]));
		const report = await adminResult<StatusReport>("/status");
		// (An isolate whose replica still had the colo scope may have asked a data center's object first,
		// which sent it on: such an object is listed too, with what it saw.)
		expect(report.counters.filter((counter) => counter.colo === null)).toEqual([
			expect.objectContaining({ name: "lb:app.test", scope: "global", colo: null, routed: 18 }),
		]);
	});

	it("is a 400 naming the field for any other value", async () => {
		const config = onePoolConfig(["a"]);
		const lbs = config.load_balancers.map((lb) => ({ ...lb, counter_scope: "planet" }));
		const response = await fetchAdmin({ ...config, load_balancers: lbs });
		expect(response.status).toBe(400);
		expect(JSON.stringify(await response.json())).toContain("load_balancers[0].counter_scope");
	});
});

async function fetchAdmin(body: unknown): Promise<Response> {
	const { admin } = await import("./helpers");
	return admin("PUT", "/config", body);
}

// The hubs of the three data centers hold the replica their isolates and counter objects use.
describe("hubs per data center", () => {
	it("are created by each data center's traffic", async () => {
		await putConfig(onePoolConfig(["a", "b", "c"]));
		await interleaved();
		for (const colo of COLOS) {
			const { state } = await env.HUBS.getByName(`colo:${colo}`).adopt({
				state: 0,
				checks: 0,
				version: 0,
				health: [],
				healthySince: [],
				drains: [],
				ejections: [],
			});
			expect(state, colo).toBeGreaterThan(0); // it holds a replica newer than this stale one
		}
	});
});
