/**
 * The fields a load balancing rule's condition may read: those Cloudflare lists for load balancing
 * rules on proxied traffic and on both (its "Supported fields and operators" page), plus our
 * documented extensions `http.request.headers.names` and `http.request.headers.values` (fields of
 * Cloudflare's Rules language that its load balancing page does not list). DNS-only fields
 * (`dns.*`) never reach a Worker. Each field reads the request through a RuleScope, which
 * derives what several fields share (the header map, the query's arguments) once per request and
 * only when a condition asks. Pure.
 *
 * Reference: https://developers.cloudflare.com/load-balancing/additional-options/load-balancing-rules/reference/
 */
import { type IpAddress, toIpAddress } from "./ip";

/** What the Worker knows about a request when it evaluates the rules. */
export interface RuleRequest {
	/** The load balancer's name (the hostname it answers). */
	readonly loadBalancer: string;
	/** The Cloudflare region of the data center (WNAM, WEU, …), when known. */
	readonly region?: string;
	/** CF-Connecting-IP. */
	readonly clientIp?: string;
	readonly method: string;
	readonly url: URL;
	readonly headers: Pick<Headers, "get" | "forEach">;
	/** "HTTP/1.1", "HTTP/2", "HTTP/3" (request.cf.httpProtocol). */
	readonly httpVersion: string;
	/** When the request arrived, in ms since the epoch. */
	readonly nowMs: number;
}

export type ScalarType = "string" | "int" | "ip" | "bool";
export type FieldType = ScalarType | "array" | "map";

/** Values during evaluation: undefined is "missing" (an absent header, an index past the end). */
export type RuleValue = string | number | boolean | IpAddress | readonly string[] | StringListMap | undefined;
export type StringListMap = ReadonlyMap<string, readonly string[]>;

/** One request's facts, each derived at most once and only when a condition reads it. */
export class RuleScope {
	readonly request: RuleRequest;
	private headerMap: Map<string, string[]> | undefined;
	private argMap: Map<string, string[]> | undefined;
	private argNames: string[] | undefined;
	private argValues: string[] | undefined;
	private ip: IpAddress | null | undefined;

	constructor(request: RuleRequest) {
		this.request = request;
	}

	/** Header names lowercased, each with its values (the runtime joins a repeated header's values with ", "). */
	headers(): StringListMap {
		if (!this.headerMap) {
			const map = new Map<string, string[]>();
			this.request.headers.forEach((value, name) => {
				const list = map.get(name);
				if (list) list.push(value);
				else map.set(name, [value]);
			});
			this.headerMap = map;
		}
		return this.headerMap;
	}

	/** The query's arguments as sent: no decoding (Cloudflare's rule), in order, repeated names repeated. */
	args(): StringListMap {
		if (!this.argMap) {
			const map = new Map<string, string[]>();
			const names: string[] = [];
			const values: string[] = [];
			const query = this.request.url.search.slice(1);
			if (query !== "") {
				for (const pair of query.split("&")) {
					if (pair === "") continue;
					const equals = pair.indexOf("=");
					const name = equals === -1 ? pair : pair.slice(0, equals);
					const value = equals === -1 ? "" : pair.slice(equals + 1);
					names.push(name);
					values.push(value);
					const list = map.get(name);
					if (list) list.push(value);
					else map.set(name, [value]);
				}
			}
			this.argMap = map;
			this.argNames = names;
			this.argValues = values;
		}
		return this.argMap;
	}

	argList(which: "names" | "values"): readonly string[] {
		this.args();
		return (which === "names" ? this.argNames : this.argValues) as string[];
	}

	clientIp(): IpAddress | undefined {
		if (this.ip === undefined) {
			const text = this.request.clientIp;
			this.ip = (text === undefined ? undefined : toIpAddress(text)) ?? null;
		}
		return this.ip ?? undefined;
	}
}

export interface FieldDefinition {
	readonly type: FieldType;
	readonly read: (scope: RuleScope) => RuleValue;
	/** Where it comes from: "both" and "proxied" are Cloudflare's sets; "extension" is ours. */
	readonly set: "both" | "proxied" | "extension";
}

const header = (name: string) => (scope: RuleScope) => scope.request.headers.get(name) ?? undefined;

export const FIELDS: ReadonlyMap<string, FieldDefinition> = new Map<string, FieldDefinition>([
	["cf.load_balancer.name", { type: "string", set: "both", read: (s) => s.request.loadBalancer }],
	["cf.load_balancer.region", { type: "string", set: "both", read: (s) => s.request.region }],
	["ip.src", { type: "ip", set: "both", read: (s) => s.clientIp() }],
	["http.cookie", { type: "string", set: "proxied", read: header("cookie") }],
	["http.host", { type: "string", set: "proxied", read: (s) => s.request.url.hostname }],
	["http.referer", { type: "string", set: "proxied", read: header("referer") }],
	["http.request.headers", { type: "map", set: "proxied", read: (s) => s.headers() }],
	["http.request.headers.names", { type: "array", set: "extension", read: (s) => [...s.headers().keys()] }],
	["http.request.headers.values", { type: "array", set: "extension", read: (s) => [...s.headers().values()].flat() }],
	["http.request.method", { type: "string", set: "proxied", read: (s) => s.request.method }],
	["http.request.timestamp.sec", { type: "int", set: "proxied", read: (s) => Math.floor(s.request.nowMs / 1000) }],
	["http.request.uri", { type: "string", set: "proxied", read: (s) => s.request.url.pathname + s.request.url.search }],
	["http.request.uri.args", { type: "map", set: "proxied", read: (s) => s.args() }],
	["http.request.uri.args.names", { type: "array", set: "proxied", read: (s) => s.argList("names") }],
	["http.request.uri.args.values", { type: "array", set: "proxied", read: (s) => s.argList("values") }],
	["http.request.uri.path", { type: "string", set: "proxied", read: (s) => s.request.url.pathname }],
	["http.request.uri.query", { type: "string", set: "proxied", read: (s) => s.request.url.search.slice(1) }],
	["http.request.version", { type: "string", set: "proxied", read: (s) => s.request.httpVersion }],
]);
