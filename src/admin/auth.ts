/**
 * Who may use the admin API: only requests on an admin hostname (ADMIN_HOSTNAMES) that carry
 * `Authorization: Bearer <ADMIN_TOKEN>`. Without a configured token the API refuses everything
 * (fails closed). Tokens are compared in constant time.
 */

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
	const encoder = new TextEncoder();
	const [a, b] = await Promise.all([
		crypto.subtle.digest("SHA-256", encoder.encode(given)),
		crypto.subtle.digest("SHA-256", encoder.encode(expected)),
	]);
	return crypto.subtle.timingSafeEqual(a, b);
}
