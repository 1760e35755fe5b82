import { describe, expect, it } from "vitest";
import { type ProblemKind, toProblemResponse } from "../../../src/proxy/problem";

describe("toProblemResponse", () => {
	it.each<{ kind: ProblemKind; status: number; retryAfter: string | null }>([
		{ kind: "no_origin", status: 503, retryAfter: "5" },
		{ kind: "load_balancer_disabled", status: 503, retryAfter: "5" },
		{ kind: "origin_timeout", status: 504, retryAfter: null },
		{ kind: "origin_unreachable", status: 502, retryAfter: null },
		{ kind: "no_load_balancer", status: 404, retryAfter: null },
		{ kind: "unauthorized", status: 401, retryAfter: null },
		{ kind: "invalid_config", status: 400, retryAfter: null },
		{ kind: "precondition_failed", status: 412, retryAfter: null },
		{ kind: "internal", status: 500, retryAfter: null },
	])("$kind → $status", async ({ kind, status, retryAfter }) => {
		const response = toProblemResponse(kind, { detail: "d" });
		expect(response.status).toBe(status);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect(response.headers.get("retry-after")).toBe(retryAfter);
		const body = (await response.json()) as Record<string, unknown>;
		expect(body.status).toBe(status);
		expect(body.type).toBe(`https://switchyard.dev/problems/${kind.replaceAll("_", "-")}`);
	});

	it("carries type, title, status, detail, load balancer and pool", async () => {
		const response = toProblemResponse("no_origin", {
			detail: 'pool "p" has no enabled origin',
			load_balancer: "app.example.com",
			pool: "p",
		});
		expect(await response.json()).toEqual({
			type: "https://switchyard.dev/problems/no-origin",
			title: "No origin available",
			status: 503,
			detail: 'pool "p" has no enabled origin',
			load_balancer: "app.example.com",
			pool: "p",
		});
	});

	it("keeps extension members and leaves out undefined ones", async () => {
		const response = toProblemResponse("origin_timeout", {
			detail: "a: no response headers within 20 ms",
			load_balancer: "app.example.com",
			pool: undefined,
			origins_tried: ["a", "b"],
		});
		const body = (await response.json()) as Record<string, unknown>;
		expect(body.origins_tried).toEqual(["a", "b"]);
		expect("pool" in body).toBe(false);
	});

	it("keeps a caller's Retry-After and extra headers, but not its content type", () => {
		const response = toProblemResponse(
			"no_origin",
			{ detail: "d" },
			{ "retry-after": "30", "content-type": "text/plain", etag: '"v3"' },
		);
		expect(response.headers.get("retry-after")).toBe("30");
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect(response.headers.get("etag")).toBe('"v3"');
	});
});
