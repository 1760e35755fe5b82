import { describe, expect, it } from "vitest";
import { type ProbeTarget, probe } from "../../../src/health/probe";
import { fakeFetch, hangingFetch, rejectingFetch, respondingFetch } from "../../fixtures/fetch";

function aTarget(overrides: Partial<ProbeTarget> = {}): ProbeTarget {
	return {
		key: "pool/origin",
		url: "http://origin.example.com/health",
		method: "GET",
		headers: { "user-agent": "test" },
		timeoutMs: 1000,
		retries: 0,
		expectedCodes: "200",
		expectedBody: "",
		followRedirects: false,
		...overrides,
	};
}

/** A clock that advances 5 ms on every read. */
function aClock(start = 1_000_000): () => number {
	let t = start;
	return () => {
		t += 5;
		return t;
	};
}

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	return new ReadableStream({
		start(controller) {
			for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
			controller.close();
		},
	});
}

describe("probe: one attempt", () => {
	it("is ok on an expected code", async () => {
		const result = await probe(
			aTarget(),
			respondingFetch(() => new Response("fine")),
			aClock(),
		);
		expect(result).toEqual({ key: "pool/origin", ok: true, status: 200, reason: "200", at: 1_000_010, rttMs: 5 });
	});

	it.each([
		{ status: 204, expectedCodes: "2xx" },
		{ status: 301, expectedCodes: "2xx,301" },
		{ status: 404, expectedCodes: "404" },
	])("is ok on $status when expecting $expectedCodes", async ({ status, expectedCodes }) => {
		const body = status === 204 ? null : "x";
		const result = await probe(
			aTarget({ expectedCodes }),
			respondingFetch(() => new Response(body, { status })),
		);
		expect(result.ok).toBe(true);
		expect(result.status).toBe(status);
	});

	it.each([
		{ status: 503, expectedCodes: "200" },
		{ status: 500, expectedCodes: "2xx" },
		{ status: 302, expectedCodes: "200,204" },
	])("fails with status on $status when expecting $expectedCodes", async ({ status, expectedCodes }) => {
		const result = await probe(
			aTarget({ expectedCodes }),
			respondingFetch(() => new Response("x", { status })),
		);
		expect(result).toMatchObject({ ok: false, status, failure: "status" });
		expect(result.reason).toContain(String(status));
		expect(result.reason).toContain(expectedCodes);
	});

	it.each([
		{ name: "in one chunk", chunks: ["status: healthy"] },
		{ name: "split across chunks", chunks: ["status: hea", "lthy"] },
	])("is ok when the expected body is found $name", async ({ chunks }) => {
		const result = await probe(
			aTarget({ expectedBody: "healthy" }),
			respondingFetch(() => new Response(streamOf(...chunks))),
		);
		expect(result).toMatchObject({ ok: true, status: 200 });
	});

	it("finds a multi-byte expected body split across chunks", async () => {
		const bytes = new TextEncoder().encode("état: prêt");
		const body = new ReadableStream<Uint8Array>({
			start(controller) {
				// "ê" is two bytes; cut between them.
				const cut = bytes.indexOf(0xc3, 5) + 1;
				controller.enqueue(bytes.slice(0, cut));
				controller.enqueue(bytes.slice(cut));
				controller.close();
			},
		});
		const result = await probe(
			aTarget({ expectedBody: "prêt" }),
			respondingFetch(() => new Response(body)),
		);
		expect(result.ok).toBe(true);
	});

	it("fails with body when the expected body is missing", async () => {
		const result = await probe(
			aTarget({ expectedBody: "healthy" }),
			respondingFetch(() => new Response("status: degraded")),
		);
		expect(result).toMatchObject({ ok: false, status: 200, failure: "body" });
		expect(result.reason).toContain('"healthy"');
	});

	it("fails with body on an empty body", async () => {
		const result = await probe(
			aTarget({ expectedBody: "ok" }),
			respondingFetch(() => new Response(null)),
		);
		expect(result).toMatchObject({ ok: false, failure: "body" });
	});

	it("checks the status before the body", async () => {
		const result = await probe(
			aTarget({ expectedBody: "healthy" }),
			respondingFetch(() => new Response("healthy", { status: 500 })),
		);
		expect(result.failure).toBe("status");
	});

	it("is unreachable when fetch rejects", async () => {
		const result = await probe(aTarget(), rejectingFetch("connect ECONNREFUSED"));
		expect(result).toMatchObject({ ok: false, failure: "unreachable" });
		expect(result.status).toBeUndefined();
		expect(result.reason).toContain("ECONNREFUSED");
	});

	it("times out when fetch hangs", async () => {
		const fetcher = hangingFetch();
		const result = await probe(aTarget({ timeoutMs: 20 }), fetcher);
		expect(result).toMatchObject({ ok: false, failure: "timeout", reason: "timeout after 20 ms" });
		expect(fetcher.calls[0]?.init?.signal?.aborted).toBe(true);
	});

	it.each([
		{ status: 521, failure: "unreachable" },
		{ status: 522, failure: "unreachable" },
		{ status: 523, failure: "unreachable" },
		{ status: 530, failure: "unreachable" },
		{ status: 524, failure: "timeout" },
	])("reads the edge's $status as $failure", async ({ status, failure }) => {
		const result = await probe(
			aTarget({ expectedCodes: "5xx" }),
			respondingFetch(() => new Response("edge", { status })),
		);
		expect(result).toMatchObject({ ok: false, status, failure });
		expect(result.reason).toContain(String(status));
	});

	it("sends the target's method, headers and URL, with a signal", async () => {
		const fetcher = respondingFetch();
		await probe(aTarget({ method: "HEAD", headers: { "x-probe": "1" } }), fetcher);
		expect(fetcher.calls).toHaveLength(1);
		const call = fetcher.calls[0];
		expect(call?.url).toBe("http://origin.example.com/health");
		expect(call?.init).toMatchObject({ method: "HEAD", headers: { "x-probe": "1" } });
		expect(call?.init?.signal).toBeInstanceOf(AbortSignal);
	});

	it.each([
		{ followRedirects: false, redirect: "manual" },
		{ followRedirects: true, redirect: "follow" },
	])("uses redirect $redirect when followRedirects is $followRedirects", async ({ followRedirects, redirect }) => {
		const fetcher = respondingFetch();
		await probe(aTarget({ followRedirects }), fetcher);
		expect(fetcher.calls[0]?.init?.redirect).toBe(redirect);
	});
});

