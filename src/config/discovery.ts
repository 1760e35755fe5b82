/**
 * A pool's `discovery` block (Switchyard's own, issue 22): origins that register themselves with a
 * lease (`self_registration`), and origins filled from a DNS SRV name through DNS over HTTPS
 * (`dns_srv`, `resolver`, `refresh_s`). Also the check of one registration's body, which names the
 * field it refuses as configuration errors do. Pure.
 */
import { z } from "zod";
import { toOriginBase } from "./origin-address";

export const DEFAULT_RESOLVER = "https://cloudflare-dns.com/dns-query";
export const DEFAULT_TTL_S = 30;
export const MIN_TTL_S = 3;
export const MAX_TTL_S = 3600;

const srvName = z
	.string()
	.trim()
	.toLowerCase()
	.regex(
		/^(_[a-z0-9-]+\.){2}([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?\.?$/,
		"an SRV name such as _http._tcp.web.example.com",
	);

export const discoverySchema = z.strictObject({
	/** Origins may register themselves (PUT /_lb/api/pools/:pool/registrations/:name) and must renew their lease. */
	self_registration: z.boolean().default(false),
	/** A registration's lease when it names none (seconds). */
	ttl_s: z.number().int().min(MIN_TTL_S).max(MAX_TTL_S).default(DEFAULT_TTL_S),
	/** The SRV name whose records become the pool's origins. */
	dns_srv: srvName.optional(),
	/** The DNS-over-HTTPS endpoint asked (RFC 8484): JSON (application/dns-json) or wire format. */
	resolver: z
		.string()
		.max(2048)
		.refine((value) => /^https?:$/.test(URL.parse(value)?.protocol ?? ""), "must be an http:// or https:// URL")
		.default(DEFAULT_RESOLVER),
	/** How the resolver is asked: `json` (?name=…&type=SRV) or `wire` (?dns=…, RFC 8484). */
	resolver_format: z.enum(["json", "wire"]).default("json"),
	/** Seconds between lookups. */
	refresh_s: z.number().int().min(5).max(86_400).default(30),
});

export type Discovery = z.output<typeof discoverySchema>;

/** What a registration asks for, checked. */
export interface RegistrationInput {
	readonly address: string;
	readonly port?: number;
	readonly weight: number;
	readonly ttlS: number;
}

const registrationSchema = z.strictObject({
	address: z.string().trim().min(1).max(2048),
	port: z.number().int().min(1).max(65535).optional(),
	weight: z
		.number()
		.min(0)
		.max(10_000)
		.refine((weight) => weight <= 1 || Number.isInteger(weight), "a weight from 0 to 1, or a whole number")
		.default(1),
	ttl_s: z.number().int().min(MIN_TTL_S).max(MAX_TTL_S).optional(),
});

/** Registration names: as origin names, and without what a URL path segment could not carry back. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** A registration's body checked against the pool's discovery settings; an error names its field. */
export function toRegistrationInput(
	name: string,
	body: unknown,
	discovery: Discovery,
): { ok: true; input: RegistrationInput } | { ok: false; field: string; message: string } {
	if (!NAME.test(name)) {
		return {
			ok: false,
			field: "name",
			message: "a name of 1 to 128 letters, digits and . _ : @ - (starting with a letter or digit)",
		};
	}
	const parsed = registrationSchema.safeParse(body);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		const field = issue?.path.length ? issue.path.join(".") : "(body)";
		const message =
			issue?.code === "unrecognized_keys"
				? `unknown field(s) ${issue.keys.join(", ")}: a registration has address, port, weight and ttl_s`
				: (issue?.message ?? "invalid");
		return { ok: false, field: issue?.code === "unrecognized_keys" ? "(body)" : field, message };
	}
	const { address, port, weight, ttl_s } = parsed.data;
	const base = toOriginBase(address, port);
	if (typeof base === "string") return { ok: false, field: "address", message: base };
	return {
		ok: true,
		input: { address, ...(port !== undefined ? { port } : {}), weight, ttlS: ttl_s ?? discovery.ttl_s },
	};
}
