import { describe, expect, it } from "vitest";
import { type ForwardInit, forward } from "../../../src/proxy/forward";
import { hangingFetch, rejectingFetch, respondingFetch } from "../../fixtures/fetch";

const URL_ = "http://origin.example.com/a?b=1";

function anInit(overrides: Partial<ForwardInit> = {}): ForwardInit {
	return { method: "GET", headers: new Headers({ accept: "*/*" }), body: null, timeoutMs: 1000, ...overrides };
}

describe("forward", () => {
	it.each([200, 404, 500, 502, 503, 504])("passes the origin's own %i through", async (status) => {
		const response = new Response("body", { status });
		const result = await forward(
			URL_,
			anInit(),
			respondingFetch(() => response),
		);
		expect(result).toEqual({ ok: true, response });
	});

	it("sends method, headers and body, with redirects left to the client", async () => {
		const fetcher = respondingFetch();
		const headers = new Headers({ "x-a": "1" });
		await forward(URL_, anInit({ method: "PUT", headers, body: "payload" }), fetcher);
		expect(fetcher.calls).toHaveLength(1);
		const call = fetcher.calls[0];
		expect(call?.url).toBe(URL_);
		expect(call?.init).toMatchObject({ method: "PUT", headers, body: "payload", redirect: "manual" });
		expect(call?.init?.signal).toBeInstanceOf(AbortSignal);
	});

	it("is unreachable when fetch rejects", async () => {
		const result = await forward(URL_, anInit(), rejectingFetch("connect ECONNREFUSED 127.0.0.1:1"));
		expect(result).toEqual({
			ok: false,
			failure: "unreachable",
			detail: "connection failed: connect ECONNREFUSED 127.0.0.1:1",
		});
	});

	it("times out when no headers arrive in time", async () => {
		const fetcher = hangingFetch();
		const result = await forward(URL_, anInit({ timeoutMs: 20 }), fetcher);
		expect(result).toEqual({ ok: false, failure: "timeout", detail: "no response headers within 20 ms" });
		expect(fetcher.calls[0]?.init?.signal?.aborted).toBe(true);
	});

	it.each([
		{ status: 522, failure: "refused" },
		{ status: 530, failure: "refused" },
		{ status: 524, failure: "timeout" },
	])("reads the edge's $status as $failure", async ({ status, failure }) => {
		const result = await forward(
			URL_,
			anInit(),
			respondingFetch(() => new Response("edge", { status })),
		);
		expect(result).toMatchObject({ ok: false, failure, status });
		if (!result.ok) expect(result.detail).toContain(String(status));
	});

	it("clears the deadline once headers arrive: a slow body is not cut", async () => {
		const timeoutMs = 20;
		const encoder = new TextEncoder();
		let push: ReadableStreamDefaultController<Uint8Array> | undefined;
		const body = new ReadableStream<Uint8Array>({
			start(controller) {
				push = controller;
			},
		});
		const fetcher = respondingFetch(() => new Response(body));
		const result = await forward(URL_, anInit({ timeoutMs }), fetcher);
		if (!result.ok) throw new Error(result.detail);
		push?.enqueue(encoder.encode("first "));
		await new Promise((resolve) => setTimeout(resolve, timeoutMs * 3));
		const signal = fetcher.calls[0]?.init?.signal;
		expect(signal?.aborted).toBe(false);
		push?.enqueue(encoder.encode("second"));
		push?.close();
		expect(await result.response.text()).toBe("first second");
		expect(signal?.aborted).toBe(false);
	});
});
