/**
 * A sanity check before measuring: a few sequential requests to a target, which must all succeed,
 * and which origins answered them (x-origin-name), so a target that answers fast with errors, or
 * sends everything to one origin, is seen before it is timed.
 */
export interface Sample {
	readonly ok: number;
	readonly failed: number;
	/** Requests per origin name. */
	readonly byOrigin: Record<string, number>;
	/** The first failure's status and body, if any. */
	readonly firstFailure?: string;
}

export async function sample(url: string, requests = 30): Promise<Sample> {
	let ok = 0;
	let failed = 0;
	let firstFailure: string | undefined;
	const byOrigin: Record<string, number> = {};
	for (let i = 0; i < requests; i++) {
		const response = await fetch(`${url}/`);
		const body = await response.text();
		const origin = response.headers.get("x-origin-name") ?? "(none)";
		byOrigin[origin] = (byOrigin[origin] ?? 0) + 1;
		if (response.ok) ok++;
		else {
			failed++;
			firstFailure ??= `${response.status}: ${body.slice(0, 300)}`;
		}
	}
	return { ok, failed, byOrigin, firstFailure };
}
