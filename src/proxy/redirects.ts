/**
 * URLs an origin gives out that name itself, turned into the balancer's. A Worker cannot choose the
 * Host it sends, so an origin sees its own address as Host, and an application that builds absolute
 * URLs from it (`Location: http://10.0.0.7:8080/next`) would send the browser straight to the origin,
 * around the balancer. As nginx's `proxy_redirect default` does, the scheme and authority of the
 * origin's URL (the one the request went to, path prefix included) in `Location`, `Content-Location`
 * and `Refresh` are replaced by the client's (the request URL's origin), the rest kept as sent; and,
 * as `proxy_cookie_domain` does, a `Set-Cookie` `Domain` naming the origin's host is taken out.
 * A network-path reference to the origin (`//10.0.0.7:8080/next`) counts as its URL. Other absolute
 * URLs (third parties, the origin outside its path prefix) and relative ones are left as they are.
 * Pure apart from the Headers copy it is handed.
 * https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_redirect
 * https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cookie_domain
 *
 * Why the Domain attribute is dropped rather than replaced by the client's host: without it the
 * browser keeps the cookie for exactly the host it asked for (host-only, RFC 6265 §5.3 step 6),
 * the one host known to serve this origin. `Domain=<client host>` would also send it to every
 * subdomain of the balancer's hostname, which may be other load balancers or other applications.
 */
import { toOriginUrl } from "../config/origin-address";
import type { OriginBase } from "../contract/route";

/** What the rewrites compare against and replace with, worked out once per response that needs it. */
export interface OriginRewrite {
	/** The origin's scheme and authority as the request went to it, normalised ("http://127.0.0.1:9001"). */
	readonly origin: string;
	/** Its scheme, for a network-path reference ("//host/x") the origin gave out. */
	readonly originProtocol: string;
	/** "" or the origin address's path prefix ("/api"). */
	readonly pathPrefix: string;
	/** The origin's hostname, lowercase, for cookie domains. */
	readonly hostname: string;
	/** The client's scheme and authority: the request URL's origin ("https://app.example.com"). */
	readonly client: string;
}

export function toOriginRewrite(base: OriginBase, clientUrl: URL): OriginRewrite {
	const origin = new URL(toOriginUrl(base, clientUrl.protocol, "/"));
	return {
		origin: origin.origin,
		originProtocol: origin.protocol,
		pathPrefix: base.pathPrefix,
		hostname: toDomain(base.hostname),
		client: clientUrl.origin,
	};
}

