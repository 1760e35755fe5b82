/** admin/previews.ts: monitor settings run once against pools' origins, with a fake fetch (issue 17). */
import { describe, expect, it } from "vitest";
import { AdminError } from "../../../src/admin/envelope";
import { MAX_PREVIEW_FETCHES, runPreview, toPreviewMonitor } from "../../../src/admin/previews";
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
		await expect(runPreview(withRetry, [poolOf("p", many)], fakeFetch([]))).rejects.toThrow(AdminError);
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
