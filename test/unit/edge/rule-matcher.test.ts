/**
 * A rule's fixed response as the Worker answers it (issue 20), and the outcome it reports in its
 * place: no lease, no attempt, addressed to the load balancer's counter object.
 */
import { describe, expect, it } from "vitest";
import { type RuledRequest, toFixedOutcome, toFixedResponse } from "../../../src/edge/rule-matcher";
import { shardOfLease } from "../../../src/routing/shard-keys";

describe("toFixedResponse", () => {
	it("answers with the status, content type, body and Location the rule gives", async () => {
		const response = toFixedResponse(
			{ status_code: 302, content_type: "text/html", message_body: "<a>moved</a>", location: "https://x.test/" },
			"GET",
		);
		expect(response.status).toBe(302);
		expect(response.headers.get("content-type")).toBe("text/html");
		expect(response.headers.get("location")).toBe("https://x.test/");
		expect(await response.text()).toBe("<a>moved</a>");
	});

	it("defaults to 200 and text/plain, and sends no body to HEAD or with 204/304", async () => {
		const ok = toFixedResponse({ message_body: "hi" }, "GET");
		expect([ok.status, ok.headers.get("content-type"), await ok.text()]).toEqual([
			200,
			"text/plain; charset=utf-8",
			"hi",
		]);
		expect(toFixedResponse({ status_code: 0 }, "GET").status).toBe(200);
		const head = toFixedResponse({ message_body: "hi" }, "HEAD");
		expect([head.body, head.headers.get("content-type")]).toEqual([null, null]);
		expect(toFixedResponse({ status_code: 204, message_body: "x" }, "GET").body).toBeNull();
		expect(toFixedResponse({ status_code: 304 }, "GET").body).toBeNull();
	});
});

describe("toFixedResponse with values a header cannot carry (review of issue 20)", () => {
	it("answers without them rather than throwing (a configuration stored before validation refused them)", async () => {
		const response = toFixedResponse(
			{ status_code: 302, content_type: "text/html\r\nx-injected: 1", message_body: "moved", location: "/\u2603" },
			"GET",
		);
		expect(response.status).toBe(302);
		expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
		expect(response.headers.get("location")).toBeNull();
		expect(response.headers.get("x-injected")).toBeNull();
		expect(await response.text()).toBe("moved");
	});
});

describe("toFixedOutcome", () => {
	it("names the counter object, holds no lease, made no attempt, and carries the rules", () => {
		const ruled: RuledRequest = {
			route: { version: 3, digest: "0a0b0c0d", matched: [2] },
			fixedResponse: { status_code: 503 },
			shard: "lb:app.test@FRA",
			loadBalancer: "app.test",
			atMs: 0,
			names: "down",
		};
		const record = toFixedOutcome(ruled, 503, 1);
		expect(shardOfLease(record.leaseId)).toBe("lb:app.test@FRA");
		expect(record).toMatchObject({ attempts: 0, status: 503, rules: [2], aborted: false });
		expect(record.servedBy).toBeUndefined();
	});
});
