/**
 * The Rules language of load balancing rules (issue 20): every operator, function and field on
 * requests built here, and every error of the parser with the character it names.
 */
import { describe, expect, it } from "vitest";
import { compileCondition } from "../../../src/rules/compile";
import { type RuleRequest, RuleScope } from "../../../src/rules/fields";
import { RuleSyntaxError, tokenize } from "../../../src/rules/parse";

interface RequestInit {
	url?: string;
	method?: string;
	headers?: [string, string][];
	clientIp?: string;
	region?: string;
	httpVersion?: string;
	nowMs?: number;
}

function aRequest(init: RequestInit = {}): RuleRequest {
	const headers = new Headers(init.headers ?? []);
	return {
		loadBalancer: "lb.example.com",
		...(init.region === undefined ? { region: "WEU" } : { region: init.region }),
		clientIp: init.clientIp ?? "192.0.2.10",
		method: init.method ?? "GET",
		url: new URL(init.url ?? "https://lb.example.com/api/users?id=7&tag=a&tag=b"),
		headers,
		httpVersion: init.httpVersion ?? "HTTP/2",
		nowMs: init.nowMs ?? 1_700_000_000_123,
	};
}

function matches(condition: string, init: RequestInit = {}): boolean {
	return compileCondition(condition)(new RuleScope(aRequest(init)));
}

/** The error a condition fails with: its message and the 0-based character. */
function errorOf(condition: string): { message: string; position: number } {
	try {
		compileCondition(condition);
	} catch (error) {
		if (error instanceof RuleSyntaxError) return { message: error.message, position: error.position };
		throw error;
	}
	throw new Error(`"${condition}" compiled`);
}

describe("comparison operators", () => {
	it.each([
		['http.request.uri.path eq "/api/users"', true],
		['http.request.uri.path == "/api/users"', true],
		['http.request.uri.path eq "/api"', false],
		['http.request.uri.path ne "/api"', true],
		['http.request.uri.path != "/api/users"', false],
		['http.request.uri.path contains "/users"', true],
		['http.request.uri.path contains "/admin"', false],
		['http.request.uri.path matches "^/api/(users|groups)$"', true],
		['http.request.uri.path ~ "^/API"', false],
		['http.request.uri.path ~ "(?i)^/API"', true],
		['http.request.method in { "GET" "HEAD" }', true],
		['http.request.method in { "POST" "PUT" }', false],
		['http.request.uri.path lt "/b"', true],
		['http.request.uri.path le "/api/users"', true],
		['http.request.uri.path gt "/api/users"', false],
		['http.request.uri.path ge "/api"', true],
		["http.request.timestamp.sec eq 1700000000", true],
		["http.request.timestamp.sec lt 1700000000", false],
		["http.request.timestamp.sec le 1700000000", true],
		["http.request.timestamp.sec gt 1699999999", true],
		["http.request.timestamp.sec ge 1700000001", false],
		["http.request.timestamp.sec < 1800000000", true],
		["http.request.timestamp.sec > 1800000000", false],
		["http.request.timestamp.sec <= 1699999999", false],
		["http.request.timestamp.sec >= 1700000000", true],
		["http.request.timestamp.sec ne 1", true],
		["http.request.timestamp.sec in { 1 1699999990..1700000010 }", true],
		["http.request.timestamp.sec in { 1 2..3 }", false],
	])("%s → %s", (condition, expected) => {
		expect(matches(condition)).toBe(expected);
	});

	it("compares ip.src with addresses and ranges, IPv4 and IPv6", () => {
		expect(matches("ip.src eq 192.0.2.10")).toBe(true);
		expect(matches("ip.src ne 192.0.2.10")).toBe(false);
		expect(matches("ip.src in { 10.0.0.0/8 192.0.2.0/24 }")).toBe(true);
		expect(matches("ip.src in { 10.0.0.0/8 198.51.100.0/24 }")).toBe(false);
		expect(matches("ip.src in { 2001:db8::/32 }", { clientIp: "2001:db8:0:1::5" })).toBe(true);
		expect(matches("ip.src in { 2001:db8::/32 }", { clientIp: "2001:db9::5" })).toBe(false);
		expect(matches("ip.src eq ::1", { clientIp: "::1" })).toBe(true);
		// An IPv4-mapped IPv6 client is the IPv4 one.
		expect(matches("ip.src in { 192.0.2.0/24 }", { clientIp: "::ffff:192.0.2.99" })).toBe(true);
		// A family never matches the other's range.
		expect(matches("ip.src in { ::/0 }")).toBe(false);
	});
});

