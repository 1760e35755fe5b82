import { describe, expect, it } from "vitest";
import { PROBE_USER_AGENT, toProbeTarget } from "../../../src/health/targets";
import type { MonitorInput, OriginInput } from "../../fixtures/config";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool, aSnapshot } from "../../fixtures/config";

/** The probe target of a one-origin pool watched by `monitor`, compiled the way the registry does it. */
function targetFor(origin: OriginInput, monitor: Partial<MonitorInput> = {}) {
	const snapshot = aSnapshot(
		aConfig({
			monitors: [aMonitor("mon", monitor)],
			pools: [aPool("pool", [origin], { monitor: "mon" })],
			load_balancers: [aLoadBalancer("app.example.com", ["pool"])],
		}),
	);
	const entry = snapshot.pools.get("pool");
	const originEntry = entry?.origins[0];
	if (!entry?.monitor || !originEntry) throw new Error("fixture pool missing");
	return toProbeTarget(originEntry, entry.monitor);
}

describe("toProbeTarget: URL", () => {
	it.each([
		{ name: "http by default", origin: anOrigin("a"), monitor: {}, url: "http://a.example.com/" },
		{
			name: "scheme from the monitor type",
			origin: anOrigin("a"),
			monitor: { type: "https" as const, path: "/health" },
			url: "https://a.example.com/health",
		},
		{
			name: "origin port kept",
			origin: anOrigin("a", "a.example.com", { port: 8080 }),
			monitor: { path: "/h" },
			url: "http://a.example.com:8080/h",
		},
		{
			name: "monitor port replaces the origin port",
			origin: anOrigin("a", "a.example.com", { port: 8080 }),
			monitor: { port: 9090 },
			url: "http://a.example.com:9090/",
		},
		{
			name: "monitor port added to a portless origin",
			origin: anOrigin("a"),
			monitor: { type: "https" as const, port: 8443 },
			url: "https://a.example.com:8443/",
		},
		{
			name: "IPv4 with monitor port",
			origin: anOrigin("a", "127.0.0.1", { port: 9001 }),
			monitor: { port: 9002 },
			url: "http://127.0.0.1:9002/",
		},
		{
			name: "IPv6 with monitor port",
			origin: anOrigin("a", "::1", { port: 8080 }),
			monitor: { port: 9000 },
			url: "http://[::1]:9000/",
		},
		{
			name: "portless IPv6 with monitor port",
			origin: anOrigin("a", "2001:db8::7"),
			monitor: { port: 9000, path: "/h" },
			url: "http://[2001:db8::7]:9000/h",
		},
		{
			name: "IPv6 keeps its port without override",
			origin: anOrigin("a", "::1", { port: 8080 }),
			monitor: {},
			url: "http://[::1]:8080/",
		},
		{
			name: "URL scheme fixed by the address",
			origin: anOrigin("a", "http://127.0.0.1:9001"),
			monitor: { type: "https" as const },
			url: "http://127.0.0.1:9001/",
		},
		{
			name: "path prefix kept",
			origin: anOrigin("a", "https://api.example.com/v1/"),
			monitor: { path: "/health" },
			url: "https://api.example.com/v1/health",
		},
		{
			name: "URL origin with monitor port",
			origin: anOrigin("a", "http://127.0.0.1:9001/api"),
			monitor: { port: 9100, path: "/up" },
			url: "http://127.0.0.1:9100/api/up",
		},
		{
			name: "URL IPv6 origin with monitor port",
			origin: anOrigin("a", "http://[::1]:8080/p"),
			monitor: { port: 9000 },
			url: "http://[::1]:9000/p/",
		},
		{
			name: "monitor path with a query",
			origin: anOrigin("a"),
			monitor: { path: "/health?full=1" },
			url: "http://a.example.com/health?full=1",
		},
	])("$name", ({ origin, monitor, url }) => {
		const target = targetFor(origin, monitor);
		expect(target.url).toBe(url);
		expect(() => new URL(target.url)).not.toThrow();
	});
});

describe("toProbeTarget: request", () => {
	it("drops the Host header, lower-cases and joins the others", () => {
		const target = targetFor(anOrigin("a"), {
			header: { Host: ["app.example.com"], "X-App-ID": ["abc"], Accept: ["text/plain", "application/json"] },
		});
		expect(target.headers).toEqual({
			"user-agent": PROBE_USER_AGENT,
			"x-app-id": "abc",
			accept: "text/plain, application/json",
		});
	});

	it("drops a lower-case host header too", () => {
		expect(targetFor(anOrigin("a"), { header: { host: ["x"] } }).headers).toEqual({ "user-agent": PROBE_USER_AGENT });
	});

	it("lets the monitor set its own user agent", () => {
		expect(targetFor(anOrigin("a"), { header: { "User-Agent": ["custom/1"] } }).headers["user-agent"]).toBe("custom/1");
	});

	it("copies the monitor's check settings, timeout in ms", () => {
		const target = targetFor(anOrigin("a"), {
			method: "HEAD",
			timeout: 3,
			retries: 1,
			expected_codes: "2xx,301",
			expected_body: "ok",
			follow_redirects: true,
		});
		expect(target).toMatchObject({
			key: "pool/a",
			method: "HEAD",
			timeoutMs: 3000,
			retries: 1,
			expectedCodes: "2xx,301",
			expectedBody: "ok",
			followRedirects: true,
		});
	});

	it("uses the monitor defaults", () => {
		expect(targetFor(anOrigin("a"))).toMatchObject({
			method: "GET",
			timeoutMs: 5000,
			retries: 2,
			expectedCodes: "200",
			expectedBody: "",
			followRedirects: false,
		});
	});
});
