/**
 * One attempt: send the request to one origin URL and wait for its response headers, with a
 * deadline. Bodies stream in both directions; the deadline is cleared once headers arrive, so it
 * can never cut a long download. Failures come back as values, classified once.
 */
import { classifyError, classifyStatus, type FailureKind } from "./failure";

export type ForwardResult =
	| { readonly ok: true; readonly response: Response }
	| { readonly ok: false; readonly failure: FailureKind; readonly detail: string; readonly status?: number };

export interface ForwardInit {
	readonly method: string;
	readonly headers: Headers;
	readonly body: BodyInit | null;
	readonly timeoutMs: number;
}

export async function forward(url: string, init: ForwardInit, fetcher: typeof fetch = fetch): Promise<ForwardResult> {
	const controller = new AbortController();
	let timedOut = false;
	const timer = setTimeout(() => {
		timedOut = true;
		controller.abort();
	}, init.timeoutMs);
	try {
		const response = await fetcher(url, {
			method: init.method,
			headers: init.headers,
			body: init.body,
			redirect: "manual",
			signal: controller.signal,
		});
		const failure = classifyStatus(response.status);
		if (failure !== undefined) {
			await response.body?.cancel();
			return {
				ok: false,
				failure,
				status: response.status,
				detail: `the edge answered ${response.status} for the origin`,
			};
		}
		return { ok: true, response };
	} catch (error) {
		const failure = classifyError(timedOut);
		const detail =
			failure === "timeout"
				? `no response headers within ${init.timeoutMs} ms`
				: `connection failed: ${error instanceof Error ? error.message : String(error)}`;
		return { ok: false, failure, detail };
	} finally {
		clearTimeout(timer);
	}
}
