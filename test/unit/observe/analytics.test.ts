import { describe, expect, it } from "vitest";
import { toOriginBase } from "../../../src/config/origin-address";
import { loadBalancerSchema, proxySchema } from "../../../src/config/schema";
import { validateConfig } from "../../../src/config/validate";
import type { OutcomeRecord, RequestSample } from "../../../src/contract/outcome";
import type { Attempt, RoutePlan } from "../../../src/contract/route";
import {
	type AnalyticsDataPoint,
	analyticsObserver,
	indexHashOf,
	isSampled,
	toDataPoint,
	toIndexHash,
	toStatusClass,
} from "../../../src/observe/analytics";
import { proxyRequest } from "../../../src/proxy/proxy";
import { aConfig, aLoadBalancer } from "../../fixtures/config";
import { fakeFetch, rejectingFetch, respondingFetch } from "../../fixtures/fetch";

function recordingDataset() {
	const points: AnalyticsDataPoint[] = [];
	return { points, writeDataPoint: (point: AnalyticsDataPoint) => void points.push(point) };
}

/** A deterministic random in [0, 1): a linear congruential generator. */
function seeded(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
}

const record = (fields: Partial<OutcomeRecord> = {}): OutcomeRecord => ({
	leaseId: "l",
	attempts: 1,
	retried: false,
	totalMs: 12,
	aborted: false,
	...fields,
});

const sample = (fields: Partial<RequestSample> = {}): RequestSample => ({
	loadBalancer: "app.example.com",
	pool: "p",
	record: record({ servedBy: "p/a", status: 200, ttfbMs: 7.5 }),
	bytes: 5,
	colo: "AMS",
	...fields,
});

describe("toStatusClass", () => {
	it.each([
		[200, "2xx"],
		[204, "2xx"],
		[301, "3xx"],
		[404, "4xx"],
		[503, "5xx"],
		[101, "1xx"],
		[undefined, "error"],
	])("%s → %s", (status, expected) => {
		expect(toStatusClass(status)).toBe(expected);
	});
});

describe("toIndexHash", () => {
	it("is 16 hex digits, stable, and different for different names", () => {
		expect(toIndexHash("app.example.com")).toMatch(/^[0-9a-f]{16}$/);
		expect(toIndexHash("app.example.com")).toBe(toIndexHash("app.example.com"));
		expect(toIndexHash("app.example.com")).not.toBe(toIndexHash("api.example.com"));
		// FNV-1a 64 of the empty string is its offset basis.
		expect(toIndexHash("")).toBe("cbf29ce484222325");
	});

	it("fits the 96-byte index however long the name is", () => {
		const long = `${"a".repeat(250)}.example.com`;
		expect(new TextEncoder().encode(toIndexHash(long)).byteLength).toBeLessThanOrEqual(96);
	});
});

describe("toDataPoint", () => {
	it("names the load balancer, pool, origin, colo and status class, with latency, bytes and the rate", () => {
		expect(toDataPoint(sample(), 0.25)).toEqual({
			indexes: [toIndexHash("app.example.com")],
			blobs: ["app.example.com", "p", "a", "AMS", "2xx"],
			doubles: [7.5, 5, 0.25],
		});
	});

	it("a request no origin answered: the planned pool, no origin, `error`, zeros", () => {
		const point = toDataPoint(sample({ record: record({ error: "refused" }), bytes: 0, pool: "q" }), 1);
		expect(point.blobs).toEqual(["app.example.com", "q", "", "AMS", "error"]);
		expect(point.doubles).toEqual([0, 0, 1]);
	});

	it("a request that matched load balancing rules: their names in blob6 (issue 20); none, no blob6", () => {
		expect(toDataPoint(sample({ rules: "api,tagged" }), 1).blobs).toEqual([
			"app.example.com",
			"p",
			"a",
			"AMS",
			"2xx",
			"api,tagged",
		]);
		expect(toDataPoint(sample(), 1).blobs).toHaveLength(5);
	});
});

describe("isSampled", () => {
	it("a rate of 1 keeps every request without asking for a random number", () => {
		expect(isSampled(1, () => Number.NaN)).toBe(true);
	});
	it("keeps a request when the random number is below the rate", () => {
		expect(isSampled(0.5, () => 0.49)).toBe(true);
		expect(isSampled(0.5, () => 0.5)).toBe(false);
	});
});

describe("analyticsObserver", () => {
	it("is undefined when ANALYTICS is not bound", () => {
		expect(analyticsObserver(undefined, () => 1)).toBeUndefined();
	});

	it("samples at 0.5: about half of 1,000 requests (± 7%)", () => {
		const dataset = recordingDataset();
		const observe = analyticsObserver(dataset, () => 0.5, seeded(18)) as (s: RequestSample) => void;
		for (let i = 0; i < 1000; i++) observe(sample());
		expect(dataset.points.length).toBeGreaterThanOrEqual(430);
		expect(dataset.points.length).toBeLessThanOrEqual(570);
		expect(dataset.points.every((p) => p.doubles[2] === 0.5)).toBe(true);
	});

	it("samples at 0.5 with Math.random too (± 7%)", () => {
		const dataset = recordingDataset();
		const observe = analyticsObserver(dataset, () => 0.5) as (s: RequestSample) => void;
		for (let i = 0; i < 1000; i++) observe(sample());
		expect(Math.abs(dataset.points.length - 500)).toBeLessThanOrEqual(70);
	});

	it("a binding that throws never fails the request", () => {
		const observe = analyticsObserver(
			{
				writeDataPoint: () => {
					throw new Error("limit");
				},
			},
			() => 1,
		) as (s: RequestSample) => void;
		expect(() => observe(sample())).not.toThrow();
	});
});

