import { describe, expect, it } from "vitest";
import { toHeaderValue, toUpstreamHeaders, withoutHopByHop } from "../../../src/proxy/headers";

const HOP_BY_HOP = [
	"connection",
	"keep-alive",
	"proxy-connection",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
];

const namesOf = (headers: Headers) => [...headers.keys()].sort();

describe("withoutHopByHop", () => {
	it("removes the fixed hop-by-hop list and keeps end-to-end headers", () => {
		const incoming = new Headers({
			"content-type": "text/plain",
			authorization: "Bearer t",
			cookie: "a=1",
			...Object.fromEntries(HOP_BY_HOP.map((name) => [name, "x"])),
		});
		expect(namesOf(withoutHopByHop(incoming))).toEqual(["authorization", "content-type", "cookie"]);
	});

	it.each([
		{ connection: "X-Foo", removed: ["x-foo"], kept: ["x-bar"] },
		{ connection: "x-foo, X-Bar", removed: ["x-foo", "x-bar"], kept: ["x-baz"] },
		{ connection: " X-FOO ,x-bar,, ", removed: ["x-foo", "x-bar"], kept: ["x-baz"] },
		{ connection: "close", removed: [], kept: ["x-foo", "x-bar", "x-baz"] },
		{ connection: "keep-alive, Upgrade", removed: [], kept: ["x-foo", "x-bar", "x-baz"] },
	])("removes what Connection: $connection names", ({ connection, removed, kept }) => {
		const incoming = new Headers({ connection, "x-foo": "1", "x-bar": "2", "x-baz": "3" });
		const out = withoutHopByHop(incoming);
		for (const name of removed) expect(out.has(name), name).toBe(false);
		for (const name of kept) expect(out.get(name), name).not.toBeNull();
		expect(out.has("connection")).toBe(false);
	});

	it("does not modify its input", () => {
		const incoming = new Headers({ connection: "x-foo", "x-foo": "1", te: "trailers" });
		withoutHopByHop(incoming);
		expect(namesOf(incoming)).toEqual(["connection", "te", "x-foo"]);
	});

	it("keeps repeated values of end-to-end headers", () => {
		const incoming = new Headers([
			["accept", "text/html"],
			["accept", "application/json"],
		]);
		expect(withoutHopByHop(incoming).get("accept")).toBe("text/html, application/json");
	});
});

describe("toUpstreamHeaders", () => {
	const info = { clientIp: "203.0.113.7", proto: "https", host: "app.example.com" };

	it("rebuilds x-forwarded-for from the client address, ignoring a spoofed one", () => {
		const out = toUpstreamHeaders(new Headers({ "x-forwarded-for": "10.0.0.1, 1.2.3.4" }), info);
		expect(out.get("x-forwarded-for")).toBe("203.0.113.7");
	});

	it("drops an incoming x-forwarded-for when the client address is unknown", () => {
		const out = toUpstreamHeaders(new Headers({ "x-forwarded-for": "10.0.0.1" }), { ...info, clientIp: undefined });
		expect(out.has("x-forwarded-for")).toBe(false);
	});

	it("sets x-forwarded-proto and x-forwarded-host, replacing incoming ones", () => {
		const out = toUpstreamHeaders(new Headers({ "x-forwarded-proto": "http", "x-forwarded-host": "evil.example" }), {
			...info,
			proto: "https",
			host: "app.example.com:8443",
		});
		expect(out.get("x-forwarded-proto")).toBe("https");
		expect(out.get("x-forwarded-host")).toBe("app.example.com:8443");
	});

	it("removes host and hop-by-hop headers, keeps the rest", () => {
		const out = toUpstreamHeaders(
			new Headers({
				host: "app.example.com",
				connection: "x-secret",
				"x-secret": "1",
				"proxy-authorization": "Basic x",
				"keep-alive": "timeout=5",
				accept: "*/*",
				cookie: "s=1",
				authorization: "Bearer t",
			}),
			info,
		);
		expect(namesOf(out)).toEqual([
			"accept",
			"authorization",
			"cookie",
			"x-forwarded-for",
			"x-forwarded-host",
			"x-forwarded-proto",
			"x-real-ip",
		]);
	});

	it("drops client-address headers a client could forge and rebuilds them from the real address", () => {
		const out = toUpstreamHeaders(
			new Headers({
				forwarded: "for=10.6.6.6",
				"x-real-ip": "10.6.6.6",
				"true-client-ip": "10.6.6.6",
				"x-forwarded-port": "1",
				"x-forwarded-for": "10.6.6.6",
				// Issue 15: address and scheme headers frameworks also read (Rack: X-Forwarded-Scheme/-Ssl).
				"x-client-ip": "10.6.6.6",
				"x-cluster-client-ip": "10.6.6.6",
				"x-forwarded-scheme": "https",
				"x-forwarded-ssl": "on",
			}),
			info,
		);
		for (const name of ["x-client-ip", "x-cluster-client-ip", "x-forwarded-scheme", "x-forwarded-ssl"]) {
			expect(out.get(name), name).toBeNull();
		}
		expect(out.get("forwarded")).toBeNull();
		expect(out.get("true-client-ip")).toBeNull();
		expect(out.get("x-forwarded-port")).toBeNull();
		expect(out.get("x-real-ip")).toBe(info.clientIp);
		expect(out.get("x-forwarded-for")).toBe(info.clientIp);
	});
});

// Issue 13, item 5: names are accepted as Cloudflare accepts them and encoded where they are emitted.
describe("toHeaderValue", () => {
	it.each([
		["origin-1", "origin-1"],
		["eu west 1", "eu west 1"],
		["a\nb\r\nc", "a%0Ab%0D%0Ac"],
		["Zürich – 1", "Z%C3%BCrich %E2%80%93 1"],
		["100%", "100%25"],
		["x😀y", "x%F0%9F%98%80y"],
		["lone \ud800 surrogate", "lone %EF%BF%BD surrogate"],
	])("%j → %j, a valid header value that decodes back", (name, value) => {
		expect(toHeaderValue(name)).toBe(value);
		expect(() => new Headers({ x: toHeaderValue(name) })).not.toThrow();
		if (!name.includes("\ud800")) expect(decodeURIComponent(toHeaderValue(name))).toBe(name);
	});
});

// Issue 15 (header attacks): CGI-style servers (PHP, WSGI, Rack) read `X_Forwarded_For` as the same
// variable as `X-Forwarded-For` (HTTP_X_FORWARDED_FOR), so the underscore spelling is a forged
// forwarding header too. workerd passes such names through; they used to reach the origin.
describe("issue 15: forwarding headers spelled with underscores", () => {
	const info = { clientIp: "203.0.113.7", proto: "https", host: "app.example.com", cdnLoop: "switchyard" };

	it("drops them, and keeps other names with underscores", () => {
		const out = toUpstreamHeaders(
			new Headers({
				x_forwarded_for: "10.6.6.6",
				"x-forwarded_for": "10.6.6.6",
				x_real_ip: "10.6.6.6",
				true_client_ip: "10.6.6.6",
				x_forwarded_host: "evil.example",
				x_forwarded_proto: "gopher",
				x_forwarded_port: "1",
				cdn_loop: "evil",
				x_switchyard_origin: "a",
				my_header: "kept",
			}),
			info,
		);
		expect(namesOf(out)).toEqual([
			"cdn-loop",
			"my_header",
			"x-forwarded-for",
			"x-forwarded-host",
			"x-forwarded-proto",
			"x-real-ip",
		]);
		expect(out.get("x-forwarded-for")).toBe(info.clientIp);
		expect(out.get("cdn-loop")).toBe("switchyard");
	});
});
