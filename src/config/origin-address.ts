/**
 * An origin's `address` as Cloudflare writes it (a hostname or an IP, with an optional `port`), or
 * Switchyard's extension, an absolute http(s) URL with an optional path prefix. Both resolve to
 * one base: scheme (fixed, or the client's), host with port, and a path prefix without a trailing
 * slash.
 */
import type { OriginBase } from "../contract/route";

export type { OriginBase };

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function isIpAddress(hostname: string): boolean {
	const bare = hostname.replace(/^\[|\]$/g, "");
	return IPV4.test(bare) || isIpv6(bare);
}

function isIpv6(address: string): boolean {
	if (!address.includes(":") || !/^[0-9a-f:.]+$/i.test(address)) return false;
	try {
		return new URL(`http://[${address}]/`).hostname !== "";
	} catch {
		return false;
	}
}

export function isLoopback(hostname: string): boolean {
	const bare = hostname.replace(/^\[|\]$/g, "").toLowerCase();
	return bare === "localhost" || bare === "::1" || bare.startsWith("127.");
}

/** Parses an origin address; returns an error message naming what is wrong instead of throwing. */
export function toOriginBase(address: string, port?: number): OriginBase | string {
	if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) {
		let url: URL;
		try {
			url = new URL(address);
		} catch {
			return `"${address}" is not a valid URL`;
		}
		if (url.protocol !== "http:" && url.protocol !== "https:")
			return `"${address}": only http and https URLs are supported`;
		if (url.search || url.hash) return `"${address}": an origin URL cannot carry a query or fragment`;
		if (url.username || url.password) return `"${address}": credentials in an origin URL are not supported`;
		if (port) return `"${address}": give the port inside the URL or in "port", not both`;
		return {
			protocol: url.protocol,
			host: url.host,
			hostname: url.hostname.replace(/^\[|\]$/g, ""),
			pathPrefix: url.pathname.replace(/\/+$/, ""),
		};
	}
	const hostname = address.replace(/^\[(.*)\]$/, "$1");
	const ipv6 = isIpv6(hostname);
	if (!ipv6 && hostname.includes(":")) {
		return `"${address}": give the port in "port" (or use a URL such as http://${address})`;
	}
	if (!ipv6 && !HOSTNAME.test(hostname)) {
		return `"${address}" is neither a hostname, an IP address nor an http(s) URL`;
	}
	const hostPart = ipv6 ? `[${hostname}]` : hostname;
	try {
		new URL(`http://${hostPart}/`);
	} catch {
		return `"${address}" is not a valid hostname or IP address`;
	}
	return {
		protocol: undefined,
		host: port ? `${hostPart}:${port}` : hostPart,
		hostname,
		pathPrefix: "",
	};
}

/** The URL of one request on this origin: the prefix joined to the path, the query kept byte for byte. */
export function toOriginUrl(base: OriginBase, clientProtocol: string, pathAndQuery: string): string {
	const protocol = base.protocol ?? (clientProtocol === "https:" ? "https:" : "http:");
	const path = pathAndQuery.startsWith("/") ? pathAndQuery : `/${pathAndQuery}`;
	return `${protocol}//${base.host}${base.pathPrefix}${path}`;
}
