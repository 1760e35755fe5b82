/** admin/previews.ts: monitor settings run once against pools' origins, with a fake fetch (issue 17). */
import { describe, expect, it } from "vitest";
import { AdminError } from "../../../src/admin/envelope";
import { MAX_PREVIEW_FETCHES, MAX_PREVIEW_REDIRECTS, runPreview, toPreviewMonitor } from "../../../src/admin/previews";
import { monitorSchema, type Pool, poolSchema } from "../../../src/config/schema";

const monitor = monitorSchema.parse({ id: "m", path: "/health", expected_codes: "200", retries: 0 });

function poolOf(id: string, origins: { name: string; address: string; enabled?: boolean }[], minimum = 1): Pool {
	return poolSchema.parse({ id, name: `pool ${id}`, minimum_origins: minimum, origins });
}

/** Answers 200 for hosts named "up…", 503 for the others; records the URLs asked. */
function fakeFetch(asked: string[]): typeof fetch {
	return (async (input: RequestInfo | URL) => {
		const url = String(input);
		asked.push(url);
		return new Response("ok", { status: new URL(url).hostname.startsWith("up") ? 200 : 503 });
	}) as typeof fetch;
}

describe("runPreview", () => {
	it("probes every origin once and reports each pool's health as Cloudflare's preview results have it", async () => {
		const asked: string[] = [];
		const pools = [
			poolOf("p", [
				{ name: "a", address: "up-a.example" },
				{ name: "b", address: "down-b.example" },
				{ name: "c", address: "up-c.example", enabled: false },
			]),
			poolOf("q", [{ name: "d", address: "up-d.example" }], 2),
		];
		const results = await runPreview(monitor, pools, fakeFetch(asked));
		expect(asked.sort()).toEqual([
			"http://down-b.example/health",
			"http://up-a.example/health",
			"http://up-c.example/health",
			"http://up-d.example/health",
		]);
		expect(results.p?.healthy).toBe(true);
		expect(results.p?.origins.map((origin) => Object.keys(origin)[0])).toEqual([
			"up-a.example",
			"down-b.example",
			"up-c.example",
		]);
		expect(results.p?.origins[1]).toEqual({
			"down-b.example": {
				healthy: false,
				rtt: expect.stringMatching(/^\d+ms$/),
				failure_reason: "status 503, expected 200",
				response_code: 503,
			},
		});
		// One healthy enabled origin is fewer than q's minimum_origins of 2.
		expect(results.q?.healthy).toBe(false);
	});

	it("refuses a preview that would take more fetches than one invocation should make", async () => {
		const many = Array.from({ length: MAX_PREVIEW_FETCHES / 2 + 1 }, (_, i) => ({
			name: `o${i}`,
			address: "up.example",
		}));
		const withRetry = { ...monitor, retries: 1 };
		const asked: string[] = [];
		await expect(runPreview(withRetry, [poolOf("p", many)], fakeFetch(asked))).rejects.toThrow(AdminError);
		expect(asked).toEqual([]);
	});

	it("follows redirects itself when the monitor says so, one fetch each, at most MAX_PREVIEW_REDIRECTS", async () => {
		const following = { ...monitor, follow_redirects: true };
		const calls: { url: string; redirect: RequestInit["redirect"] }[] = [];
		// /health → /r1 → /r2 → … → /r<hops>, which answers 200; on another host for the first hop.
		const hopsOf = (host: string) => Number(/-(\d+)\./.exec(host)?.[1]);
		const redirecting = (async (input: RequestInfo | URL, init?: RequestInit) => {
			const url = new URL(String(input));
			calls.push({ url: url.href, redirect: init?.redirect });
			const hops = hopsOf(url.hostname.replace(/^moved\./, ""));
			const at = url.pathname === "/health" ? 0 : Number(url.pathname.slice(2));
			if (at >= hops) return new Response("ok", { status: 200 });
			const next = at === 0 ? `http://moved.${url.hostname}/r1` : `/r${at + 1}`;
			return new Response(null, { status: 302, headers: { location: next } });
		}) as typeof fetch;

		const ok = await runPreview(following, [poolOf("p", [{ name: "a", address: "up-3.example" }])], redirecting);
		expect(ok.p?.origins[0]?.["up-3.example"]).toMatchObject({ healthy: true, response_code: 200 });
		expect(calls).toEqual([
			{ url: "http://up-3.example/health", redirect: "manual" },
			{ url: "http://moved.up-3.example/r1", redirect: "manual" },
			{ url: "http://moved.up-3.example/r2", redirect: "manual" },
			{ url: "http://moved.up-3.example/r3", redirect: "manual" },
		]);

		calls.length = 0;
		const tooMany = await runPreview(following, [poolOf("p", [{ name: "a", address: "up-9.example" }])], redirecting);
		expect(tooMany.p?.origins[0]?.["up-9.example"]).toMatchObject({
			healthy: false,
			failure_reason: `unreachable: more than ${MAX_PREVIEW_REDIRECTS} redirects (a preview follows at most ${MAX_PREVIEW_REDIRECTS})`,
		});
		expect(calls).toHaveLength(1 + MAX_PREVIEW_REDIRECTS);
	});

	it("charges the redirects a check may follow to the budget, and refuses before any fetch beyond it", async () => {
		const following = { ...monitor, follow_redirects: true };
		const origins = (count: number) =>
			Array.from({ length: count }, (_, i) => ({ name: `o${i}`, address: `up-${i}.example` }));
		const perCheck = 1 + MAX_PREVIEW_REDIRECTS;
		const fits = Math.floor(MAX_PREVIEW_FETCHES / perCheck);
		const asked: string[] = [];
		await expect(runPreview(following, [poolOf("p", origins(fits))], fakeFetch(asked))).resolves.toBeDefined();
		expect(asked).toHaveLength(fits);
		asked.length = 0;
		const refused = runPreview(following, [poolOf("p", origins(fits + 1))], fakeFetch(asked));
		await expect(refused).rejects.toThrow(/at most 40 fetches .*redirects followed.*could make 44/);
		expect(asked).toEqual([]);
		// Without follow_redirects the same origins fit.
		await expect(runPreview(monitor, [poolOf("p", origins(fits + 1))], fakeFetch(asked))).resolves.toBeDefined();
	});
});

describe("toPreviewMonitor", () => {
	it("lays the body's settings over the stored monitor's, ignoring the read-only fields", () => {
		const stored = { id: "m", path: "/health", interval: 30, created_on: "2026-01-01T00:00:00.000Z" };
		const previewed = toPreviewMonitor(stored, { expected_codes: "2xx", modified_on: "x" }, "m");
		expect(previewed).toMatchObject({ id: "m", path: "/health", interval: 30, expected_codes: "2xx" });
		expect(previewed).not.toHaveProperty("created_on");
	});

	it("refuses settings that are not a monitor's, naming the field", () => {
		expect(() => toPreviewMonitor(undefined, { timeout: 0 }, "m")).toThrow(/timeout/);
	});
});
