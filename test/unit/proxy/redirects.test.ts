/**
 * Issue 14, item 8: an origin's absolute redirect (and its cookies' Domain) must not send the
 * client around the balancer. The rules, table by table; test/workers/proxy-redirects.test.ts
 * shows them on a real origin.
 */
import { describe, expect, it } from "vitest";
import { toOriginBase } from "../../../src/config/origin-address";
import type { OriginBase } from "../../../src/contract/route";
import { withoutHopByHop } from "../../../src/proxy/headers";
import {
	rewriteOriginHeaders,
	toClientRefresh,
	toClientSetCookie,
	toClientUrl,
	toOriginRewrite,
} from "../../../src/proxy/redirects";

function baseOf(address: string, port?: number): OriginBase {
	const base = toOriginBase(address, port);
	if (typeof base === "string") throw new Error(base);
	return base;
}

const CLIENT = "https://app.example.com/page?q=1";
const rewriteFor = (address: string, client = CLIENT, port?: number) =>
	toOriginRewrite(baseOf(address, port), new URL(client));

describe("toOriginRewrite", () => {
	it.each([
		{ address: "http://127.0.0.1:9001", client: CLIENT, origin: "http://127.0.0.1:9001", hostname: "127.0.0.1" },
		{ address: "Origin.Internal", client: CLIENT, origin: "https://origin.internal", hostname: "origin.internal" },
		{ address: "origin.internal", client: "http://app.example.com/", origin: "http://origin.internal" },
		{ address: "http://origin.internal:80/api", client: CLIENT, origin: "http://origin.internal", prefix: "/api" },
		{ address: "https://[::1]:8443", client: CLIENT, origin: "https://[::1]:8443", hostname: "::1" },
	])("$address, asked by $client → $origin", ({ address, client, origin, hostname, prefix }) => {
		const rewrite = rewriteFor(address, client);
		expect(rewrite.origin).toBe(origin);
		expect(rewrite.client).toBe(new URL(client).origin);
		if (hostname) expect(rewrite.hostname).toBe(hostname);
		expect(rewrite.pathPrefix).toBe(prefix ?? "");
	});
});

describe("toClientUrl", () => {
	const plain = rewriteFor("http://127.0.0.1:9001");
	it.each([
		["http://127.0.0.1:9001/next", "https://app.example.com/next"],
		["http://127.0.0.1:9001/a%2Fb/./c?x=1&x=%20#frag", "https://app.example.com/a%2Fb/./c?x=1&x=%20#frag"],
		["http://127.0.0.1:9001", "https://app.example.com"],
		["http://127.0.0.1:9001?x", "https://app.example.com?x"],
		["HTTP://127.0.0.1:9001/Next", "https://app.example.com/Next"],
		["//127.0.0.1:9001/next", "https://app.example.com/next"],
		[
			"http://127.0.0.1:9001/login?next=http://127.0.0.1:9001/x",
			"https://app.example.com/login?next=http://127.0.0.1:9001/x",
		],
	])("rewrites %s → %s", (location, expected) => {
		expect(toClientUrl(location, plain)).toBe(expected);
	});

	it.each([
		["another scheme", "https://127.0.0.1:9001/next"],
		["another port", "http://127.0.0.1:9002/next"],
		["no port (80)", "http://127.0.0.1/next"],
		["a third party", "https://example.com/next"],
		["a third party naming the origin in its query", "https://example.com/?to=http://127.0.0.1:9001/"],
		["a network-path reference to a third party", "//example.com/next"],
		["credentials", "http://user@127.0.0.1:9001/next"],
		["an absolute path", "/next"],
		["a relative path", "next"],
		["a query", "?page=2"],
		["another scheme altogether", "mailto:someone@127.0.0.1"],
		["an unparseable authority", "http://127.0.0.1:99999/next"],
	])("leaves %s alone: %s", (_what, location) => {
		expect(toClientUrl(location, plain)).toBeUndefined();
	});

	it.each([
		// The origin's host in any case, its default port written out or not.
		{ address: "origin.internal", location: "https://ORIGIN.internal:443/x", expected: "https://app.example.com/x" },
		{ address: "origin.internal", location: "http://origin.internal/x", expected: undefined },
		{
			address: "origin.internal",
			port: 80,
			client: "http://app.example.com:8080/",
			location: "http://origin.internal/x",
			expected: "http://app.example.com:8080/x",
		},
		{
			address: "http://origin.internal:80",
			client: "http://app.example.com:8080/",
			location: "http://Origin.Internal:80/x",
			expected: "http://app.example.com:8080/x",
		},
		{
			address: "http://[::1]:8080",
			location: "http://[0:0:0:0:0:0:0:1]:8080/x",
			expected: "https://app.example.com/x",
		},
		// An origin behind a path prefix: only URLs under it have a balancer URL.
		{
			address: "http://b.internal:8002/api",
			location: "http://b.internal:8002/api/next?x#f",
			expected: "https://app.example.com/next?x#f",
		},
		{
			address: "http://b.internal:8002/api",
			location: "http://b.internal:8002/api",
			expected: "https://app.example.com/",
		},
		{
			address: "http://b.internal:8002/api",
			location: "http://b.internal:8002/api?x",
			expected: "https://app.example.com/?x",
		},
		{
			address: "http://b.internal:8002/api",
			location: "http://b.internal:8002/api#f",
			expected: "https://app.example.com/#f",
		},
		{ address: "http://b.internal:8002/api", location: "http://b.internal:8002/apis/x", expected: undefined },
		{ address: "http://b.internal:8002/api", location: "http://b.internal:8002/other", expected: undefined },
		{ address: "http://b.internal:8002/api", location: "http://b.internal:8002", expected: undefined },
	])("$address: $location → $expected", ({ address, port, client, location, expected }) => {
		expect(toClientUrl(location, rewriteFor(address, client ?? CLIENT, port))).toBe(expected);
	});
});

