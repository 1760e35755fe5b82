import { describe, expect, it } from "vitest";
import { isIpAddress, isLoopback, toOriginBase, toOriginUrl } from "../../../src/config/origin-address";

describe("toOriginBase", () => {
	it.each([
		{
			address: "example.com",
			port: undefined,
			protocol: undefined,
			host: "example.com",
			hostname: "example.com",
			pathPrefix: "",
		},
		{
			address: "origin-1.eu.example.com",
			port: 8080,
			protocol: undefined,
			host: "origin-1.eu.example.com:8080",
			hostname: "origin-1.eu.example.com",
			pathPrefix: "",
		},
		{
			address: "localhost",
			port: 9001,
			protocol: undefined,
			host: "localhost:9001",
			hostname: "localhost",
			pathPrefix: "",
		},
		{
			address: "example.com",
			port: 0,
			protocol: undefined,
			host: "example.com",
			hostname: "example.com",
			pathPrefix: "",
		},
		{
			address: "192.0.2.10",
			port: undefined,
			protocol: undefined,
			host: "192.0.2.10",
			hostname: "192.0.2.10",
			pathPrefix: "",
		},
		{
			address: "127.0.0.1",
			port: 9001,
			protocol: undefined,
			host: "127.0.0.1:9001",
			hostname: "127.0.0.1",
			pathPrefix: "",
		},
		{ address: "::1", port: undefined, protocol: undefined, host: "[::1]", hostname: "::1", pathPrefix: "" },
		{
			address: "2001:db8::1",
			port: 8443,
			protocol: undefined,
			host: "[2001:db8::1]:8443",
			hostname: "2001:db8::1",
			pathPrefix: "",
		},
		{ address: "[::1]", port: 8080, protocol: undefined, host: "[::1]:8080", hostname: "::1", pathPrefix: "" },
		{
			address: "http://127.0.0.1:9001",
			port: undefined,
			protocol: "http:",
			host: "127.0.0.1:9001",
			hostname: "127.0.0.1",
			pathPrefix: "",
		},
		{
			address: "https://api.example.com/",
			port: undefined,
			protocol: "https:",
			host: "api.example.com",
			hostname: "api.example.com",
			pathPrefix: "",
		},
		{
			address: "https://api.example.com/v1/",
			port: undefined,
			protocol: "https:",
			host: "api.example.com",
			hostname: "api.example.com",
			pathPrefix: "/v1",
		},
		{
			address: "http://127.0.0.1:9001/api/v2",
			port: undefined,
			protocol: "http:",
			host: "127.0.0.1:9001",
			hostname: "127.0.0.1",
			pathPrefix: "/api/v2",
		},
		{
			address: "http://[::1]:8080/p/",
			port: undefined,
			protocol: "http:",
			host: "[::1]:8080",
			hostname: "::1",
			pathPrefix: "/p",
		},
		{
			address: "HTTPS://Example.COM:443/x",
			port: undefined,
			protocol: "https:",
			host: "example.com",
			hostname: "example.com",
			pathPrefix: "/x",
		},
	])("parses $address (port $port)", ({ address, port, ...expected }) => {
		expect(toOriginBase(address, port)).toEqual(expected);
	});

	it.each([
		{ name: "a URL with a query", address: "http://example.com/api?key=1", port: undefined, mentions: "query" },
		{ name: "a URL with a fragment", address: "http://example.com/api#top", port: undefined, mentions: "fragment" },
		{ name: "a URL and a port", address: "http://example.com", port: 8080, mentions: "port" },
		{ name: "a URL with credentials", address: "http://user:pw@example.com", port: undefined, mentions: "credentials" },
		{ name: "a non-http URL", address: "ftp://example.com", port: undefined, mentions: "http" },
		{ name: "an invalid URL", address: "http://exa mple.com", port: undefined, mentions: "not a valid URL" },
		{ name: "spaces", address: "not a host", port: undefined, mentions: "neither" },
		{ name: "a path without a scheme", address: "example.com/api", port: undefined, mentions: "neither" },
		{ name: "a leading hyphen", address: "-example.com", port: undefined, mentions: "neither" },
		{ name: "an exclamation mark", address: "example!.com", port: undefined, mentions: "neither" },
		{
			name: "a hostname with a port inside",
			address: "example.com:8080",
			port: undefined,
			mentions: 'give the port in "port"',
		},
		// An IPv4 address or hex-looking hostname with ":port" is not IPv6; it must not be accepted as "[…]".
		{
			name: "an IPv4 address with a port inside",
			address: "127.0.0.1:8080",
			port: undefined,
			mentions: 'give the port in "port"',
		},
		// Parsed by URL as an IPv4 address, which fails: every request would fail.
		{ name: "an IPv4 address with an octet above 255", address: "999.1.1.1", port: undefined, mentions: "not a valid" },
		{
			name: "a hex-letter hostname with a port inside",
			address: "cafe.be:8080",
			port: undefined,
			mentions: 'give the port in "port"',
		},
	])("rejects $name with a message", ({ address, port, mentions }) => {
		const result = toOriginBase(address, port);
		expect(typeof result).toBe("string");
		expect(result).toContain(mentions);
		expect(result).toContain(address);
	});
});

