/** The admin API of a running Switchyard (wrangler dev), as the e2e tests call it (Node side). */

/** One call with the bearer token; `body` is sent as JSON. */
export function adminCall(baseUrl: string, token: string, method: string, path: string, body?: unknown) {
	return fetch(`${baseUrl}/_lb/api${path}`, {
		method,
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
}

/** GET `path` and return the envelope's `result`. */
export async function adminResult<T>(baseUrl: string, token: string, path: string): Promise<T> {
	const response = await adminCall(baseUrl, token, "GET", path);
	return ((await response.json()) as { result: T }).result;
}
