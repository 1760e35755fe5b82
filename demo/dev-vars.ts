/**
 * `.dev.vars` holds local secrets for `wrangler dev` (ADMIN_TOKEN). The demo creates it with a
 * random token when it is missing, and reads the token back to configure the balancer.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function parseDevVars(text: string): Record<string, string> {
	const vars: Record<string, string> = {};
	for (const line of text.split(/\r?\n/)) {
		const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
		if (!match || line.trimStart().startsWith("#")) continue;
		vars[match[1] as string] = (match[2] as string).replace(/^(["'])(.*)\1$/, "$2");
	}
	return vars;
}

/** The ADMIN_TOKEN in `path`, creating the file (or adding the line) with a random token if needed. */
export function ensureAdminToken(path: string): { token: string; created: boolean } {
	const text = existsSync(path) ? readFileSync(path, "utf8") : "";
	const existing = parseDevVars(text).ADMIN_TOKEN;
	if (existing) return { token: existing, created: false };
	const token = randomBytes(24).toString("base64url");
	const prefix = text === "" || text.endsWith("\n") ? text : `${text}\n`;
	writeFileSync(
		path,
		`${prefix}# Created by npm run dev: the admin API's bearer token for wrangler dev.\nADMIN_TOKEN=${token}\n`,
		{
			mode: 0o600,
		},
	);
	return { token, created: true };
}
