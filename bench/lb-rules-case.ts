/**
 * The load balancing rules micro-benchmark's subject (issue 20): ten rules of the kinds a load
 * balancer has (paths, headers, cookies, methods, client ranges, a query, a regular expression, a
 * [*] fold, a function, a time window), compiled once as the Worker compiles them per configuration
 * version, and matched against one request as the Worker matches each (src/rules/rule-set.ts).
 * Bundled like the reference Workers (bench/bundle.ts) and imported into Node by bench/lb-rules.ts,
 * which times it; nothing here measures.
 */
import type { RuleRequest } from "../src/rules/fields";
import { compileRules, matchRules, type RuleShape } from "../src/rules/rule-set";

export const TEN_RULES: readonly RuleShape[] = [
	{ name: "api", condition: 'starts_with(http.request.uri.path, "/api/")' },
	{ name: "beta cookie", condition: 'http.cookie contains "beta=1"' },
	{ name: "tenant", condition: 'http.request.headers["x-tenant"][0] eq "acme"' },
	{ name: "writes", condition: 'http.request.method in { "POST" "PUT" "PATCH" "DELETE" }' },
	{ name: "office", condition: "ip.src in { 10.0.0.0/8 192.168.0.0/16 2001:db8::/32 }" },
	{ name: "debug query", condition: 'http.request.uri.query contains "debug=1"' },
	{ name: "versioned", condition: 'http.request.uri.path matches "^/v[0-9]+/(users|orders)/"' },
	{ name: "json", condition: 'any(http.request.headers["accept"][*] contains "application/json")' },
	{ name: "host", condition: 'lower(http.host) eq "admin.example.com"' },
	{
		name: "window",
		condition: "http.request.timestamp.sec ge 4102444800 and http.request.timestamp.sec lt 4102448400",
	},
];

export interface RulesCase {
	/** Matches the rules against the request once; the number of rules that matched. */
	match(): number;
}

/**
 * `matching`: the request matches two rules (the path's and the JSON one), as one routed by rules
 * would; otherwise it matches none, so all ten conditions run to the end.
 */
export function rulesCase(matching: boolean): RulesCase {
	const compiled = compileRules(TEN_RULES);
	const request: RuleRequest = {
		loadBalancer: "bench.example.com",
		region: "WEU",
		clientIp: "203.0.113.7",
		method: "GET",
		url: new URL(matching ? "https://app.example.com/api/v2/users?id=7" : "https://app.example.com/static/app.js?v=3"),
		headers: new Headers({
			accept: matching ? "application/json" : "text/javascript",
			cookie: "session=8521F670545D7865; theme=dark",
			"user-agent": "bench/1.0",
			"x-tenant": "globex",
		}),
		httpVersion: "HTTP/2",
		nowMs: 1_700_000_000_000,
	};
	return { match: () => matchRules(compiled, request)?.matched.length ?? 0 };
}

/**
 * The worst regular expression the limits accept (src/rules/regex.ts: 1,000 instructions, repeats
 * to 100), about 960 instructions all alive at once on letters, found by trying the shapes that
 * keep the most states alive (chains of [a-z]{0,n}, (?:[a-z]?){100}, .{0,100}): the cost of a
 * match is the input's length times those states.
 */
export const WORST_REGEX = "(?:[a-z]{0,24}){20}x";

/** Longest input of each kind in the long-input rows: a header value, and a path. */
export const LONG_HEADER_BYTES = 16 * 1024;
export const LONG_PATH_BYTES = 8 * 1024;

/**
 * One rule with WORST_REGEX, matched against a request whose header (`"header"`: 16 KB) or path
 * (`"path"`: 8 KB) is letters with no x, so the match runs to the end of the input and fails.
 */
export function longInputCase(where: "header" | "path"): RulesCase {
	const condition =
		where === "header"
			? `any(http.request.headers["x-long"][*] matches "${WORST_REGEX}")`
			: `http.request.uri.path matches "${WORST_REGEX}"`;
	const compiled = compileRules([{ name: "worst", condition }]);
	const path = where === "path" ? `/${"a".repeat(LONG_PATH_BYTES - 1)}` : "/";
	const request: RuleRequest = {
		loadBalancer: "bench.example.com",
		region: "WEU",
		clientIp: "203.0.113.7",
		method: "GET",
		url: new URL(`https://app.example.com${path}`),
		headers: new Headers(where === "header" ? { "x-long": "a".repeat(LONG_HEADER_BYTES) } : {}),
		httpVersion: "HTTP/2",
		nowMs: 1_700_000_000_000,
	};
	return { match: () => matchRules(compiled, request)?.matched.length ?? 0 };
}