/** Scheme (optional: a network-path reference has none), authority, and the rest as sent. */
const ABSOLUTE = /^([a-z][a-z0-9+.-]*:)?\/\/([^/?#\\]*)(.*)$/is;

/**
 * A `Location` or `Content-Location` value for the client: the origin's URL swapped for the
 * client's; undefined when it names anything else (leave it as it is).
 */
export function toClientUrl(value: string, rewrite: OriginRewrite): string | undefined {
	const match = ABSOLUTE.exec(value);
	if (!match) return undefined;
	const [, scheme = rewrite.originProtocol, authority = "", rest = ""] = match;
	if (authority.includes("@")) return undefined;
	let origin: string;
	try {
		// The URL parser makes the comparison: default ports, case, IPv6 spellings.
		origin = new URL(`${scheme}//${authority}`).origin;
	} catch {
		return undefined;
	}
	if (origin !== rewrite.origin) return undefined;
	const path = withoutPrefix(rest, rewrite.pathPrefix);
	return path === undefined ? undefined : `${rewrite.client}${path}`;
}

/** `rest` without the origin's path prefix; undefined when it lies outside it (no URL of the balancer reaches it). */
function withoutPrefix(rest: string, prefix: string): string | undefined {
	if (prefix === "") return rest;
	if (!rest.startsWith(prefix)) return undefined;
	const after = rest.slice(prefix.length);
	if (after === "" || after.startsWith("?") || after.startsWith("#")) return `/${after}`;
	return after.startsWith("/") ? after : undefined;
}

/** Delay, separator, an optional `url=`, then the URL (HTML's declarative refresh syntax). */
const REFRESH = /^(\s*[\d.]+\s*[;,]?\s*(?:url\s*=\s*)?)(.*)$/is;

/** A `Refresh` value with its URL part rewritten as toClientUrl does; undefined when nothing changes. */
export function toClientRefresh(value: string, rewrite: OriginRewrite): string | undefined {
	const match = REFRESH.exec(value);
	if (!match) return undefined;
	const [, head = "", rest = ""] = match;
	const quote = rest.startsWith('"') || rest.startsWith("'") ? rest.charAt(0) : "";
	const end = quote ? rest.indexOf(quote, 1) : -1;
	const url = quote ? rest.slice(1, end === -1 ? undefined : end) : rest;
	const tail = end === -1 ? "" : rest.slice(end);
	const rewritten = toClientUrl(url, rewrite);
	return rewritten === undefined ? undefined : `${head}${quote}${rewritten}${tail}`;
}

/** A `Set-Cookie` value without the `Domain` attributes naming `hostname`; undefined when it has none. */
export function toClientSetCookie(value: string, hostname: string): string | undefined {
	const parts = value.split(";");
	const kept = parts.filter((part, i) => {
		if (i === 0) return true;
		const domain = /^\s*domain\s*=(.*)$/is.exec(part);
		return domain === null || toDomain(domain[1] ?? "") !== hostname;
	});
	return kept.length === parts.length ? undefined : kept.join(";");
}

/** A host or Domain attribute as compared: trimmed, lowercase, without a leading or trailing dot. */
function toDomain(text: string): string {
	return text.trim().replace(/^\./, "").replace(/\.$/, "").toLowerCase();
}

export interface OriginRewriteInit {
	readonly base: OriginBase;
	readonly clientUrl: URL;
	/** `proxy.rewrite_redirects` and `proxy.rewrite_cookie_domain`; absent counts as on (their default). */
	readonly proxy: { readonly rewrite_redirects?: boolean; readonly rewrite_cookie_domain?: boolean };
}

const URL_HEADERS = ["location", "content-location"] as const;
/** Every header a rewrite may touch. */
const REWRITTEN = new Set<string>([...URL_HEADERS, "refresh", "set-cookie"]);

/**
 * Rewrites, in `headers` (the client response's own copy), what names the origin (see the top of
 * the file). `present`: the names the response has (withoutHopByHop collects them), when known:
 * each header asked of the runtime costs a call, and most responses have none of these.
 */
export function rewriteOriginHeaders(headers: Headers, init: OriginRewriteInit, present?: readonly string[]): void {
	if (present && !present.some((name) => REWRITTEN.has(name))) return;
	let rewrite: OriginRewrite | undefined;
	const context = () => {
		rewrite ??= toOriginRewrite(init.base, init.clientUrl);
		return rewrite;
	};
	if (init.proxy.rewrite_redirects !== false) {
		for (const name of URL_HEADERS) {
			const value = headers.get(name);
			const rewritten = value === null ? undefined : toClientUrl(value, context());
			if (rewritten !== undefined) headers.set(name, rewritten);
		}
		const refresh = headers.get("refresh");
		const rewritten = refresh === null ? undefined : toClientRefresh(refresh, context());
		if (rewritten !== undefined) headers.set("refresh", rewritten);
	}
	if (init.proxy.rewrite_cookie_domain !== false && headers.has("set-cookie")) {
		const cookies = headers.getSetCookie();
		const rewritten = cookies.map((cookie) => toClientSetCookie(cookie, context().hostname));
		if (rewritten.every((cookie) => cookie === undefined)) return;
		headers.delete("set-cookie");
		for (const [i, cookie] of cookies.entries()) headers.append("set-cookie", rewritten[i] ?? cookie);
	}
}
