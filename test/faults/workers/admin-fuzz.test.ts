/**
 * Issue 15, admin input fuzzing: fast-check generates admin requests and every one goes through the
 * Worker's fetch handler (as test/workers/helpers.ts send() does), in two families:
 *   - the configuration schema: a valid document (every collection, every block of the schema)
 *     mutated at any depth — wrong types, missing and extra fields, huge, negative and fractional
 *     numbers, odd strings (unicode, lone surrogates, controls, "." and ".."), "__proto__" and
 *     Object.prototype names as keys, deep nesting, duplicated items — sent whole with PUT /config
 *     and piecewise through the CRUD routes, drain/enable and /affinity/rotate;
 *   - the HTTP layer: bodies (random bytes, invalid UTF-8, truncated JSON, JSON that is not an
 *     object, deep brackets, a BOM, over 1 MiB), content types, methods, content encodings,
 *     declared lengths, tokens, If-Match, and path segments (percent-encoding, "..", "%2F", very
 *     long, unicode, invalid escapes).
 * The rule, per input: a 2xx, or a 4xx whose body is the Cloudflare envelope naming the problem
 * (`success: false`, errors with a known code and a message); never a 5xx. A refused write — and a
 * dry run — leaves the ETag, the stored document (byte for byte) and the audit log unchanged; an
 * accepted write's ETag is the one GET /config answers next.
 *
 * The seed is fixed (logged; FUZZ_SEED below), so a run is repeatable; a broken input is reported
 * with the request that broke it, and counted in the figures rather than stopping the run.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, originUrl, send, startClean, TOKEN } from "../../workers/helpers";
import { recordFigures } from "../figures";

/** Change it to explore; the figures say which seed produced them. */
const FUZZ_SEED = 150_015;
const SCHEMA_RUNS = 2500;
const HTTP_RUNS = 2500;

