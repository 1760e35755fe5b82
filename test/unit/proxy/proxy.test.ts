import { describe, expect, it } from "vitest";
import { toOriginBase } from "../../../src/config/origin-address";
import { proxySchema } from "../../../src/config/schema";
import type { OutcomeRecord } from "../../../src/contract/outcome";
import type { Attempt, RoutePlan } from "../../../src/contract/route";
import { toPathAndQuery } from "../../../src/proxy/path-and-query";
import { type Planner, proxyRequest } from "../../../src/proxy/proxy";
import { fakeFetch, hangingFetch, respondingFetch } from "../../fixtures/fetch";

describe("toPathAndQuery", () => {
	it.each([
		{ url: "http://h/a?b=1", expected: "/a?b=1" },
		{ url: "http://h", expected: "/" },
		{ url: "http://h/", expected: "/" },
		{ url: "http://h?x", expected: "/?x" },
		{ url: "http://h:8080?x=1", expected: "/?x=1" },
		{ url: "https://h.example.com:8443/p/q", expected: "/p/q" },
		{ url: "http://h/a#frag", expected: "/a" },
		{ url: "http://h/a?b=1#frag", expected: "/a?b=1" },
		{ url: "http://h#frag", expected: "/" },
		{ url: "http://h?x#frag", expected: "/?x" },
		{ url: "http://h#a/b?c", expected: "/" },
		{ url: "http://h/a%2Fb?x=1&x=2&y=%20;z", expected: "/a%2Fb?x=1&x=2&y=%20;z" },
		{ url: "http://h/a/./b//c", expected: "/a/./b//c" },
		{ url: "http://h/?q=a+b&q=%2B&empty=&=v", expected: "/?q=a+b&q=%2B&empty=&=v" },
		{ url: "http://h?next=/a/b", expected: "/?next=/a/b" },
		{ url: "http://h/a?next=http://x/y", expected: "/a?next=http://x/y" },
		{ url: "http://[::1]:8080/x?y", expected: "/x?y" },
	])("$url → $expected", ({ url, expected }) => {
		expect(toPathAndQuery(url)).toBe(expected);
	});

	it("returns what a Request's URL carries, without re-encoding", () => {
		const request = new Request("http://app.example.com/caf%C3%A9/%7Euser?a=%2f&a=2");
		expect(toPathAndQuery(request.url)).toBe("/caf%C3%A9/%7Euser?a=%2f&a=2");
	});
});

function anAttempt(origin: string, address: string): Attempt {
	const base = toOriginBase(address);
	if (typeof base === "string") throw new Error(base);
	return { key: `p/${origin}`, pool: "p", origin, base };
}

function aPlan(overrides: Partial<Extract<RoutePlan, { ok: true }>> = {}): RoutePlan {
	return {
		ok: true,
		loadBalancer: "app.example.com",
		pool: "p",
		fallback: false,
		attempts: [
			anAttempt("a", "http://a.internal:8001"),
			anAttempt("b", "http://b.internal:8002/prefix"),
			anAttempt("c", "c.internal"),
		],
		proxy: proxySchema.parse({ timeout_ms: 1000, retries: 2, debug_headers: false }),
		...overrides,
	};
}

const planner = (plan: RoutePlan): Planner => ({ route: async () => plan });
const hostOf = (url: string) => new URL(url).host;