describe("toClientRefresh", () => {
	const plain = rewriteFor("http://127.0.0.1:9001");
	it.each([
		["0; url=http://127.0.0.1:9001/next", "0; url=https://app.example.com/next"],
		["5;URL='http://127.0.0.1:9001/n?x'", "5;URL='https://app.example.com/n?x'"],
		['3, url="http://127.0.0.1:9001/n" ', '3, url="https://app.example.com/n" '],
		["0.5; Url = http://127.0.0.1:9001/", "0.5; Url = https://app.example.com/"],
		["0;http://127.0.0.1:9001/n", "0;https://app.example.com/n"],
		["0 http://127.0.0.1:9001/n", "0 https://app.example.com/n"],
		["0; url='http://127.0.0.1:9001/unclosed", "0; url='https://app.example.com/unclosed"],
	])("rewrites %s → %s", (refresh, expected) => {
		expect(toClientRefresh(refresh, plain)).toBe(expected);
	});

	it.each([["5"], ["0; url=/next"], ["0; url=https://example.com/"], ["url=http://127.0.0.1:9001/"], [""]])(
		"leaves %j alone",
		(refresh) => {
			expect(toClientRefresh(refresh, plain)).toBeUndefined();
		},
	);
});

describe("toClientSetCookie", () => {
	it.each([
		["sid=1; Path=/; Domain=127.0.0.1; HttpOnly", "127.0.0.1", "sid=1; Path=/; HttpOnly"],
		["sid=1; domain=.ORIGIN.internal", "origin.internal", "sid=1"],
		["sid=1;Domain=origin.internal.;Secure", "origin.internal", "sid=1;Secure"],
		[
			"sid=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Domain=127.0.0.1; SameSite=Lax",
			"127.0.0.1",
			"sid=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; SameSite=Lax",
		],
		["sid=1; Domain=127.0.0.1; Domain=127.0.0.1", "127.0.0.1", "sid=1"],
	])("drops the origin's Domain: %s", (cookie, hostname, expected) => {
		expect(toClientSetCookie(cookie, hostname)).toBe(expected);
	});

	it.each([
		["no Domain", "sid=1; Path=/"],
		["another domain", "sid=1; Domain=example.com"],
		["a subdomain of the origin's host", "sid=1; Domain=sub.origin.internal"],
		["a parent of the origin's host", "sid=1; Domain=internal"],
		["a cookie named domain", "domain=origin.internal; Path=/"],
	])("leaves %s alone", (_what, cookie) => {
		expect(toClientSetCookie(cookie, "origin.internal")).toBeUndefined();
	});
});