const READ_TOKEN = "test-read-token";
const API = `${ADMIN}/_lb/api`;
const ERROR_CODES = new Set([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]);
const READS = new Set(["GET", "HEAD"]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A document that uses every part of the schema (monitors, pools, origins, every load balancer block). */
function baseline(): { monitors: JsonObject[]; pools: JsonObject[]; load_balancers: JsonObject[] } {
	return {
		monitors: [
			{
				id: "health",
				type: "http",
				method: "GET",
				path: "/health",
				header: { "X-Probe": ["1"] },
				port: 0,
				timeout: 2,
				interval: 60,
				retries: 0,
				expected_codes: "2xx",
				expected_body: "",
				follow_redirects: false,
				allow_insecure: false,
				consecutive_up: 1,
				consecutive_down: 1,
			},
			{ id: "spare-monitor", path: "/health", expected_codes: "200,204" },
		],
		pools: [
			{
				id: "main",
				name: "main",
				description: "fuzz baseline",
				enabled: true,
				minimum_origins: 1,
				monitor: "health",
				latitude: 50.1,
				longitude: 8.7,
				origin_steering: { policy: "round_robin" },
				origins: [
					{ name: "a", address: originUrl("a"), enabled: true, weight: 1 },
					{ name: "b", address: originUrl("b"), enabled: true, weight: 0.5, header: { Host: ["b.example"] } },
				],
			},
			{
				id: "backup",
				name: "backup",
				origin_steering: { policy: "least_outstanding_requests" },
				origins: [{ name: "c", address: originUrl("c") }],
			},
			{ id: "spare", name: "spare", origins: [{ name: "d", address: originUrl("d") }] },
		],
		load_balancers: [
			{
				name: "app.test",
				description: "fuzz baseline",
				enabled: true,
				default_pools: ["main", "backup"],
				fallback_pool: "backup",
				region_pools: { WEU: ["main"] },
				country_pools: { DE: ["main"] },
				pop_pools: { FRA: ["backup"] },
				steering_policy: "random",
				random_steering: { pool_weights: { main: 0.7 }, default_weight: 0.3 },
				adaptive_routing: { failover_across_pools: true },
				session_affinity: "cookie",
				session_affinity_ttl: 3600,
				session_affinity_attributes: { samesite: "Lax", secure: "Auto", drain_duration: 0 },
				proxy: { timeout_ms: 5000, retries: 1, retry_on: ["connect_failure", "503"], debug_headers: true },
				outlier_detection: { consecutive_failures: 5, base_ejection_s: 30, max_ejection_percent: 50 },
				slow_start_s: 0,
				counter_scope: "colo",
			},
			{ name: "*.wild.test", default_pools: ["backup"], counter_scope: "isolate" },
		],
	};
}

// ---------------------------------------------------------------- values and mutations

/** Strings a user, a tool or an attacker might send where a name or a value goes. */
const oddString = fc.oneof(
	fc.constantFrom(
		"",
		" ",
		".",
		"..",
		"a/b",
		"a b",
		"%2F",
		"%2e%2e",
		"*",
		"__proto__",
		"constructor",
		"é",
		"日本語",
		"😀",
		"\u0000",
		"\u001b[31m",
		"\r\nX-Injected: 1",
		"\ud800",
		"\udfff",
		"\u202e",
		"x".repeat(257),
		"x".repeat(5000),
		"http://127.0.0.1:1",
		"ftp://x",
		"http://user:pass@x",
		"http://x/?q#f",
		"[::1]",
		"1.2.3.4:80",
		"GET",
		"https",
		"2xx",
		"600",
		"WEU",
		"DE",
		"FRA",
	),
	fc.string({ maxLength: 20 }),
	fc.string({ unit: "grapheme", maxLength: 12 }),
	fc.string({ unit: "binary", maxLength: 12 }),
);

const oddNumber = fc.oneof(
	fc.constantFrom(0, -0, -1, 1, 0.5, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 65536, 1e-7),
	fc.integer({ min: -1_000_000, max: 1_000_000 }),
	fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON nested `depth` levels (arrays or objects), around `leaf`. */
function nested(depth: number, kind: "array" | "object", leaf: Json = 1): Json {
	let value: Json = leaf;
	for (let i = 0; i < depth; i++) value = kind === "array" ? [value] : { n: value };
	return value;
}

const oddValue: fc.Arbitrary<Json> = fc.oneof(
	{ weight: 3, arbitrary: oddString },
	{ weight: 3, arbitrary: oddNumber },
	{ weight: 1, arbitrary: fc.constantFrom<Json>(null, true, false, [], {}, [null], [""], { "": null }) },
	{
		// Objects that JavaScript cannot turn into a string: String(value) throws.
		weight: 1,
		arbitrary: fc.constantFrom<Json>(
			{ toString: 1 },
			{ toString: null, valueOf: null },
			[{ toString: "x" }],
			{ valueOf: 1, toString: {} },
			{ toJSON: 1 },
		),
	},
	{ weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
	{
		weight: 1,
		arbitrary: fc
			.tuple(fc.integer({ min: 50, max: 90 }), fc.constantFrom<"array" | "object">("array", "object"))
			.map(([depth, kind]) => nested(depth, kind)),
	},
);

/** Keys for extra fields: Object.prototype names, "__proto__", unicode, empty, long. */
const oddKey = fc.oneof(
	fc.constantFrom(
		"__proto__",
		"constructor",
		"prototype",
		"toString",
		"valueOf",
		"hasOwnProperty",
		"__defineGetter__",
		"then",
		"",
		" ",
		"é",
		"😀",
		"\u0000",
		"x".repeat(300),
		"id",
		"name",
		"origins",
		"monitors",
	),
	fc.string({ maxLength: 10 }),
);

/** Sets an own, enumerable property (so "__proto__" becomes a field, as JSON.parse makes it). */
function setOwn(target: JsonObject | Json[], key: string | number, value: Json): void {
	// A copy (JSON keeps "__proto__" an own field): generated values may be shared, and a later
	// mutation inside one must not make a cycle.
	const copy = JSON.parse(JSON.stringify(value)) as Json;
	Object.defineProperty(target, key, { value: copy, enumerable: true, writable: true, configurable: true });
}

type Path = (string | number)[];

/** Every path in a JSON value (objects' fields and arrays' items), the root excluded. */
function pathsOf(value: Json, at: Path = [], out: Path[] = []): Path[] {
	if (Array.isArray(value)) {
		value.forEach((item, i) => {
			out.push([...at, i]);
			pathsOf(item, [...at, i], out);
		});
	} else if (value !== null && typeof value === "object") {
		for (const [key, item] of Object.entries(value)) {
			out.push([...at, key]);
			pathsOf(item, [...at, key], out);
		}
	}
	return out;
}

function parentOf(root: Json, path: Path): JsonObject | Json[] | undefined {
	let node: Json = root;
	for (const part of path.slice(0, -1)) {
		if (node === null || typeof node !== "object") return undefined;
		node = (node as JsonObject)[part as string] as Json;
	}
	return node !== null && typeof node === "object" ? (node as JsonObject) : undefined;
}

type Mutation =
	| { kind: "set"; pick: number; value: Json }
	| { kind: "delete"; pick: number }
	| { kind: "extra"; pick: number; key: string; value: Json }
	| { kind: "duplicate"; pick: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
	{ weight: 5, arbitrary: fc.record({ kind: fc.constant("set" as const), pick: fc.nat(), value: oddValue }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
	{
		weight: 3,
		arbitrary: fc.record({ kind: fc.constant("extra" as const), pick: fc.nat(), key: oddKey, value: oddValue }),
	},
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat() }) },
);

/** Applies mutations to a copy of `value` at paths chosen among its own (the root counts for "extra"). */
function mutate<T extends Json>(value: T, mutations: readonly Mutation[]): Json {
	let root: Json = structuredClone(value);
	for (const change of mutations) {
		const paths = pathsOf(root);
		if (change.kind === "extra") {
			// Onto an object: the root or any object inside (none when an earlier mutation replaced the root).
			const objects = [[], ...paths].filter((path) => {
				const node = path.length === 0 ? root : (parentOf(root, path) as JsonObject)?.[path.at(-1) as string];
				return node !== null && typeof node === "object" && !Array.isArray(node);
			});
			if (objects.length === 0) continue;
			const path = objects[change.pick % objects.length] as Path;
			const node = (
				path.length === 0 ? root : (parentOf(root, path) as JsonObject)[path.at(-1) as string]
			) as JsonObject;
			setOwn(node, change.key, change.value);
			continue;
		}
		if (paths.length === 0) {
			if (change.kind === "set") root = change.value;
			continue;
		}
		const path = paths[change.pick % paths.length] as Path;
		const parent = parentOf(root, path);
		const key = path.at(-1) as string | number;
		if (!parent) continue;
		if (change.kind === "set") setOwn(parent, key, change.value);
		else if (change.kind === "delete") {
			if (Array.isArray(parent)) parent.splice(key as number, 1);
			else delete parent[key as string];
		} else if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number] as Json));
	}
	return root;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });

// ---------------------------------------------------------------- requests

interface FuzzRequest {
	readonly method: string;
	readonly path: string;
	readonly headers: Record<string, string>;
	readonly body?: string | Uint8Array;
	/** What the generator meant, for the report. */
	readonly label: string;
}

const IDS = {
	monitors: ["health", "spare-monitor"],
	pools: ["main", "backup", "spare"],
	load_balancers: ["app.test", "%2A.wild.test"],
	origins: { main: ["a", "b"], backup: ["c"], spare: ["d"] } as Record<string, string[]>,
};

const json = (value: Json) => JSON.stringify(value);

/** If-Match and ?dry_run, the write options. */
const writeOptions = fc.record({
	ifMatch: fc.constantFrom<"none" | "current" | "stale" | "star" | "garbage">(
		"none",
		"none",
		"none",
		"current",
		"stale",
		"star",
		"garbage",
	),
	dryRun: fc.constantFrom("", "", "", "?dry_run=1", "?dry_run=true", "?dry_run=0"),
});

interface SchemaCase {
	readonly route: string;
	readonly mutations: Mutation[];
	readonly options: { ifMatch: string; dryRun: string };
	readonly pick: number;
	readonly envelope: boolean;
	readonly fresh: string;
}

const schemaCase: fc.Arbitrary<SchemaCase> = fc.record({
	route: fc.constantFrom(
		"PUT /config",
		"PUT /config",
		"PUT /config",
		"POST /monitors",
		"PUT /monitors/:id",
		"PATCH /monitors/:id",
		"DELETE /monitors/:id",
		"POST /pools",
		"PUT /pools/:id",
		"PATCH /pools/:id",
		"DELETE /pools/:id",
		"POST /pools/:id/origins",
		"PUT /pools/:id/origins/:name",
		"PATCH /pools/:id/origins/:name",
		"DELETE /pools/:id/origins/:name",
		"POST /pools/:id/origins/:name/drain",
		"POST /pools/:id/origins/:name/enable",
		"POST /load_balancers",
		"PUT /load_balancers/:hostname",
		"PATCH /load_balancers/:hostname",
		"DELETE /load_balancers/:hostname",
		"POST /affinity/rotate",
	),
	mutations,
	options: writeOptions,
	pick: fc.nat(),
	envelope: fc.boolean(),
	fresh: fc.constantFrom("fresh", "x", "日本", "new-id", "..", "main", "a"),
});

