/**
 * Turns a pool's monitor and one of its origins into the probe to run: URL (scheme from the
 * monitor's `type` unless the address fixes it, `port` override), method and headers.
 */
import type { Monitor } from "../config/schema";
import type { OriginBase } from "../contract/route";
import type { ProbeTarget } from "./probe";

export const PROBE_USER_AGENT = "Switchyard-Health-Check/1";

/** What a probe needs of an origin (routing/snapshot.ts `OriginEntry` is one). */
export interface ProbeOrigin {
	/** "<pool id>/<origin name>". */
	readonly key: string;
	readonly enabled: boolean;
	readonly base: OriginBase;
	/** What its health is about (routing/snapshot.ts toOriginIdentity); the probe carries it back. */
	readonly identity?: string;
}

/** The port a TCP check connects to: the monitor's, else the origin's own, else its scheme's default. */
function toTcpAddress(base: OriginBase, monitor: Monitor): { hostname: string; port: number } {
	const own = /:(\d+)$/.exec(base.host.startsWith("[") ? base.host.slice(base.host.indexOf("]")) : base.host);
	const port = monitor.port || (own ? Number(own[1]) : base.protocol === "https:" ? 443 : 80);
	return { hostname: base.hostname, port };
}

export function toProbeTarget(origin: ProbeOrigin, monitor: Monitor): ProbeTarget {
	if (monitor.type === "tcp") {
		const tcp = toTcpAddress(origin.base, monitor);
		const host = tcp.hostname.includes(":") ? `[${tcp.hostname}]` : tcp.hostname;
		return {
			key: origin.key,
			...(origin.identity !== undefined ? { identity: origin.identity } : {}),
			url: `tcp://${host}:${tcp.port}`,
			method: "GET",
			headers: {},
			timeoutMs: monitor.timeout * 1000,
			retries: monitor.retries,
			expectedCodes: monitor.expected_codes,
			expectedBody: "",
			followRedirects: false,
			tcp,
		};
	}
	const protocol = origin.base.protocol ?? (monitor.type === "https" ? "https:" : "http:");
	let host = origin.base.host;
	if (monitor.port !== 0) {
		const bracketed = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
		host = `${bracketed}:${monitor.port}`;
	}
	const headers: Record<string, string> = { "user-agent": PROBE_USER_AGENT };
	for (const [name, values] of Object.entries(monitor.header)) {
		// A Worker cannot choose the Host it sends; later versions honour it within the zone.
		if (name.toLowerCase() !== "host") headers[name.toLowerCase()] = values.join(", ");
	}
	return {
		key: origin.key,
		...(origin.identity !== undefined ? { identity: origin.identity } : {}),
		url: `${protocol}//${host}${origin.base.pathPrefix}${monitor.path}`,
		method: monitor.method === "HEAD" ? "HEAD" : "GET",
		headers,
		timeoutMs: monitor.timeout * 1000,
		retries: monitor.retries,
		expectedCodes: monitor.expected_codes,
		expectedBody: monitor.expected_body,
		followRedirects: monitor.follow_redirects,
	};
}
