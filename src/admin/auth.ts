/**
 * Who may use the admin API: only requests on an admin hostname (ADMIN_HOSTNAMES) that carry
 * `Authorization: Bearer <token>`. ADMIN_TOKEN may read and write; ADMIN_READ_TOKEN may only
 * read. Without ADMIN_TOKEN the API refuses everything (fails closed). Tokens are compared in
 * constant time, and named in the audit log by a short hash, never by their value.
 */
import { sha256, shortDigest } from "../digest";
import { AdminError } from "./envelope";

export type Role = "admin" | "read";

export interface Caller {
	readonly role: Role;
	/** For the audit log: "admin:1a2b3c4d" (the first 8 hex digits of the token's SHA-256). */
	readonly actor: string;
}

export interface AuthEnv {
	readonly ADMIN_TOKEN?: string;
	readonly ADMIN_READ_TOKEN?: string;
}

/** The hostnames listed in ADMIN_HOSTNAMES, lower-cased; empty when unset. */
export function toAdminHostnames(value: string | undefined): Set<string> {
	return new Set(
		(value ?? "")
			.split(",")
			.map((host) => host.trim().toLowerCase())
			.filter(Boolean),
	);
}

export function isAdminHost(hostname: string, adminHostnames: ReadonlySet<string>): boolean {
	return adminHostnames.has(hostname.toLowerCase().replace(/\.$/, ""));
}

export function toBearerToken(authorization: string | null): string | undefined {
	const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
	return match?.[1];
}

/** Constant-time comparison of two secrets (hashed first, so their lengths do not leak either). */
export async function isSameSecret(given: string, expected: string): Promise<boolean> {
	const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
	return crypto.subtle.timingSafeEqual(a, b);
}

async function toActor(role: Role, token: string): Promise<string> {
	return `${role}:${await shortDigest(token)}`;
}

/** The caller's role, or an AdminError (503 no token configured, 401 missing or wrong token). */
export async function authenticate(authorization: string | null, env: AuthEnv): Promise<Caller> {
	if (!env.ADMIN_TOKEN) {
		throw new AdminError(
			"admin_disabled",
			"the admin API is disabled: set the ADMIN_TOKEN secret (`wrangler secret put ADMIN_TOKEN`, or .dev.vars locally)",
		);
	}
	const unauthorized = () =>
		new AdminError("unauthorized", "send Authorization: Bearer <token>", {
			headers: { "www-authenticate": 'Bearer realm="switchyard-admin"' },
		});
	const token = toBearerToken(authorization);
	if (token === undefined) throw unauthorized();
	// Both comparisons always run, so timing does not say which token was close.
	const [admin, read] = await Promise.all([
		isSameSecret(token, env.ADMIN_TOKEN),
		env.ADMIN_READ_TOKEN ? isSameSecret(token, env.ADMIN_READ_TOKEN) : Promise.resolve(false),
	]);
	if (admin) return { role: "admin", actor: await toActor("admin", token) };
	if (read) return { role: "read", actor: await toActor("read", token) };
	throw unauthorized();
}