/** One schema case as a request, with a target and a body drawn from the baseline document. */
function toSchemaRequest(input: SchemaCase, currentEtag: string): FuzzRequest {
	const doc = baseline();
	const [method, template] = input.route.split(" ") as [string, string];
	const collection = template.split("/")[1] as "monitors" | "pools" | "load_balancers" | "config" | "affinity";
	const pick = <T>(list: readonly T[]) => list[input.pick % list.length] as T;
	const poolId = pick(IDS.pools);
	const originName = pick(IDS.origins[poolId] ?? ["a"]);
	let body: Json | undefined;
	let path = template;
	if (collection === "config") {
		const mutated = mutate(doc as unknown as Json, input.mutations);
		body = input.envelope ? { success: true, errors: [], messages: [], result: mutated } : mutated;
	} else if (collection === "affinity") {
		body = mutate({ drop_earlier_keys: false }, input.mutations);
	} else if (template.includes("/origins")) {
		const pool = doc.pools.find((item) => item.id === poolId) as JsonObject;
		const origin = (pool.origins as JsonObject[]).find((item) => item.name === originName) as JsonObject;
		path = template.replace(":id", encodeURIComponent(poolId)).replace(":name", encodeURIComponent(originName));
		if (method === "POST" && template.endsWith("/origins"))
			body = mutate({ ...origin, name: input.fresh }, input.mutations);
		else if (method === "PUT" || method === "PATCH") body = mutate(origin, input.mutations);
	} else {
		const ids = IDS[collection];
		const key = pick(ids);
		path = template.replace(/:(id|hostname)/, key);
		const items = doc[collection] as JsonObject[];
		const item = items[input.pick % items.length] as JsonObject;
		const keyField = collection === "load_balancers" ? "name" : "id";
		if (method === "POST")
			body = mutate(
				{ ...item, [keyField]: `${input.fresh}${collection === "load_balancers" ? ".test" : ""}` },
				input.mutations,
			);
		else if (method === "PUT")
			body = mutate({ ...items.find((candidate) => candidate[keyField] === decodeURIComponent(key)) }, input.mutations);
		else if (method === "PATCH") {
			// A partial body: one or two fields of the item, mutated.
			const source = items.find((candidate) => candidate[keyField] === decodeURIComponent(key)) ?? item;
			const fields = Object.keys(source);
			const partial: JsonObject = {};
			for (const field of [fields[input.pick % fields.length], fields[(input.pick >> 3) % fields.length]]) {
				if (field !== undefined) partial[field] = source[field] as Json;
			}
			body = mutate(partial, input.mutations);
		}
	}
	const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
	const ifMatch = { none: undefined, current: currentEtag, stale: '"0"', star: "*", garbage: "version-7" }[
		input.options.ifMatch
	];
	if (ifMatch !== undefined) headers["if-match"] = ifMatch;
	const query =
		["POST /affinity/rotate"].includes(input.route) || input.route.endsWith("drain") ? "" : input.options.dryRun;
	return {
		method,
		path: `${path}${query}`,
		headers,
		...(body === undefined ? {} : { body: json(body) }),
		label: `${method} ${path}${query} (${input.mutations.map((m) => m.kind).join(", ")})`,
	};
}

/** Path segments where an id or a name goes. */
const segment = fc.oneof(
	{
		weight: 4,
		arbitrary: fc.constantFrom("main", "backup", "health", "a", "app.test", "%2A.wild.test", "*.wild.test"),
	},
	{
		weight: 4,
		arbitrary: fc.constantFrom(
			"..",
			".",
			"%2e%2e",
			"%2E%2E",
			".%2e",
			"%2e",
			"%2F",
			"a%2Fb",
			"a%2fb",
			"%2F..%2F",
			"%252F",
			"%",
			"%ZZ",
			"%C3",
			"%C3%28",
			"%ED%A0%80",
			"%00",
			"%0d%0aX-Injected:%201",
			"%20",
			"+",
			"é",
			"%C3%A9",
			"日本",
			"😀",
			"%F0%9F%98%80",
			"__proto__",
			"constructor",
			"toString",
			"hasOwnProperty",
			"x".repeat(10_000),
			"a".repeat(300),
			"%2A",
			"*",
			";",
			"a;b=c",
			"~",
		),
	},
	{ weight: 2, arbitrary: fc.webSegment() },
	{ weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }).map(encodeURIComponent) },
);