describe("proxyRequest with an Analytics Engine dataset", () => {
	function anAttempt(origin: string): Attempt {
		const base = toOriginBase(`http://${origin}.internal:8001`);
		if (typeof base === "string") throw new Error(base);
		return { key: `p/${origin}`, pool: "p", origin, base };
	}
	const plan: RoutePlan = {
		ok: true,
		loadBalancer: "app.example.com",
		pool: "p",
		fallback: false,
		attempts: [anAttempt("a"), anAttempt("b")],
		proxy: proxySchema.parse({ timeout_ms: 1000, retries: 1, retry_on: ["503"] }),
		leaseId: "lease-1",
	};
	const planner = { route: async () => plan };

	it("writes exactly one data point per proxied request, with the origin that answered", async () => {
		const dataset = recordingDataset();
		const observe = analyticsObserver(dataset, () => 1);
		// Declared: read whole (it is short) and counted.
		const fetcher = respondingFetch(() => new Response("hello", { status: 201, headers: { "content-length": "5" } }));
		for (let i = 0; i < 3; i++) {
			const response = await proxyRequest(new Request("http://app.example.com/x"), planner, fetcher, {
				observe,
				colo: "AMS",
			});
			expect(await response.text()).toBe("hello");
		}
		expect(dataset.points).toHaveLength(3);
		const point = dataset.points[0] as AnalyticsDataPoint;
		expect(point.indexes).toEqual([toIndexHash("app.example.com")]);
		expect(point.blobs).toEqual(["app.example.com", "p", "a", "AMS", "2xx"]);
		expect(point.doubles[0]).toBeGreaterThanOrEqual(0);
		expect(point.doubles.slice(1)).toEqual([5, 1]);
	});

	it("a body of unknown length streams through and counts 0 bytes", async () => {
		const dataset = recordingDataset();
		const response = await proxyRequest(new Request("http://app.example.com/"), planner, respondingFetch(), {
			observe: analyticsObserver(dataset, () => 1),
		});
		expect(await response.text()).toBe("ok");
		expect(dataset.points.map((p) => p.doubles[1])).toEqual([0]);
	});

	it("a retried request is one data point, naming the origin that answered last", async () => {
		const dataset = recordingDataset();
		const fetcher = fakeFetch((_url, _init, call) => new Response("x", { status: call === 1 ? 503 : 200 }));
		const response = await proxyRequest(new Request("http://app.example.com/"), planner, fetcher, {
			observe: analyticsObserver(dataset, () => 1),
			colo: "AMS",
		});
		await response.text();
		expect(dataset.points.map((p) => p.blobs)).toEqual([["app.example.com", "p", "b", "AMS", "2xx"]]);
	});

	it("a request no origin answered is one `error` data point", async () => {
		const dataset = recordingDataset();
		const response = await proxyRequest(new Request("http://app.example.com/"), planner, rejectingFetch(), {
			observe: analyticsObserver(dataset, () => 1),
			colo: "AMS",
		});
		expect(response.status).toBeGreaterThanOrEqual(500);
		expect(dataset.points.map((p) => p.blobs[4])).toEqual(["error"]);
	});

	it("none when unbound: the isolate passes no hook, and nothing is built", async () => {
		const observe = analyticsObserver(undefined, () => 1);
		const response = await proxyRequest(new Request("http://app.example.com/"), planner, respondingFetch(), {
			observe,
		});
		expect(response.status).toBe(200);
		expect(observe).toBeUndefined();
	});
});

describe("analytics_sample_rate", () => {
	const lb = { name: "app.example.com", default_pools: ["p"], fallback_pool: "p" };
	it("defaults to 1 and takes 0 < rate ≤ 1", () => {
		expect(loadBalancerSchema.parse(lb).analytics_sample_rate).toBe(1);
		expect(loadBalancerSchema.parse({ ...lb, analytics_sample_rate: 0.01 }).analytics_sample_rate).toBe(0.01);
	});
	it.each([0, -0.5, 1.5, "0.5"])("refuses %s", (rate) => {
		expect(loadBalancerSchema.safeParse({ ...lb, analytics_sample_rate: rate }).success).toBe(false);
	});
});

describe("analytics_sample_rate in a configuration document", () => {
	it.each([0, 2])("%s is refused with a message naming the field", (rate) => {
		const result = validateConfig(
			aConfig({ load_balancers: [aLoadBalancer("app.example.com", ["primary"], { analytics_sample_rate: rate })] }),
		);
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors).toEqual([
			{ path: "load_balancers[0].analytics_sample_rate", message: expect.stringMatching(/0 < rate ≤ 1/) },
		]);
	});
});

describe("the index hash, made once per load balancer name", () => {
	it("is toIndexHash's, for every name, also after many names", () => {
		for (let i = 0; i < 2_100; i++) {
			const name = `lb-${i}.example.com`;
			expect(indexHashOf(name)).toBe(toIndexHash(name));
		}
		expect(indexHashOf("www.example.com")).toBe(toIndexHash("www.example.com"));
	});
});