describe("rewriteOriginHeaders", () => {
	const base = baseOf("http://127.0.0.1:9001");
	const clientUrl = new URL(CLIENT);
	const originHeaders = () => {
		const headers = new Headers({
			location: "http://127.0.0.1:9001/next",
			"content-location": "http://127.0.0.1:9001/page.en",
			refresh: "0; url=http://127.0.0.1:9001/later",
			"content-type": "text/html",
		});
		headers.append("set-cookie", "a=1; Domain=127.0.0.1; Path=/");
		headers.append("set-cookie", "b=2; Domain=example.com");
		headers.append("set-cookie", "c=3; Domain=.127.0.0.1");
		return headers;
	};

	it("rewrites Location, Content-Location, Refresh and Set-Cookie, keeping every cookie in order", () => {
		const headers = originHeaders();
		rewriteOriginHeaders(headers, { base, clientUrl, proxy: { rewrite_redirects: true, rewrite_cookie_domain: true } });
		expect(headers.get("location")).toBe("https://app.example.com/next");
		expect(headers.get("content-location")).toBe("https://app.example.com/page.en");
		expect(headers.get("refresh")).toBe("0; url=https://app.example.com/later");
		expect(headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Domain=example.com", "c=3"]);
		expect(headers.get("content-type")).toBe("text/html");
	});

	it("with the names withoutHopByHop saw, rewrites the same, and asks nothing of a response without them", () => {
		const seen: string[] = [];
		const headers = withoutHopByHop(originHeaders(), seen);
		rewriteOriginHeaders(headers, { base, clientUrl, proxy: {} }, seen);
		expect(headers.get("location")).toBe("https://app.example.com/next");
		expect(headers.get("refresh")).toBe("0; url=https://app.example.com/later");
		expect(headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Domain=example.com", "c=3"]);

		const plain = new Headers({ "content-type": "text/plain", "content-length": "2" });
		const asked: string[] = [];
		const spy = new Proxy(plain, {
			get(target, property) {
				if (typeof property === "string" && ["get", "has", "getSetCookie"].includes(property)) asked.push(property);
				const value = Reflect.get(target, property, target);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		rewriteOriginHeaders(spy, { base, clientUrl, proxy: {} }, ["content-type", "content-length"]);
		expect(asked).toEqual([]);
		rewriteOriginHeaders(spy, { base, clientUrl, proxy: {} });
		expect(asked.length).toBeGreaterThan(0);
	});

	it("rewrites by default (settings absent)", () => {
		const headers = originHeaders();
		rewriteOriginHeaders(headers, { base, clientUrl, proxy: {} });
		expect(headers.get("location")).toBe("https://app.example.com/next");
		expect(headers.getSetCookie()[0]).toBe("a=1; Path=/");
	});

	it("leaves everything as the origin sent it when both settings are off", () => {
		const headers = originHeaders();
		rewriteOriginHeaders(headers, {
			base,
			clientUrl,
			proxy: { rewrite_redirects: false, rewrite_cookie_domain: false },
		});
		expect([...headers]).toEqual([...originHeaders()]);
	});

	it("turns each off on its own", () => {
		const noRedirects = originHeaders();
		rewriteOriginHeaders(noRedirects, { base, clientUrl, proxy: { rewrite_redirects: false } });
		expect(noRedirects.get("location")).toBe("http://127.0.0.1:9001/next");
		expect(noRedirects.getSetCookie()[0]).toBe("a=1; Path=/");
		const noCookies = originHeaders();
		rewriteOriginHeaders(noCookies, { base, clientUrl, proxy: { rewrite_cookie_domain: false } });
		expect(noCookies.get("location")).toBe("https://app.example.com/next");
		expect(noCookies.getSetCookie()[0]).toBe("a=1; Domain=127.0.0.1; Path=/");
	});

	it("leaves third-party and relative URLs, and cookies of other domains, untouched", () => {
		const headers = new Headers({ location: "https://example.com/next", "content-location": "/page.en" });
		headers.append("set-cookie", "b=2; Domain=example.com");
		const before = [...headers];
		rewriteOriginHeaders(headers, { base, clientUrl, proxy: {} });
		expect([...headers]).toEqual(before);
	});
});