describe("logical operators", () => {
	const T = 'http.request.method eq "GET"';
	const F = 'http.request.method eq "POST"';
	it.each([
		[`not ${F}`, true],
		[`! ${T}`, false],
		[`${T} and ${F}`, false],
		[`${T} && ${T}`, true],
		[`${T} or ${F}`, true],
		[`${F} || ${F}`, false],
		[`${T} xor ${F}`, true],
		[`${T} ^^ ${T}`, false],
		// and binds tighter than xor, xor tighter than or.
		[`${T} or ${F} and ${F}`, true],
		[`(${T} or ${F}) and ${F}`, false],
		[`${T} xor ${T} or ${T}`, true],
		[`${F} and ${F} xor ${T}`, true],
		[`not (${T} and ${F})`, true],
		[`not not ${T}`, true],
	])("%s → %s", (condition, expected) => {
		expect(matches(condition)).toBe(expected);
	});
});

describe("maps, arrays and [*]", () => {
	const headers: [string, string][] = [
		["Content-Type", "application/json"],
		["X-Version", "2"],
	];
	it("indexes headers by lowercase name, then by position", () => {
		expect(matches('http.request.headers["content-type"][0] eq "application/json"', { headers })).toBe(true);
		expect(matches('http.request.headers["content-type"][1] eq "application/json"', { headers })).toBe(false);
		// A missing header makes every comparison false, ne too; not turns it round.
		expect(matches('http.request.headers["x-missing"][0] ne "a"', { headers })).toBe(false);
		expect(matches('not http.request.headers["x-missing"][0] eq "a"', { headers })).toBe(true);
	});

	it("folds [*] with any and all", () => {
		expect(matches('any(http.request.headers["x-version"][*] eq "2")', { headers })).toBe(true);
		expect(matches('any(http.request.uri.args["tag"][*] eq "b")')).toBe(true);
		expect(matches('all(http.request.uri.args["tag"][*] eq "b")')).toBe(false);
		expect(matches('all(http.request.uri.args["tag"][*] in {"a" "b"})')).toBe(true);
		expect(matches('any(http.request.uri.args["nope"][*] eq "b")')).toBe(false);
		expect(matches('all(http.request.uri.args["nope"][*] eq "b")')).toBe(false);
		expect(matches('any(http.request.headers.names[*] eq "x-version")', { headers })).toBe(true);
		expect(matches('any(http.request.headers.values[*] contains "json")', { headers })).toBe(true);
	});

	it("reads the query's arguments undecoded, in order", () => {
		expect(matches('http.request.uri.args.names[0] eq "id"')).toBe(true);
		expect(matches('http.request.uri.args.values[2] eq "b"')).toBe(true);
		expect(matches('any(http.request.uri.args.values[*] eq "red+apples")', { url: "https://h/?q=red+apples" })).toBe(
			true,
		);
		expect(matches('http.request.uri.args["q"][0] eq "a%20b"', { url: "https://h/?q=a%20b" })).toBe(true);
	});
});