describe("proxyRequest", () => {
	it("sends the request to the first origin, path and query kept, and returns its response", async () => {
		const fetcher = respondingFetch(() => new Response("hello", { status: 201, headers: { "x-origin": "a" } }));
		const response = await proxyRequest(new Request("http://app.example.com/x%2Fy?b=1&b=2"), planner(aPlan()), fetcher);
		expect(response.status).toBe(201);
		expect(await response.text()).toBe("hello");
		expect(response.headers.get("x-origin")).toBe("a");
		expect(fetcher.calls.map((c) => c.url)).toEqual(["http://a.internal:8001/x%2Fy?b=1&b=2"]);
	});

	it("sends forwarding headers describing the client", async () => {
		const fetcher = respondingFetch();
		await proxyRequest(
			new Request("https://app.example.com/", {
				headers: {
					"cf-connecting-ip": "198.51.100.4",
					"x-forwarded-for": "10.0.0.1",
					connection: "x-drop",
					"x-drop": "1",
				},
			}),
			planner(aPlan()),
			fetcher,
		);
		const headers = new Headers(fetcher.calls[0]?.init?.headers);
		expect(headers.get("x-forwarded-for")).toBe("198.51.100.4");
		expect(headers.get("x-forwarded-proto")).toBe("https");
		expect(headers.get("x-forwarded-host")).toBe("app.example.com");
		expect(headers.has("x-drop")).toBe(false);
	});

	it("tries the next origin after a connection error", async () => {
		const fetcher = fakeFetch((url) =>
			hostOf(url) === "a.internal:8001" ? Promise.reject(new TypeError("refused")) : new Response("from b"),
		);
		const response = await proxyRequest(new Request("http://app.example.com/q"), planner(aPlan()), fetcher);
		expect(await response.text()).toBe("from b");
		expect(fetcher.calls.map((c) => c.url)).toEqual(["http://a.internal:8001/q", "http://b.internal:8002/prefix/q"]);
	});

	it.each([502, 503, 504])("tries the next origin after a %i", async (status) => {
		const fetcher = fakeFetch(
			(_url, _init, call) => new Response(`call ${call}`, { status: call === 1 ? status : 200 }),
		);
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(aPlan()), fetcher);
		expect(response.status).toBe(200);
		expect(fetcher.calls).toHaveLength(2);
	});

	it("returns the last origin's 503 as it is", async () => {
		const fetcher = respondingFetch(() => new Response("busy", { status: 503 }));
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(aPlan()), fetcher);
		expect(response.status).toBe(503);
		expect(await response.text()).toBe("busy");
		expect(fetcher.calls).toHaveLength(3);
	});

	it.each([
		{ retries: 0, calls: 1 },
		{ retries: 1, calls: 2 },
		{ retries: 2, calls: 3 },
		{ retries: 5, calls: 3 },
	])("makes at most 1 + retries ($retries) attempts → $calls", async ({ retries, calls }) => {
		const fetcher = fakeFetch(() => Promise.reject(new TypeError("refused")));
		const plan = aPlan({ proxy: proxySchema.parse({ timeout_ms: 1000, retries, debug_headers: true }) });
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(plan), fetcher);
		expect(fetcher.calls).toHaveLength(calls);
		expect(response.status).toBe(502);
		const body = (await response.json()) as Record<string, unknown>;
		expect(body).toMatchObject({ load_balancer: "app.example.com", pool: "p" });
		expect(body.origins_tried).toEqual(["a", "b", "c"].slice(0, calls));
	});

	it("moves on only for the failures listed in retry_on", async () => {
		const refused = fakeFetch(() => Promise.reject(new TypeError("refused")));
		const onlyStatuses = aPlan({ proxy: proxySchema.parse({ retries: 2, retry_on: ["503"] }) });
		expect((await proxyRequest(new Request("http://app.example.com/"), planner(onlyStatuses), refused)).status).toBe(
			502,
		);
		expect(refused.calls).toHaveLength(1);

		const busy = fakeFetch(() => Promise.resolve(new Response("busy", { status: 503 })));
		const noStatuses = aPlan({ proxy: proxySchema.parse({ retries: 2, retry_on: ["connect_failure", "timeout"] }) });
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(noStatuses), busy);
		expect(response.status).toBe(503);
		expect(busy.calls).toHaveLength(1);
	});

	it("does not name origins in problem responses unless debug_headers is on", async () => {
		const fetcher = fakeFetch(() => Promise.reject(new TypeError("refused")));
		const plan = aPlan({ proxy: proxySchema.parse({ timeout_ms: 1000, retries: 2, debug_headers: false }) });
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(plan), fetcher);
		expect(response.status).toBe(502);
		const text = await response.text();
		expect(text).not.toMatch(/"a"|"b"|"c"|a\.internal|origins_tried|refused/);
		expect(JSON.parse(text)).toMatchObject({ load_balancer: "app.example.com", pool: "p" });
	});

	it("does not retry a POST", async () => {
		const fetcher = fakeFetch(() => Promise.reject(new TypeError("refused")));
		const response = await proxyRequest(
			new Request("http://app.example.com/", { method: "POST", body: "x" }),
			planner(aPlan()),
			fetcher,
		);
		expect(fetcher.calls).toHaveLength(1);
		expect(response.status).toBe(502);
	});

	it("issue 15: answers 503 with Retry-After when every origin is checked down and none of those tried answered", async () => {
		// No pool healthy: the fallback pool is tried regardless of health (plan.fallback); nobody is there.
		const refused = fakeFetch(() => Promise.reject(new TypeError("refused")));
		const allDown = await proxyRequest(
			new Request("http://app.example.com/"),
			planner(aPlan({ fallback: true })),
			refused,
		);
		expect(allDown.status).toBe(503);
		expect(Number(allDown.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(allDown.headers.get("cache-control")).toBe("no-store");
		expect(await allDown.json()).toMatchObject({ status: 503, load_balancer: "app.example.com", pool: "p" });
		expect(refused.calls).toHaveLength(3);
		// Origins the checks call healthy that cannot be reached: still 502; one that hangs: still 504.
		const healthy = await proxyRequest(new Request("http://app.example.com/"), planner(aPlan()), refused);
		expect(healthy.status).toBe(502);
		const hanging = aPlan({ fallback: true, proxy: { ...proxySchema.parse({}), timeout_ms: 20, retries: 0 } });
		expect((await proxyRequest(new Request("http://app.example.com/"), planner(hanging), hangingFetch())).status).toBe(
			504,
		);
		// One that answered (its 503 passed on as it is) is not "nobody there".
		const busy = respondingFetch(() => new Response("busy", { status: 503 }));
		const answered = await proxyRequest(
			new Request("http://app.example.com/"),
			planner(aPlan({ fallback: true })),
			busy,
		);
		expect(await answered.text()).toBe("busy");
	});

	it("answers 504 when every origin times out", async () => {
		const fetcher = hangingFetch();
		const plan = aPlan({ proxy: { ...proxySchema.parse({}), timeout_ms: 20, retries: 1 } });
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(plan), fetcher);
		expect(response.status).toBe(504);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect(fetcher.calls).toHaveLength(2);
	});

	it.each([
		{ problem: "no_load_balancer" as const, status: 404 },
		{ problem: "load_balancer_disabled" as const, status: 503 },
		{ problem: "no_origin" as const, status: 503 },
	])("answers a $problem plan with $status and calls no origin", async ({ problem, status }) => {
		const fetcher = respondingFetch();
		const response = await proxyRequest(
			new Request("http://app.example.com/"),
			planner({ ok: false, problem, detail: "why" }),
			fetcher,
		);
		expect(response.status).toBe(status);
		expect(((await response.json()) as { detail: string }).detail).toBe("why");
		expect(fetcher.calls).toEqual([]);
	});

	it("answers 503 when the planner fails", async () => {
		const failing: Planner = { route: () => Promise.reject(new Error("registry down")) };
		const response = await proxyRequest(new Request("http://app.example.com/"), failing, respondingFetch());
		expect(response.status).toBe(503);
		expect(await response.text()).not.toContain("registry down");
	});

	it.each([
		{ debug: true, origin: "a", pool: "p" },
		{ debug: false, origin: null, pool: null },
	])("adds debug headers only when asked ($debug)", async ({ debug, origin, pool }) => {
		const plan = aPlan({ proxy: proxySchema.parse({ timeout_ms: 1000, retries: 2, debug_headers: debug }) });
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(plan), respondingFetch());
		expect(response.headers.get("x-switchyard-origin")).toBe(origin);
		expect(response.headers.get("x-switchyard-pool")).toBe(pool);
	});

	it("removes hop-by-hop headers from the origin's response", async () => {
		const fetcher = respondingFetch(
			() =>
				new Response("x", {
					headers: { connection: "x-internal", "x-internal": "1", "keep-alive": "5", "x-keep": "1" },
				}),
		);
		const response = await proxyRequest(new Request("http://app.example.com/"), planner(aPlan()), fetcher);
		expect(response.headers.has("x-internal")).toBe(false);
		expect(response.headers.has("keep-alive")).toBe(false);
		expect(response.headers.get("x-keep")).toBe("1");
	});

	it("ends the request, its lease report and its retry budget when the client's body fails", async () => {
		const { RetryBudget } = await import("../../../src/proxy/retry-budget");
		const budget = new RetryBudget(0);
		const reports: unknown[] = [];
		const failing = new ReadableStream<Uint8Array>({
			pull(controller) {
				controller.error(new Error("client went away"));
			},
		});
		const request = new Request("http://app.example.com/upload", {
			method: "PUT",
			body: failing,
			headers: { "content-length": "10" },
			duplex: "half",
		} as RequestInit);
		const plan = aPlan({ leaseId: "lease-1" } as Partial<Extract<RoutePlan, { ok: true }>>);
		const response = await proxyRequest(request, planner(plan), respondingFetch(), {
			retryBudget: budget,
			report: (record) => {
				reports.push(record);
				return undefined;
			},
		});
		expect(response.status).toBe(400);
		expect(reports).toMatchObject([{ leaseId: "lease-1", aborted: true }]);
		// The request left the budget: with no request in flight (and no minimum), no retry is allowed.
		expect(budget.tryRetry(100)).toBeUndefined();
	});
});

