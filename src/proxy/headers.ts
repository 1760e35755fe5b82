/**
 * Header rules of a reverse proxy, pure. Hop-by-hop headers describe one connection and must not
 * be forwarded (RFC 9110 §7.6.1): the fixed list below, plus every header the Connection header
 * names. https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */

const HOP_BY_HOP = new Set([
	"connection",
	"keep-alive",
	"proxy-connection",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
]);

/** The header names a Connection value lists (lowercase), or undefined when it lists none. */
function connectionNamed(connection: string | null): Set<string> | undefined {
	if (!connection) return undefined;
	const names = new Set<string>();
	for (const token of connection.split(",")) {
		const name = token.trim().toLowerCase();
		if (name) names.add(name);
	}
	return names;
}

/**
 * A copy of `headers` without the names `drop` says to drop. One pass over the names present,
 * deleting only those: each Headers call crosses into the runtime, and this runs twice per request.
 */
function copyWithout(headers: Headers, drop: (name: string) => boolean): Headers {
	const out = new Headers(headers);
	for (const name of headers.keys()) if (drop(name)) out.delete(name);
	return out;
}

/**
 * A copy of `headers` without hop-by-hop headers. `seen` collects the names present (lowercase), so
 * that later rules need not ask the runtime for headers that are not there (redirects.ts).
 */
export function withoutHopByHop(headers: Headers, seen?: string[]): Headers {
	const named = connectionNamed(headers.get("connection"));
	return copyWithout(headers, (name) => {
		seen?.push(name);
		return HOP_BY_HOP.has(name) || named?.has(name) === true;
	});
}

export interface ForwardedInfo {
	/** The client's address (CF-Connecting-IP), when known. */
	readonly clientIp: string | undefined;
	/** The client is a proxy we trust (proxy.trusted_proxies): keep its X-Forwarded-For chain and append. */
	readonly trustedChain?: boolean;
	/** The CDN-Loop value to send (the incoming entries plus ours). */
	readonly cdnLoop?: string;
	/** "http" or "https", as the client spoke to us. */
	readonly proto: string;
	/** The Host the client asked for. */
	readonly host: string;
}

/**
 * Client-address and scheme headers a client could forge, as frameworks read them (Rails/Rack,
 * Django, Express, PHP); dropped, the address ones rebuilt from what Cloudflare saw. Host: the
 * origin URL's.
 */
const NOT_FORWARDED = new Set([
	"host",
	"forwarded",
	"x-forwarded-for",
	"x-forwarded-port",
	"x-real-ip",
	"true-client-ip",
	"x-client-ip",
	"x-cluster-client-ip",
	"x-forwarded-scheme",
	"x-forwarded-ssl",
]);

/** What Switchyard sets on every forwarded request; a client's own are replaced. */
const SET_BY_US = new Set(["x-forwarded-proto", "x-forwarded-host", "cdn-loop"]);

/**
 * A client header that stands for one of the forwarding headers: the name itself, or the same name
 * spelled with underscores, which CGI-style servers (PHP, WSGI, Rack) read as the same variable
 * (`X_Forwarded_For` and `X-Forwarded-For` are both HTTP_X_FORWARDED_FOR; nginx drops such headers
 * by default for this reason). Issue 15: `X_Forwarded_For: <anything>` used to reach the origin.
 */
function isForwardingHeader(name: string): boolean {
	const dashed = name.includes("_") ? name.replaceAll("_", "-") : name;
	return NOT_FORWARDED.has(dashed) || dashed.startsWith("x-switchyard-") || (dashed !== name && SET_BY_US.has(dashed));
}

/**
 * Headers for the request to the origin: hop-by-hop removed, Host left to the origin URL, and
 * X-Forwarded-For/-Proto/-Host and X-Real-IP describing the client. Nothing a client sends about
 * its own address is trusted: those headers are rebuilt from the address Cloudflare saw.
 */
export function toUpstreamHeaders(incoming: Headers, info: ForwardedInfo): Headers {
	// Hop-by-hop (and whatever Connection names) go first, our own headers are set last, so a client
	// cannot delete them by naming them in Connection (the class of Traefik's CVE-2024-45410).
	const named = connectionNamed(incoming.get("connection"));
	const out = copyWithout(
		incoming,
		(name) => HOP_BY_HOP.has(name) || isForwardingHeader(name) || named?.has(name) === true,
	);
	const chain = info.trustedChain ? incoming.get("x-forwarded-for") : null;
	if (info.clientIp) {
		out.set("x-forwarded-for", chain ? `${chain}, ${info.clientIp}` : info.clientIp);
		out.set("x-real-ip", info.clientIp);
	}
	out.set("x-forwarded-proto", info.proto);
	out.set("x-forwarded-host", info.host);
	if (info.cdnLoop) out.set("cdn-loop", info.cdnLoop);
	return out;
}

/**
 * A name from the configuration as a header value: characters a header value cannot carry (controls,
 * anything beyond ASCII) and "%" itself are percent-encoded as UTF-8, so the value stays valid and
 * `decodeURIComponent` gives the name back. Names are accepted as Cloudflare accepts them; they are
 * encoded where they are emitted.
 */
export function toHeaderValue(text: string): string {
	return text.replace(/[^\x20-\x24\x26-\x7e]+/g, (run) => {
		let encoded = "";
		// UTF-8 bytes (a lone surrogate becomes U+FFFD rather than an error).
		for (const byte of UTF8.encode(run)) encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
		return encoded;
	});
}

const UTF8 = new TextEncoder();
