import { describe, expect, it } from "vitest";
import { type ForwardInit, forward } from "../../../src/proxy/forward";
import { fakeFetch, hangingFetch, rejectingFetch, respondingFetch } from "../../fixtures/fetch";

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

	it("issue 15: aborts the origin's fetch before the body it sends errors, when the client's body breaks", async () => {
		// workerd ends a chunked request body whose stream errors as if it were complete: only an abort
		// that comes first cuts the origin's request.
		let abortedWhenTheBodyFailed: boolean | undefined;
		const fetcher = (async (_url: RequestInfo | URL, init?: RequestInit) => {
			const body = init?.body as ReadableStream<Uint8Array>;
			const reader = body.getReader();
			try {
				while (!(await reader.read()).done) {}
			} catch (error) {
				abortedWhenTheBodyFailed = init?.signal?.aborted;
				throw error;
			}
			return new Response("took the body as whole");
		}) as typeof fetch;
		let sent = false;
		const body = new ReadableStream<Uint8Array>({
			pull(controller) {
				if (sent) controller.error(new Error("client went away"));
				else controller.enqueue(new TextEncoder().encode("partial"));
				sent = true;
			},
		});
		const result = await forward(URL_, anInit({ method: "POST", body }), fetcher);
		expect(abortedWhenTheBodyFailed).toBe(true);
		expect(result).toMatchObject({ ok: false, failure: "client" });
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

	describe("small bodies of declared length (bufferUpTo)", () => {
		const sized = (text: string, headers: Record<string, string> = {}) =>
			new Response(text, { headers: { "content-length": String(text.length), ...headers } });

		it("reads a body up to the limit whole, after telling when the headers came", async () => {
			const events: string[] = [];
			const result = await forward(
				URL_,
				anInit({ bufferUpTo: 5, onHeaders: () => events.push("headers") }),
				respondingFetch(() => sized("hello")),
			);
			if (!result.ok) throw new Error(result.detail);
			expect(events).toEqual(["headers"]);
			expect(new TextDecoder().decode(result.bytes)).toBe("hello");
		});

		it.each([
			{ name: "longer than the limit", response: () => sized("hello!") },
			{ name: "of unknown length", response: () => new Response("hello") },
			{
				name: "re-encoded on its way (Content-Encoding)",
				response: () => sized("hello", { "content-encoding": "gzip" }),
			},
		])("streams a body $name", async ({ response }) => {
			const result = await forward(URL_, anInit({ bufferUpTo: 5 }), respondingFetch(response));
			if (!result.ok) throw new Error(result.detail);
			expect(result.bytes).toBeUndefined();
			expect(await result.response.text()).toMatch(/^hello!?$/); // unread: still the whole body
		});

		it("streams every body when the limit is 0", async () => {
			const result = await forward(
				URL_,
				anInit({ bufferUpTo: 0 }),
				respondingFetch(() => sized("")),
			);
			expect(result.ok).toBe(true);
			expect(result.ok && result.bytes).toBeUndefined();
		});

		it("is a timeout, not a response, when the body stops before the deadline", async () => {
			// As the platform does: aborting the request errors a body still arriving.
			const fetcher = fakeFetch((_url, init) => {
				const body = new ReadableStream<Uint8Array>({
					start(controller) {
						controller.enqueue(new TextEncoder().encode("he"));
						init?.signal?.addEventListener("abort", () => controller.error(init.signal?.reason));
					},
				});
				return new Response(body, { headers: { "content-length": "5" } });
			});
			const result = await forward(URL_, anInit({ bufferUpTo: 5, timeoutMs: 30 }), fetcher);
			expect(result).toEqual({
				ok: false,
				failure: "timeout",
				detail: "the response body failed to arrive within 30 ms",
			});
			expect(fetcher.calls[0]?.init?.signal?.aborted).toBe(true);
		});

		it("is unreachable when the body breaks", async () => {
			const body = new ReadableStream<Uint8Array>({
				pull(controller) {
					controller.error(new Error("connection reset"));
				},
			});
			const fetcher = respondingFetch(() => new Response(body, { headers: { "content-length": "5" } }));
			const result = await forward(URL_, anInit({ bufferUpTo: 5 }), fetcher);
			expect(result).toEqual({
				ok: false,
				failure: "unreachable",
				detail: "the response body failed: connection reset",
			});
		});
	});
});

describe("a fetch that gives up on the client's body (issue 15)", () => {
	it("is the origin's failure, not the client's, when the body's pending read fails because the fetch cancelled it", async () => {
		// The client's body, as workerd's request body behaves: one chunk, then a read that waits, and
		// cancelling the body makes that pending read fail (a web stream would end it quietly).
		let failPending: (error: Error) => void = () => {};
		let sent = false;
		const client = new ReadableStream<Uint8Array>();
		const reader = {
			read: () => {
				if (sent) return new Promise((_resolve, reject) => (failPending = reject));
				sent = true;
				return Promise.resolve({ done: false as const, value: new Uint8Array(1024) });
			},
			cancel: async () => failPending(new Error("Network connection lost.")),
			releaseLock: () => {},
			closed: Promise.resolve(undefined),
		};
		Object.assign(client, { getReader: () => reader });
		// An origin nobody listens at: the fetch reads a little of the body, cancels it and rejects.
		const fetcher = (async (_url: RequestInfo | URL, init?: RequestInit) => {
			const body = init?.body as ReadableStream<Uint8Array>;
			const reader = body.getReader();
			await reader.read();
			const reading = reader.read().catch(() => undefined);
			await reader.cancel(new Error("connection refused"));
			await reading;
			// The rejection reaches the caller a moment after the body was given up (as in workerd).
			await new Promise((resolve) => setTimeout(resolve, 5));
			throw new Error("connect ECONNREFUSED 127.0.0.1:1");
		}) as typeof fetch;
		const result = await forward(URL_, anInit({ method: "PUT", body: client, bodyLength: 1 << 20 }), fetcher);
		expect(result).toMatchObject({ ok: false, failure: "unreachable" });
	});
});