describe("functions", () => {
	it.each([
		['lower(http.request.method) eq "get"', true],
		['upper(http.request.uri.path) eq "/API/USERS"', true],
		["len(http.request.uri.path) eq 10", true],
		["len(http.request.uri.args.names) eq 3", true],
		['starts_with(http.request.uri.path, "/api/")', true],
		['starts_with(http.request.uri.path, "/admin")', false],
		['ends_with(http.request.uri.path, "users")', true],
		['ends_with(http.request.uri.path, ".php")', false],
		['concat(http.request.method, " ", http.request.uri.path) eq "GET /api/users"', true],
		['concat("x-", lower(http.request.method)) eq "x-get"', true],
		['any(lower(http.request.uri.args["tag"][*]) eq "a")', true],
		['any(starts_with(http.request.uri.args.names[*], "ta"))', true],
		['all(ends_with(http.request.uri.args.values[*], "z"))', false],
		["any(len(http.request.uri.args.values[*]) eq 1)", true],
		["len(concat(http.request.uri.args.names, http.request.uri.args.values)) eq 6", true],
	])("%s → %s", (condition, expected) => {
		expect(matches(condition)).toBe(expected);
	});

	it("counts a string's length in bytes", () => {
		expect(matches('len(http.request.headers["x-name"][0]) eq 5', { headers: [["x-name", "café"]] })).toBe(true);
	});
});

describe("fields", () => {
	it.each([
		['cf.load_balancer.name eq "lb.example.com"', {}],
		['cf.load_balancer.region eq "WEU"', {}],
		['http.cookie contains "session=abc"', { headers: [["cookie", "theme=dark; session=abc"]] }],
		['http.host eq "shop.example.com"', { url: "https://shop.example.com/" }],
		['http.referer eq "https://example.org/"', { headers: [["referer", "https://example.org/"]] }],
		['http.request.method eq "DELETE"', { method: "DELETE" }],
		['http.request.version eq "HTTP/1.1"', { httpVersion: "HTTP/1.1" }],
		['http.request.uri eq "/a/b?c=d"', { url: "https://h/a/b?c=d" }],
		['http.request.uri.path eq "/a/b"', { url: "https://h/a/b?c=d" }],
		['http.request.uri.query eq "c=d&e"', { url: "https://h/a?c=d&e" }],
		["http.request.timestamp.sec eq 42", { nowMs: 42_999 }],
		["ip.src eq 203.0.113.7", { clientIp: "203.0.113.7" }],
	] as [string, RequestInit][])("%s", (condition, init) => {
		expect(matches(condition, init)).toBe(true);
	});

	it("treats an absent cookie, referer, region or client address as missing", () => {
		expect(matches('http.cookie ne "x"')).toBe(false);
		expect(matches('http.referer eq ""')).toBe(false);
		expect(matches('cf.load_balancer.region eq "WEU"', { region: undefined as unknown as string })).toBe(true);
		expect(matches("ip.src in { 0.0.0.0/0 }", { clientIp: "not an ip" })).toBe(false);
	});
});

describe("literals", () => {
	it("reads escapes in strings and raw strings", () => {
		expect(matches('http.referer eq "say \\"hi\\" \\\\o/"', { headers: [["referer", 'say "hi" \\o/']] })).toBe(true);
		expect(matches('http.request.uri.path matches r"^/api/\\d+$"', { url: "https://h/api/42" })).toBe(true);
		expect(matches('http.referer eq r#"say "hi""#', { headers: [["referer", 'say "hi"']] })).toBe(true);
	});

	it("tokenizes IPv4, IPv6, CIDRs, integers and ranges", () => {
		const kinds = tokenize("ip.src in { 10.0.0.0/8 2001:db8::/32 ::1 } 80..90").map((token) => token.kind);
		expect(kinds).toEqual(["word", "word", "punct", "ip", "ip", "ip", "punct", "int", "punct", "int", "end"]);
	});
});

