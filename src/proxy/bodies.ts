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

/** A body that can be sent again: none, or a declared length up to `maxBytes` (then kept in memory). */
export async function readReplayableBody(request: Request, maxBytes: number): Promise<ReplayableBody> {
	if (request.body === null) return NO_BODY;
	const length = declaredLength(request);
	if (length !== undefined && length <= maxBytes) {
		const bytes = await request.arrayBuffer();
		return { replayable: true, length, next: () => bytes };
	}
	return streamOnce(request);
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
