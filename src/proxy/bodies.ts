/**
 * Bodies on their way through: request bodies kept for a retry when they are small enough, and
 * streams watched for their end (when a request stops being in flight) and for idleness (a body
 * that stalls longer than proxy.idle_timeout_ms is cut). Nothing here buffers a large body, and no
 * timer here can cut a body that keeps moving, however long it runs.
 */
import { DeadlineTimer, type TimerFunctions } from "../deadline";

export interface ReplayableBody {
	readonly replayable: boolean;
	/** The declared Content-Length, when there is one. */
	readonly length?: number;
	/** The body for the next attempt. */
	next(): BodyInit | null;
}

/** A request without a body: replayable as it is. */
export const NO_BODY: ReplayableBody = { replayable: true, next: () => null };

export function declaredLength(request: Request): number | undefined {
	const length = Number(request.headers.get("content-length") ?? Number.NaN);
	return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * A body that can be sent again: none, or a declared length up to `maxBytes` (then kept in memory,
 * read under the idle watch: a client that stalls gets ClientBodyError "stalled", one whose body
 * breaks "broken").
 */
export async function readReplayableBody(request: Request, maxBytes: number, idleMs = 0): Promise<ReplayableBody> {
	if (request.body === null) return NO_BODY;
	const length = declaredLength(request);
	if (length !== undefined && length <= maxBytes) {
		const bytes = await new Response(watchClientBody(request.body, idleMs).stream).arrayBuffer();
		return { replayable: true, length, next: () => bytes };
	}
	return streamOnce(request);
}

/** The client's request body failed: it broke (the client went away, or sent less than it declared) or stalled. */
export class ClientBodyError extends Error {
	constructor(
		readonly kind: "broken" | "stalled",
		detail: string,
	) {
		super(detail);
		this.name = "ClientBodyError";
	}
}

/**
 * The client's body as the Worker passes it on, read only when the reader (the origin's fetch, or
 * the Worker keeping it for a retry) asks. A read of the client's body that fails is the client's
 * failure ("broken"); so is a read that waits longer than `idleMs` for the client ("stalled"). When
 * nothing moves for `idleMs` and no read is waiting for the client, it is the reader that stopped
 * (an origin that does not read the upload): the stream errors with IdleTimeout, the origin's failure.
 * `failure()` says which side failed, once it has. `onFail` runs just before the stream errors: the
 * origin's fetch must be aborted then, since workerd ends a chunked request body whose stream errors
 * as if it were complete (cloudflare/workerd#5114), and the origin would take a truncated body for a
 * whole one (issue 15).
 */
export function watchClientBody(
	body: ReadableStream<Uint8Array>,
	idleMs: number,
	timers?: TimerFunctions,
	onFail?: (error: Error) => void,
): { stream: ReadableStream<Uint8Array>; failure: () => ClientBodyError | undefined } {
	const reader = body.getReader();
	const timer = new DeadlineTimer(timers);
	let failed: ClientBodyError | undefined;
	let waitingForClient = false;
	/** The reader (the origin's fetch) gave up on the body: a read failing after that is not the client's doing. */
	let cancelled = false;
	let fail = (_error: Error) => {};
	const expire = () => {
		if (waitingForClient) failed ??= new ClientBodyError("stalled", `the client sent nothing for ${idleMs} ms`);
		const error = failed ?? new IdleTimeout(idleMs);
		onFail?.(error);
		fail(error);
		reader.cancel(error).catch(() => {});
	};
	const stream = new ReadableStream<Uint8Array>(
		{
			start(controller) {
				fail = (error) => controller.error(error);
				if (idleMs > 0) timer.start(idleMs, expire);
			},
			async pull(controller) {
				waitingForClient = true;
				try {
					const { done, value } = await reader.read();
					waitingForClient = false;
					if (done) {
						timer.dispose();
						controller.close();
						return;
					}
					if (idleMs > 0) timer.start(idleMs, expire);
					controller.enqueue(value);
				} catch (error) {
					waitingForClient = false;
					timer.dispose();
					// The fetch cancelled the body (it could not reach the origin, say) and the pending read
					// failed with it: the origin's failure, which the fetch reports (issue 15: a PUT to a dead
					// origin was answered 400, blamed on the client).
					if (cancelled) return;
					if (!failed) {
						const reason = error instanceof Error ? error.message : String(error);
						failed = new ClientBodyError("broken", `the client's body could not be read: ${reason}`);
					}
					onFail?.(failed);
					controller.error(failed);
				}
			},
			cancel(reason) {
				cancelled = true;
				timer.dispose();
				return reader.cancel(reason);
			},
		},
		{ highWaterMark: 0 },
	);
	return { stream, failure: () => failed };
}

/** Large or of unknown length: streamed once, never buffered. */
export function streamOnce(request: Request): ReplayableBody {
	return { replayable: request.body === null, length: declaredLength(request), next: () => request.body };
}

export class IdleTimeout extends Error {
	constructor(idleMs: number) {
		super(`no data for ${idleMs} ms`);
		this.name = "IdleTimeout";
	}
}

/**
 * An identity transform that errors when no chunk passed for `idleMs` (0: never). Each chunk moves
 * the deadline of one DeadlineTimer, which re-arms its runtime timer only when it fires early.
 */
export function watchForIdle(idleMs: number, timers?: TimerFunctions): TransformStream<Uint8Array, Uint8Array> {
	if (idleMs <= 0) return new TransformStream();
	const timer = new DeadlineTimer(timers);
	let expire = () => {};
	return new TransformStream({
		start(controller) {
			expire = () => controller.error(new IdleTimeout(idleMs));
			timer.start(idleMs, expire);
		},
		transform(chunk, controller) {
			timer.start(idleMs, expire);
			controller.enqueue(chunk);
		},
		flush: () => timer.dispose(),
	});
}

/**
 * An identity stream for a body. With its length known (a plain, not re-encoded, Content-Length)
 * the length is kept, so the receiver still gets Content-Length rather than chunked encoding.
 */
export function toPassThrough(length: number | undefined): TransformStream {
	const platform = globalThis as {
		FixedLengthStream?: new (length: number) => TransformStream;
		IdentityTransformStream?: new () => TransformStream;
	};
	if (platform.FixedLengthStream && length !== undefined) return new platform.FixedLengthStream(length);
	// The Workers runtime's own identity stream: piping into it stays native, no JavaScript per chunk.
	if (platform.IdentityTransformStream) return new platform.IdentityTransformStream();
	return new TransformStream();
}

/** The Content-Length of a body that is not re-encoded on its way, when the origin sent one. */
export function declaredBodyLength(headers: Headers): number | undefined {
	const length = Number(headers.get("content-length") ?? Number.NaN);
	const encoding = (headers.get("content-encoding") ?? "identity").toLowerCase();
	return Number.isSafeInteger(length) && length >= 0 && encoding === "identity" ? length : undefined;
}

/** Bodies at most this long, with a declared length, are not watched for idleness: they arrive in moments. */
export const IDLE_WATCH_MIN_BYTES = 1024 * 1024;

/**
 * The response body for the client, watched: `done(aborted)` runs once when it ended (false) or
 * failed — the client went away, or it went idle (true). Returns the stream to send and the pipe
 * to keep alive with waitUntil.
 */
export function watchBody(
	body: ReadableStream,
	headers: Headers,
	idleMs: number,
	done: (aborted: boolean) => void,
): { stream: ReadableStream; piping: Promise<void> } {
	const length = declaredBodyLength(headers);
	const pass = toPassThrough(length);
	// The idle watch costs JavaScript per chunk: kept for long or open-ended bodies, where a stall matters.
	const watch = idleMs > 0 && (length === undefined || length > IDLE_WATCH_MIN_BYTES);
	const source = watch ? body.pipeThrough(watchForIdle(idleMs)) : body;
	const piping = source.pipeTo(pass.writable).then(
		() => done(false),
		() => done(true),
	);
	return { stream: pass.readable, piping };
}