describe("parse errors name the character", () => {
	it.each([
		// [condition, message pattern, 0-based position]
		['http.request.method eq "GET" and', /expected a field, a function or "\(", found the end/, 32],
		['http.request.method eq "GET', /unterminated string/, 23],
		['http.request.method eq "G\\ET"', /backslash escapes only/, 25],
		["http.request.method eq GET", /expected a value .* found "GET"/, 23],
		['(http.request.method eq "GET"', /expected "\)"/, 29],
		['http.request.method eq "GET")', /expected an operator .* found "\)"/, 28],
		['http.request.method eq "GET" "POST"', /expected an operator/, 29],
		['http.request.method in "GET"', /expected "\{" opening a set/, 23],
		["http.request.method in { }", /an empty set/, 23],
		['http.request.method in { "GET"', /expected "\}" closing the set/, 30],
		["http.request.method in $methods", /named lists/, 23],
		['http.request.method wildcard "G*"', /"wildcard" is not supported/, 20],
		['http.request.method eq "GET" @', /unexpected character "@"/, 29],
		['http.request.headers[0] eq "a"', /map is indexed by a key in quotes/, 20],
		['http.request.headers["a"]["b"] eq "a"', /array is indexed by a number or \*/, 25],
		['http.request.headers["a"][ eq "a"', /expected a key .* found "eq"/, 27],
		['http.request.headers["a"][0 eq "a"', /expected "\]"/, 28],
		["http.request.timestamp.sec in { 5..1 }", /end is below its start/, 35],
		['http.request.timestamp.sec in { 1.."a" }', /expected the integer ending the range/, 35],
		['r"abc', /unterminated raw string/, 0],
		['lower(http.request.method eq "a"', /expected "\)" closing the arguments, found the end/, 32],
		["http.request.timestamp.sec eq 99999999999999999999", /an integer too large/, 30],
	])("%s", (condition, message, position) => {
		const error = errorOf(condition);
		expect(error.message).toMatch(message);
		expect(error.position).toBe(position);
	});

	it("refuses what does not type-check, naming where", () => {
		const cases: [string, RegExp, number][] = [
			['http.request.nope eq "a"', /the field "http.request.nope" is not one load balancing rules support/, 0],
			['dns.qry.name eq "a"', /the field "dns.qry.name"/, 0],
			['ip.src eq "1.2.3.4"', /expected an IP address or CIDR/, 10],
			["ip.src eq 1.2.3.4/40", /expected an IP address or CIDR/, 10],
			['ip.src contains "1"', /"contains" does not apply to an IP address/, 7],
			['http.request.timestamp.sec eq "1"', /integer field is compared with an integer/, 30],
			['http.request.timestamp.sec matches "1"', /"matches" does not apply to an integer/, 27],
			["http.request.method eq 1", /string is compared with a string in quotes/, 23],
			['http.request.method in { "GET" 1 }', /set for a string field holds strings/, 31],
			['http.request.timestamp.sec in { "a" }', /set for an integer field holds integers/, 32],
			['http.request.headers eq "a"', /map cannot be compared/, 21],
			['http.request.headers.names eq "a"', /array cannot be compared/, 27],
			["http.request.method", /must be true or false, not a string/, 0],
			['http.request.headers["a"][*] eq "x"', /must be folded with any/, 0],
			['nope(http.request.method) eq "a"', /unknown function "nope"/, 0],
			['lower(http.request.method, "x") eq "a"', /lower\(\) takes 1 argument, not 2/, 0],
			["lower(http.request.timestamp.sec) eq 1", /lower\(\) takes a string, not a int/, 0],
			['any(http.request.method eq "GET")', /any\(\) takes a comparison with \[\*\]/, 0],
			['all(http.request.method eq "GET")', /all\(\) takes a comparison with \[\*\]/, 0],
			["starts_with(http.request.method, http.request.method)", /takes a string in quotes second/, 0],
			['ends_with(http.request.timestamp.sec, "1")', /takes a string first/, 0],
			['concat(http.request.method) eq "a"', /concat\(\) takes two arguments or more/, 0],
			['concat(http.request.method, http.request.uri.args.names) eq "a"', /all of one kind/, 0],
			["len(http.request.timestamp.sec) eq 1", /len\(\) takes a string or an array/, 0],
			["not http.request.method", /"not" takes true or false, not a string/, 0],
			['http.request.method and http.request.method eq "a"', /"and" takes true or false/, 0],
			['ip.src in { 1.2.3.4 "x" }', /expected an IP address or CIDR/, 20],
			['http.request.headers["a"][*][0] eq "x"', /\[…\] after \[\*\] is not supported/, 28],
			["http.request.method[0] eq 1", /a string cannot be indexed/, 19],
			['any(http.request.headers["a"][*] eq "x") eq "y"', /true or false cannot be compared/, 41],
			['lower(1.2.3.4) eq "a"', /IP address or range can only be compared with ip.src/, 6],
		];
		for (const [condition, message, position] of cases) {
			const error = errorOf(condition);
			expect(error.message, condition).toMatch(message);
			expect(error.position, condition).toBe(position);
		}
	});

	it("names the character of a bad regular expression inside its string", () => {
		const error = errorOf('http.request.uri.path matches "^/(a"');
		expect(error.message).toMatch(/regular expression: unclosed "\("/);
		// The string opens at 30; the pattern's "(" is its third character.
		expect(error.position).toBe(30 + 1 + 2);
		expect(errorOf('http.request.uri.path ~ "(a)\\\\1"').message).toMatch(/backreferences are not supported/);
		expect(errorOf('http.request.uri.path ~ "a(?=b)"').message).toMatch(/lookaround is not supported/);
	});

	it("refuses a condition longer than 4,096 characters", () => {
		expect(errorOf(`http.request.method eq "${"a".repeat(4100)}"`).message).toMatch(/longer than 4096/);
	});
});

