/**
 * Cloudflare's `expected_codes`: one code ("200"), a class ("2xx"), or a comma-separated list of
 * either ("200,204", "2xx,301").
 */
export function toStatusMatcher(expectedCodes: string): (status: number) => boolean {
	const exact = new Set<number>();
	const classes = new Set<number>();
	for (const part of expectedCodes.split(",")) {
		const code = part.trim().toLowerCase();
		if (/^[1-5]xx$/.test(code)) classes.add(Number(code[0]));
		else if (/^[1-5]\d\d$/.test(code)) exact.add(Number(code));
	}
	return (status) => exact.has(status) || classes.has(Math.floor(status / 100));
}