describe("probe: retries", () => {
	const failingTimes = (failures: number) =>
		fakeFetch((_url, _init, call) =>
			call <= failures ? Promise.reject(new TypeError("connection reset")) : new Response("ok"),
		);

	it.each([
		{ retries: 2, failures: 2, ok: true, calls: 3 },
		{ retries: 2, failures: 0, ok: true, calls: 1 },
		{ retries: 2, failures: 1, ok: true, calls: 2 },
		{ retries: 2, failures: 3, ok: false, calls: 3 },
		{ retries: 0, failures: 1, ok: false, calls: 1 },
		{ retries: 5, failures: 9, ok: false, calls: 6 },
	])(
		"retries $retries, failing $failures times → ok $ok after $calls calls",
		async ({ retries, failures, ok, calls }) => {
			const fetcher = failingTimes(failures);
			const result = await probe(aTarget({ retries }), fetcher);
			expect(result.ok).toBe(ok);
			expect(fetcher.calls).toHaveLength(calls);
		},
	);

	it("reports the last attempt", async () => {
		const fetcher = fakeFetch((_url, _init, call) =>
			call === 1 ? Promise.reject(new TypeError("refused")) : new Response("no", { status: 503 }),
		);
		const result = await probe(aTarget({ retries: 1 }), fetcher);
		expect(result).toMatchObject({ ok: false, failure: "status", status: 503 });
	});

	it("retries a timeout with a fresh deadline", async () => {
		const fetcher = fakeFetch((_url, init, call) =>
			call === 1
				? new Promise<Response>((_resolve, reject) =>
						init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
					)
				: new Response("ok"),
		);
		const result = await probe(aTarget({ retries: 1, timeoutMs: 20 }), fetcher);
		expect(result.ok).toBe(true);
		expect(fetcher.calls[1]?.init?.signal?.aborted).toBe(false);
	});
});

describe("probe: distinct reasons for the edge's failures", () => {
	it.each([
		{ status: 525, reason: "TLS handshake failed (status 525)" },
		{ status: 526, reason: "invalid TLS certificate (status 526)" },
		{ status: 530, reason: "DNS resolution failed (status 530)" },
		{ status: 521, reason: "connection refused (status 521)" },
	])("$status: $reason", async ({ status, reason }) => {
		const result = await probe(
			aTarget({ expectedCodes: "2xx", retries: 0, followRedirects: false }),
			async () => new Response(null, { status }),
		);
		expect(result).toMatchObject({ ok: false, reason });
	});

	it("says when a redirect was not followed", async () => {
		const result = await probe(
			aTarget({ expectedCodes: "2xx", retries: 0, followRedirects: false }),
			async () => new Response(null, { status: 302, headers: { location: "/elsewhere" } }),
		);
		expect(result.reason).toBe("status 302, expected 2xx (redirect not followed)");
	});
});