describe("toOriginUrl", () => {
	const host = toOriginBase("example.com", 8080);
	const prefixed = toOriginBase("http://127.0.0.1:9001/api/");
	const https = toOriginBase("https://secure.example.com");
	const ipv6 = toOriginBase("::1", 9000);
	if (
		typeof host === "string" ||
		typeof prefixed === "string" ||
		typeof https === "string" ||
		typeof ipv6 === "string"
	) {
		throw new Error("fixture addresses must parse");
	}

	it.each([
		{ name: "follows an http client", base: host, client: "http:", path: "/x", expected: "http://example.com:8080/x" },
		{
			name: "follows an https client",
			base: host,
			client: "https:",
			path: "/x",
			expected: "https://example.com:8080/x",
		},
		{
			name: "treats an odd client scheme as http",
			base: host,
			client: "ws:",
			path: "/x",
			expected: "http://example.com:8080/x",
		},
		{
			name: "keeps a fixed http scheme for https clients",
			base: prefixed,
			client: "https:",
			path: "/x",
			expected: "http://127.0.0.1:9001/api/x",
		},
		{
			name: "keeps a fixed https scheme for http clients",
			base: https,
			client: "http:",
			path: "/",
			expected: "https://secure.example.com/",
		},
		{
			name: "joins the prefix and the root path",
			base: prefixed,
			client: "http:",
			path: "/",
			expected: "http://127.0.0.1:9001/api/",
		},
		{
			name: "adds a missing leading slash",
			base: prefixed,
			client: "http:",
			path: "users",
			expected: "http://127.0.0.1:9001/api/users",
		},
		{
			name: "keeps encoded bytes and the query byte for byte",
			base: prefixed,
			client: "http:",
			path: "/a%2Fb?x=1&x=2&y=%20;z",
			expected: "http://127.0.0.1:9001/api/a%2Fb?x=1&x=2&y=%20;z",
		},
		{
			name: "keeps a query on the root path",
			base: host,
			client: "http:",
			path: "/?q=a+b&q=%2B",
			expected: "http://example.com:8080/?q=a+b&q=%2B",
		},
		{ name: "brackets IPv6", base: ipv6, client: "http:", path: "/x", expected: "http://[::1]:9000/x" },
	])("$name", ({ base, client, path, expected }) => {
		expect(toOriginUrl(base, client, path)).toBe(expected);
	});

	it("produces a URL that parses for every accepted address form", () => {
		for (const address of ["example.com", "127.0.0.1", "::1", "[2001:db8::2]", "http://127.0.0.1:9001/api"]) {
			const base = toOriginBase(address, address.startsWith("http") ? undefined : 8080);
			if (typeof base === "string") throw new Error(base);
			expect(() => new URL(toOriginUrl(base, "http:", "/p?q=1"))).not.toThrow();
		}
	});
});

describe("isIpAddress / isLoopback", () => {
	it.each([
		{ hostname: "127.0.0.1", ip: true, loopback: true },
		{ hostname: "127.8.9.1", ip: true, loopback: true },
		{ hostname: "192.0.2.1", ip: true, loopback: false },
		{ hostname: "::1", ip: true, loopback: true },
		{ hostname: "[::1]", ip: true, loopback: true },
		{ hostname: "2001:db8::1", ip: true, loopback: false },
		{ hostname: "localhost", ip: false, loopback: true },
		{ hostname: "LOCALHOST", ip: false, loopback: true },
		{ hostname: "example.com", ip: false, loopback: false },
		{ hostname: "cafe.be", ip: false, loopback: false },
	])("$hostname: ip $ip, loopback $loopback", ({ hostname, ip, loopback }) => {
		expect(isIpAddress(hostname)).toBe(ip);
		expect(isLoopback(hostname)).toBe(loopback);
	});
});
