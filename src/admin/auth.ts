/**
 * Who may use the admin API: only requests on an admin hostname (ADMIN_HOSTNAMES) that carry
 * `Authorization: Bearer <token>`. ADMIN_TOKEN may read and write; ADMIN_READ_TOKEN may only
 * read. Without ADMIN_TOKEN the API refuses everything (fails closed). Tokens are compared in
 * constant time. The audit log names a caller by role and an operator-set name (ADMIN_TOKEN_NAME,
 * ADMIN_READ_TOKEN_NAME), never by anything derived from the token. REGISTRATION_TOKEN (issue 22) may
 * only register and deregister origins: every other route answers it 403.
 */
import { sha256 } from "../digest";
import { AdminError } from "./envelope";

export type Role = "admin" | "read" | "registration";

export interface Caller {
	readonly role: Role;
	/** For the audit log: "admin", or "admin:<ADMIN_TOKEN_NAME>" when the operator named the token. */
	readonly actor: string;
}

export interface AuthEnv {
	readonly ADMIN_TOKEN?: string;
	readonly ADMIN_READ_TOKEN?: string;
	readonly ADMIN_TOKEN_NAME?: string;
	readonly ADMIN_READ_TOKEN_NAME?: string;
	readonly REGISTRATION_TOKEN?: string;
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

/** The audit log's name for a role's token: the role, and the operator's name for it (at most 64 characters). */
export function toActor(role: Role, name: string | undefined): string {
	const trimmed = name?.trim().slice(0, 64);
	return trimmed ? `${role}:${trimmed}` : role;
}

/**
 * The caller's role, or an AdminError (503 no token configured, 401 missing or wrong token, 403 the
 * registration token where `registrationRoute` is not set).
 */
export async function authenticate(
	authorization: string | null,
	env: AuthEnv,
	registrationRoute = false,
): Promise<Caller> {
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
	const [admin, read, registration] = await Promise.all([
		isSameSecret(token, env.ADMIN_TOKEN),
		env.ADMIN_READ_TOKEN ? isSameSecret(token, env.ADMIN_READ_TOKEN) : Promise.resolve(false),
		env.REGISTRATION_TOKEN ? isSameSecret(token, env.REGISTRATION_TOKEN) : Promise.resolve(false),
	]);
	if (admin) return { role: "admin", actor: toActor("admin", env.ADMIN_TOKEN_NAME) };
	if (read) return { role: "read", actor: toActor("read", env.ADMIN_READ_TOKEN_NAME) };
	if (registration) {
		if (!registrationRoute) {
			throw new AdminError(
				"forbidden",
				"this token may only register and deregister origins (PUT and DELETE /_lb/api/pools/:pool/registrations/:name)",
			);
		}
		return { role: "registration", actor: "registration" };
	}
	throw unauthorized();
}