describe("header keys (review of issue 20)", () => {
	it("refuses a key that is not a header name, naming its character, rather than failing every request", () => {
		const cases: [string, RegExp, number][] = [
			// The key's text begins at 22 (after `http.request.headers["`).
			['http.request.headers["x y"][0] eq "a"', /" " \(U\+0020\) cannot be part of a header name/, 23],
			['http.request.headers[""][0] eq "a"', /a header name cannot be empty/, 22],
			['http.request.headers["café"][0] eq "a"', /"é" \(U\+00E9\) cannot be part of a header name/, 25],
			['any(http.request.headers["a:b"][*] eq "a")', /":" cannot be part of a header name/, 27],
			['http.request.headers[r"x\\y"][0] eq "a"', /"\\" cannot be part of a header name/, 24],
			['http.request.headers["x\ty"][0] eq "a"', /U\+0009 cannot be part of a header name/, 23],
		];
		for (const [condition, message, position] of cases) {
			const error = errorOf(condition);
			expect(error.message, condition).toMatch(message);
			expect(error.position, condition).toBe(position);
		}
	});

	it("refuses an upper-case key: the map's keys are lower case, as Cloudflare's are", () => {
		const error = errorOf('http.request.headers["X-Foo"][0] eq "a"');
		expect(error.message).toMatch(/header names are lower case .* write \["x-foo"\]/);
		expect(error.position).toBe(22);
		expect(errorOf('http.request.headers["x-Foo"][0] eq "a"').position).toBe(24);
	});

	it("accepts every token character, and the header then matches whatever case the client sent", () => {
		expect(
			matches('http.request.headers["x-a!#$%&\'*+.^_`|~09"][0] eq "1"', { headers: [["X-A!#$%&'*+.^_`|~09", "1"]] }),
		).toBe(true);
		expect(matches('http.request.headers["x-foo"][0] eq "a"', { headers: [["X-Foo", "a"]] })).toBe(true);
	});
});

describe("nesting (review of issue 20)", () => {
	it("refuses more than 64 levels of parentheses with a syntax error at the 65th, not a stack overflow", () => {
		const deep = `${"(".repeat(2000)}http.request.method eq "GET"${")".repeat(2000)}`;
		const error = errorOf(deep);
		expect(error.message).toMatch(/nested more than 64 levels deep/);
		expect(error.position).toBe(64);
	});

	it("counts not and function calls as levels too, and accepts 64 levels", () => {
		expect(errorOf(`${"!".repeat(2000)}http.request.method eq "GET"`).message).toMatch(/nested more than 64/);
		expect(errorOf(`${"not ".repeat(100)}http.request.method eq "GET"`).position).toBe(64 * 4);
		const calls = `${"lower(".repeat(100)}http.request.method${")".repeat(100)} eq "get"`;
		expect(errorOf(calls).message).toMatch(/nested more than 64/);
		const sixtyFour = `${"(".repeat(64)}http.request.method eq "GET"${")".repeat(64)}`;
		expect(matches(sixtyFour)).toBe(true);
	});
});