const pathTemplate = fc.constantFrom(
	"/config",
	"/config/",
	"//config",
	"/CONFIG",
	"/config/:s",
	"/status",
	"/events",
	"/events?limit=:s",
	"/monitors",
	"/monitors/:s",
	"/monitors/:s/:s",
	"/pools",
	"/pools/:s",
	"/pools/:s/origins",
	"/pools/:s/origins/:s",
	"/pools/:s/origins/:s/drain",
	"/pools/:s/origins/:s/enable",
	"/pools/:s/origins/:s/:s",
	"/load_balancers",
	"/load_balancers/:s",
	"/affinity/rotate",
	"/affinity/:s",
	"/:s",
	"/:s/config",
	"",
	"/",
	"/config?dry_run=1",
	"/pools?dry_run=:s",
);

/** Routes that read a JSON body, with ids that exist (the body is what is being tried). */
const writeTemplate = fc.constantFrom(
	"/config",
	"/monitors",
	"/monitors/health",
	"/pools",
	"/pools/spare",
	"/pools/main/origins",
	"/pools/main/origins/b",
	"/load_balancers",
	"/load_balancers/app.test",
	"/affinity/rotate",
);

/** Bodies at the HTTP layer: bytes, broken UTF-8, broken and odd JSON. */
const body = fc.oneof(
	{ weight: 2, arbitrary: fc.constant(undefined) },
	{ weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }) },
	{
		weight: 2,
		arbitrary: fc.constantFrom(
			new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
			new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]), // {"a":"\xC3"}
			new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]), // a surrogate in UTF-8
			new Uint8Array([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]), // an overlong "/"
			new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // BOM + {}
			new Uint8Array([0xfe, 0xff, 0x00, 0x7b, 0x00, 0x7d]), // UTF-16 BE
			new Uint8Array([0x7b, 0x7d, 0x00]),
		),
	},
	{
		weight: 3,
		arbitrary: fc.tuple(fc.nat(), fc.boolean()).map(([cut, envelope]) => {
			const text = JSON.stringify(envelope ? { success: true, result: baseline() } : baseline());
			return text.slice(0, cut % text.length);
		}),
	},
	{
		weight: 3,
		arbitrary: fc.constantFrom(
			"",
			" ",
			"null",
			"true",
			"0",
			"-1",
			"1e999",
			'"text"',
			"[]",
			"[{}]",
			"{}",
			"{} {}",
			"{},",
			'{"a":1,}',
			"{'a':1}",
			'{"a":1}garbage',
			'{"__proto__":{"x":1}}',
			'{"monitors":[{"id":"m","__proto__":null}]}',
			'{"constructor":{"prototype":{"x":1}}}',
			'{"a":NaN}',
			'{"a":Infinity}',
			'{"a":0x10}',
			'{"a":"\\ud800"}',
			'{"a":"\\u0000"}',
			'{"a":1,"a":2}',
			'{"monitors":{}, "pools":"x", "load_balancers":7}',
			'{"drop_earlier_keys":"yes"}',
			'{"drop_earlier_keys":true}',
			'{"success":true,"result":[]}',
			'{"success":true,"result":{"pools":[]},"pools":[]}',
			`${"[".repeat(100_000)}${"]".repeat(100_000)}`,
			`${'{"a":'.repeat(30_000)}1${"}".repeat(30_000)}`,
			`{"x":"${"y".repeat(1024 * 1024)}"}`,
		),
	},
	{ weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
	{ weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);

const httpCase = fc.record({
	method: fc.oneof(
		{ weight: 18, arbitrary: fc.constantFrom("GET", "POST", "POST", "PUT", "PUT", "PATCH", "PATCH", "DELETE", "put") },
		{ weight: 4, arbitrary: fc.constantFrom("HEAD", "OPTIONS", "patch", "PROPFIND", "PURGE", "QUERY") },
	),
	template: fc.oneof({ weight: 2, arbitrary: writeTemplate }, { weight: 1, arbitrary: pathTemplate }),
	segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
	trailer: fc.constantFrom("", "", "", "/", "//", "/..", "/.", "?", "?x=%ZZ", "#frag", "?dry_run=1&dry_run=0"),
	body,
	contentType: fc.constantFrom(
		"application/json",
		"application/json",
		"application/json; charset=utf-8",
		"APPLICATION/JSON",
		"application/vnd.api+json",
		"application/json; charset=latin1",
		"application/json;;;",
		"text/plain",
		"text/json",
		"multipart/form-data; boundary=x",
		"application/x-www-form-urlencoded",
		"*/*",
		"",
		"none",
		"application/json\t",
	),
	contentEncoding: fc.constantFrom("none", "none", "none", "gzip", "br", "deflate", "identity", "chunked", "x-garbage"),
	declaredLength: fc.constantFrom<string | undefined>(
		undefined,
		undefined,
		undefined,
		"0",
		"5",
		"99999999",
		"-1",
		"abc",
	),
	auth: fc.oneof(
		{ weight: 20, arbitrary: fc.constant("admin" as const) },
		{ weight: 6, arbitrary: fc.constantFrom("lowercase", "read", "wrong", "none", "bearer-only", "basic") },
	),
	ifMatch: fc.constantFrom<string | undefined>(
		undefined,
		undefined,
		undefined,
		'"1"',
		"*",
		'W/"1"',
		"abc",
		'"99999999999999999999999"',
		"",
	),
});

type HttpCase = typeof httpCase extends fc.Arbitrary<infer T> ? T : never;

function toHttpRequest(input: HttpCase): FuzzRequest {
	let index = 0;
	const path = `${input.template.replace(/:s/g, () => input.segments[index++] ?? "x")}${input.trailer}`;
	const headers: Record<string, string> = {};
	const auth = {
		admin: `Bearer ${TOKEN}`,
		read: `Bearer ${READ_TOKEN}`,
		wrong: "Bearer not-the-token",
		none: undefined,
		"bearer-only": "Bearer",
		basic: `Basic ${btoa(`admin:${TOKEN}`)}`,
		lowercase: `bearer ${TOKEN}`,
	}[input.auth];
	if (auth !== undefined) headers.authorization = auth;
	if (input.contentType !== "none") headers["content-type"] = input.contentType;
	if (input.contentEncoding !== "none") headers["content-encoding"] = input.contentEncoding;
	if (input.declaredLength !== undefined) headers["content-length"] = input.declaredLength;
	if (input.ifMatch !== undefined) headers["if-match"] = input.ifMatch;
	// GET and HEAD cannot carry a body (the Request constructor refuses one).
	const canHaveBody = !READS.has(input.method.toUpperCase());
	return {
		method: input.method,
		path,
		headers,
		...(canHaveBody && input.body !== undefined ? { body: input.body } : {}),
		label: `${input.method} ${path.length > 120 ? `${path.slice(0, 120)}…(${path.length})` : path} [${input.contentType}, ${input.auth}, ${input.body === undefined ? "no body" : `${typeof input.body === "string" ? input.body.length : input.body.byteLength} body`}]`,
	};
}

// ---------------------------------------------------------------- running one input

interface Snapshot {
	readonly etag: string | null;
	readonly text: string;
	/** The newest configuration audit entry, as JSON. */
	readonly lastAudit: string;
}

async function snapshot(): Promise<Snapshot> {
	const auth = { authorization: `Bearer ${TOKEN}` };
	const config = await send(`${API}/config`, { headers: auth });
	const events = await send(`${API}/events?limit=50`, { headers: auth });
	const entries = ((await events.json()) as { result: { type: string }[] }).result;
	return {
		etag: config.headers.get("etag"),
		text: await config.text(),
		lastAudit: JSON.stringify(entries.find((entry) => entry.type === "config") ?? null),
	};
}

async function putBaseline(): Promise<void> {
	const response = await send(`${API}/config`, {
		method: "PUT",
		headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
		body: JSON.stringify(baseline()),
	});
	const text = await response.text();
	if (response.status !== 200) throw new Error(`PUT baseline: ${response.status} ${text}`);
}

interface Tally {
	runs: number;
	readonly violations: string[];
	readonly statuses: Map<number, number>;
	unsendable: number;
}

function newTally(): Tally {
	return { runs: 0, violations: [], statuses: new Map(), unsendable: 0 };
}

/** The dashboard's page and files (src/observe/dashboard-page.ts). */
const DASHBOARD_FILES = new Set(["/_lb/", "/_lb/dashboard.js", "/_lb/dashboard.css"]);

/** What is wrong with an answer, or undefined when it keeps the rule. */
async function judge(request: FuzzRequest, response: Response, before: Snapshot): Promise<string | undefined> {
	const status = response.status;
	const text = await response.text();
	if (status >= 500) return `${status}: ${text.slice(0, 300)}`;
	const isHead = request.method.toUpperCase() === "HEAD";
	// "/_lb/api/.." and the like: the URL parser resolves the path out of the admin API, to the
	// dashboard's page or files (issue 19: GET and HEAD only, under its CSP), to "/_lb" (a redirect to
	// the page), or to another reserved path, which the Worker's 404 answers as an RFC 9457 problem.
	const resolved = new URL(`${API}${request.path}`).pathname;
	if (resolved === "/_lb")
		return status === 308 && response.headers.get("location")?.endsWith("/_lb/")
			? undefined
			: `${status} for /_lb, not the redirect to the dashboard`;
	if (status < 200 || (status >= 300 && status < 400)) return `unexpected status ${status}`;
	if (DASHBOARD_FILES.has(resolved)) {
		const readsIt = isHead || request.method.toUpperCase() === "GET";
		if (readsIt)
			return status === 200 && (response.headers.get("content-security-policy") ?? "").includes("default-src 'self'")
				? undefined
				: `${status} for the dashboard's ${resolved} without its CSP`;
		return status === 405 && response.headers.get("allow") === "GET, HEAD"
			? undefined
			: `${status} for ${request.method} ${resolved}: the dashboard answers GET and HEAD only`;
	}
	if (resolved !== "/_lb/api" && !resolved.startsWith("/_lb/api/")) {
		if (status !== 404 || !(response.headers.get("content-type") ?? "").startsWith("application/problem+json"))
			return `${status} for ${resolved}, outside the admin API: ${text.slice(0, 200)}`;
		const problem = JSON.parse(text) as { status?: unknown; detail?: unknown };
		return problem.status === 404 && typeof problem.detail === "string"
			? undefined
			: `a problem naming nothing: ${text}`;
	}
	let envelope: { success?: unknown; errors?: unknown; result?: unknown } | undefined;
	if (!isHead) {
		if (!(response.headers.get("content-type") ?? "").startsWith("application/json"))
			return `${status} without a JSON body (${response.headers.get("content-type")})`;
		try {
			envelope = JSON.parse(text);
		} catch {
			return `${status}: the body is not JSON: ${text.slice(0, 200)}`;
		}
	}
	if (status >= 400 && envelope) {
		const errors = envelope.errors as { code?: unknown; message?: unknown }[] | undefined;
		if (envelope.success !== false || !Array.isArray(errors) || errors.length === 0)
			return `${status} without an envelope naming the problem: ${text.slice(0, 300)}`;
		for (const error of errors) {
			if (!ERROR_CODES.has(error.code as number) || typeof error.message !== "string" || error.message.trim() === "")
				return `${status} with an error that names nothing: ${JSON.stringify(error)}`;
		}
		if (envelope.result !== null) return `${status} with a result: ${text.slice(0, 200)}`;
	}
	if (status < 300 && envelope && envelope.success !== true) return `${status} but success is not true`;
	const isWrite = !READS.has(request.method.toUpperCase());
	const dryRun =
		/[?&]dry_run=(1|true)(&|$)/.test(request.path) && (envelope as { dry_run?: unknown })?.dry_run === true;
	if (isWrite && (status >= 400 || dryRun)) {
		const after = await snapshot();
		if (after.etag !== before.etag) return `refused (${status}) but the ETag moved: ${before.etag} → ${after.etag}`;
		if (after.text !== before.text) return `refused (${status}) but GET /config changed`;
		if (after.lastAudit !== before.lastAudit)
			return `refused (${status}) but an audit entry was written: ${after.lastAudit}`;
	} else if (isWrite && status < 300) {
		const etag = response.headers.get("etag");
		if (etag !== null) {
			const after = await snapshot();
			if (after.etag !== etag) return `accepted with ETag ${etag}, but GET /config answers ${after.etag}`;
		}
	}
	return undefined;
}

/** Sends one input and judges the answer; restores the baseline when an accepted write changed it. */
async function runOne(tally: Tally, request: FuzzRequest, before: Snapshot): Promise<void> {
	tally.runs++;
	let outgoing: Request;
	try {
		outgoing = new Request(`${API}${request.path}`, {
			method: request.method,
			headers: request.headers,
			...(request.body === undefined ? {} : { body: request.body }),
		});
	} catch (error) {
		// Not a request a client can send (a header value the Headers class refuses): nothing to answer.
		tally.unsendable++;
		if (tally.unsendable <= 3) console.log(`not sendable: ${request.label}: ${error}`);
		return;
	}
	let problem: string | undefined;
	try {
		const response = await send(outgoing.url, outgoing);
		tally.statuses.set(response.status, (tally.statuses.get(response.status) ?? 0) + 1);
		problem = await judge(request, response, before);
	} catch (error) {
		problem = `threw: ${error instanceof Error ? error.stack : String(error)}`;
	}
	if (problem) tally.violations.push(`${request.label}\n    body: ${preview(request.body)}\n    → ${problem}`);
}

function preview(body: FuzzRequest["body"]): string {
	if (body === undefined) return "(none)";
	if (typeof body !== "string")
		return `bytes ${[...body.slice(0, 40)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`;
	return JSON.stringify(body.length > 400 ? `${body.slice(0, 400)}…(${body.length})` : body);
}

function summary(tally: Tally): string {
	const statuses = [...tally.statuses.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`);
	return `seed ${FUZZ_SEED}; answers ${statuses.join(" ")}${tally.unsendable ? `; ${tally.unsendable} not sendable` : ""}`;
}

// ---------------------------------------------------------------- the cases

describe("issue 15: admin input fuzzing", () => {
	let current: Snapshot;

	beforeAll(async () => {
		console.log(`admin fuzz: fast-check seed ${FUZZ_SEED}`);
		await startClean();
		await putBaseline();
		current = await snapshot();
	});

	/** The stored state before the next input: the baseline again if the last input changed it. */
	async function ready(): Promise<Snapshot> {
		const now = await snapshot();
		if (now.text === current.text && now.etag === current.etag) return now;
		await putBaseline();
		current = await snapshot();
		return current;
	}

	it("the configuration schema, whole (PUT /config) and piecewise (CRUD, drain/enable, rotate)", async ({ task }) => {
		const tally = newTally();
		const started = Date.now();
		await fc.assert(
			fc.asyncProperty(schemaCase, async (input) => {
				const before = await ready();
				await runOne(tally, toSchemaRequest(input, before.etag ?? '"0"'), before);
				return true;
			}),
			{ seed: FUZZ_SEED, numRuns: SCHEMA_RUNS },
		);
		console.log(`schema fuzz: ${tally.runs} inputs, ${tally.violations.length} broke the rule; ${summary(tally)}`);
		recordFigures(task, {
			case: "admin fuzz: configuration schema (PUT /config, CRUD routes)",
			requests: tally.runs,
			failed: tally.violations.length,
			passing:
				"2xx, or a 4xx envelope naming the problem; never 5xx; a refused write leaves ETag, document and audit log alone",
			notes: `${summary(tally)}; ${Math.round((Date.now() - started) / 1000)} s`,
		});
		expect(tally.violations.slice(0, 10), `${tally.violations.length} of ${tally.runs} inputs broke the rule`).toEqual(
			[],
		);
	}, 180_000);

	it("the HTTP layer: bodies, content types, methods, encodings, path segments", async ({ task }) => {
		const tally = newTally();
		const started = Date.now();
		await fc.assert(
			fc.asyncProperty(httpCase, async (input) => {
				const before = await ready();
				await runOne(tally, toHttpRequest(input), before);
				return true;
			}),
			{ seed: FUZZ_SEED, numRuns: HTTP_RUNS },
		);
		console.log(`HTTP fuzz: ${tally.runs} inputs, ${tally.violations.length} broke the rule; ${summary(tally)}`);
		recordFigures(task, {
			case: "admin fuzz: HTTP layer (bodies, content types, methods, encodings, paths)",
			requests: tally.runs,
			failed: tally.violations.length,
			passing:
				"2xx, or a 4xx envelope naming the problem; never 5xx; a refused write leaves ETag, document and audit log alone",
			notes: `${summary(tally)}; ${Math.round((Date.now() - started) / 1000)} s`,
		});
		expect(tally.violations.slice(0, 10), `${tally.violations.length} of ${tally.runs} inputs broke the rule`).toEqual(
			[],
		);
	}, 180_000);
});
