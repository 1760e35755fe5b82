/**
 * One attempt: send the request to one origin URL and wait for its response headers, with a
 * deadline. Bodies stream in both directions; the deadline is cleared once headers arrive, so it
 * can never cut a long download. A small body of declared length is read whole under the same
 * deadline (as nginx's proxy_buffering does): the origin is done with it once it is read, and
 * nothing has reached the client yet if it fails. Failures come back as values, classified once.
 */

import { classifyError, classifyStatus, type FailureKind } from "../contract/failure";
import { DeadlineTimer } from "../deadline";
import { type ClientBodyError, declaredBodyLength, toPassThrough, watchClientBody } from "./bodies";

export type ForwardResult =
	| {
			readonly ok: true;
			readonly response: Response;
			/** The whole body, when it was short enough to read before answering (see ForwardInit.bufferUpTo). */
			readonly bytes?: ArrayBuffer;
	  }
	| { readonly ok: false; readonly failure: FailureKind; readonly detail: string; readonly status?: number }
	/** The client's body broke or stalled: nobody's failure but the client's (no retry, no passive health). */
	| { readonly ok: false; readonly failure: "client"; readonly client: ClientBodyError; readonly detail: string };

export interface ForwardInit {
	readonly method: string;
	readonly headers: Headers;
	readonly body: BodyInit | null;
	/** The body's length when the client declared it; kept for the origin (no chunked re-encoding). */
	readonly bodyLength?: number;
	readonly timeoutMs: number;
	/** The request's deadline timer (one for all its waits); a fresh one when absent. */
	readonly timer?: DeadlineTimer;
	/** An upload that pauses longer than this is cut (0: never). */
	readonly idleMs?: number;
	/** A response body declared (Content-Length, not re-encoded) at most this long is read whole (0: never). */
	readonly bufferUpTo?: number;
	/** Called when the response headers arrive (time to first byte, before a small body is read). */
	readonly onHeaders?: () => void;
}

/**
 * The deadline counts from the moment the whole request body has been sent, so a long upload is
 * never mistaken for a slow origin.
 */
export async function forward(url: string, init: ForwardInit, fetcher: typeof fetch = fetch): Promise<ForwardResult> {
	const controller = new AbortController();
	const timer = init.timer ?? new DeadlineTimer();
	let timedOut = false;
	let settled = false;
	const armDeadline = () => {
		// An origin may answer before it has read the whole body; then there is nothing left to time.
		if (settled) return;
		timer.start(init.timeoutMs, () => {
			timedOut = true;
			controller.abort();
		});
	};
	let body = init.body;
	let clientFailure: () => ClientBodyError | undefined = () => undefined;
	if (body instanceof ReadableStream) {
		// A body that fails aborts the fetch first, so the origin's request is cut, not ended as complete.
		const watched = watchClientBody(body, init.idleMs ?? 0, undefined, (error) => controller.abort(error));
		clientFailure = watched.failure;
		body = withEndSignal(watched.stream, init.bodyLength, armDeadline);
	} else armDeadline();
	let headersArrived = false;
	try {
		const response = await fetcher(url, {
			method: init.method,
			headers: init.headers,
			body,
			redirect: "manual",
			signal: controller.signal,
		});
		headersArrived = true;
		// The client's body broke while it went out (the origin may have taken what came as the whole of it).
		const client = clientFailure();
		if (client) {
			await response.body?.cancel();
			return { ok: false, failure: "client", client, detail: client.message };
		}
		init.onHeaders?.();
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
		const length = init.bufferUpTo ? declaredBodyLength(response.headers) : undefined;
		if (response.body !== null && length !== undefined && length <= (init.bufferUpTo as number)) {
			return { ok: true, response, bytes: await response.arrayBuffer() };
		}
		return { ok: true, response };
	} catch (error) {
		const client = clientFailure();
		if (client) return { ok: false, failure: "client", client, detail: client.message };
		const failure = classifyError(timedOut);
		const reason = error instanceof Error ? error.message : String(error);
		const detail = headersArrived
			? `the response body failed${failure === "timeout" ? ` to arrive within ${init.timeoutMs} ms` : `: ${reason}`}`
			: failure === "timeout"
				? `no response headers within ${init.timeoutMs} ms`
				: `connection failed: ${reason}`;
		return { ok: false, failure, detail };
	} finally {
		settled = true;
		timer.stop();
	}
}

/** `body`, calling `onEnd` once its last chunk has been read; its declared length kept where the platform can. */
function withEndSignal(body: ReadableStream, length: number | undefined, onEnd: () => void): ReadableStream {
	const watched = body.pipeThrough(new TransformStream({ flush: onEnd }));
	return length !== undefined ? watched.pipeThrough(toPassThrough(length)) : watched;
}