describe("outcome records", () => {
	it("have one shape whoever makes them: the proxy (served or failed), an unused lease, a rule's fixed response, the wire's reader", async () => {
		const { toUnusedLease } = await import("../../../src/contract/outcome");
		const { toFixedOutcome } = await import("../../../src/edge/rule-matcher");
		const { fromWireOutcomes, toWireOutcomes } = await import("../../../src/routing/wire");
		const records: OutcomeRecord[] = [];
		const report = (record: OutcomeRecord) => {
			records.push(record);
			return undefined;
		};
		const plan = aPlan({ leaseId: "lease-1" } as Partial<Extract<RoutePlan, { ok: true }>>);
		await (
			await proxyRequest(new Request("http://app.example.com/"), planner(plan), respondingFetch(), { report })
		).text();
		const refusing: typeof fetch = async () => {
			throw new Error("connection refused");
		};
		await proxyRequest(new Request("http://app.example.com/"), planner(plan), refusing, { report });
		expect(records.map((record) => record.servedBy ?? record.error)).toEqual(["p/a", expect.any(String)]);
		const fixed = toFixedOutcome(
			{
				route: { version: 1, digest: "d", matched: [0] },
				shard: "lb:app@local",
				loadBalancer: "app",
				atMs: 0,
				names: "r",
			},
			204,
			1,
		);
		const all = [...records, toUnusedLease("lease-2"), fixed, ...fromWireOutcomes(toWireOutcomes(records))];
		const shapes = new Set(all.map((record) => Object.keys(record).join(",")));
		expect(shapes.size).toBe(1);
	});
});
