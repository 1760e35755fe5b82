/**
 * Route calls that share one counter object call. Every call to a Durable Object has a fixed price,
 * paid by the Worker and by the object, which serves every request of its load balancer on one
 * thread, and most of a `route` call's cost is that price, not the planning (docs/benchmarks.md,
 * "Where the time goes"). So an isolate keeps one lane per counter object. A
 * request whose lane is idle asks at once, alone: an unloaded balancer waits for nothing. A request
 * that finds a call already out queues, and the queue goes as one call (`many`) when that call comes
 * back; the shard plans its requests one after another in arrival order, as it would have planned
 * separate calls. A queue waits at most `maxWaitMs` for the call ahead: after that it goes anyway,
 * beside the one still out. `maxWaitMs` 0 turns sharing off (the ROUTE_BATCH_WAIT_MS var sets it).
 *
 * Each request sends at most one call, from its own context: the runtime ties a call to the
 * request that made it, and cancels it when that request's invocation ends. A request alone sends
 * its own call; the first request of a queue sends the queue's, when told that the call ahead came
 * back or when its wait is up, and keeps that wait and that call alive in its own waitUntil
 * (`background`), so its client going away strands nobody. Replies reach the other requests as
 * values. A call out for longer than `staleMs` (its request's invocation was cut short, and it will
 * never come back) no longer holds its lane, nor does a queue whose first request never sent it.
 * Pure apart from the timer and clock passed in.
 */
import { BoundedMap } from "../routing/bounded-map";

/** How long a queue waits at most for the call ahead of it before it goes anyway (the default). */
export const ROUTE_BATCH_WAIT_MS = 5;
/** The longest wait the ROUTE_BATCH_WAIT_MS var may set: beyond it the registry's own deadline nears. */
export const MAX_ROUTE_BATCH_WAIT_MS = 100;

/**
 * The wait from the ROUTE_BATCH_WAIT_MS var: whole milliseconds from 0 (no sharing) to 100; the
 * default when unset, and the default with an error to log when it is anything else.
 */
export function toRouteBatchWaitMs(value: string | undefined): { readonly ms: number; readonly error?: string } {
	if (value === undefined || value.trim() === "") return { ms: ROUTE_BATCH_WAIT_MS };
	const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
	if (ms <= MAX_ROUTE_BATCH_WAIT_MS) return { ms };
	return {
		ms: ROUTE_BATCH_WAIT_MS,
		error: `ROUTE_BATCH_WAIT_MS must be a whole number of milliseconds from 0 to ${MAX_ROUTE_BATCH_WAIT_MS}, not ${JSON.stringify(value)}; using ${ROUTE_BATCH_WAIT_MS}`,
	};
}
/** A call out this long no longer counts: the Worker gives up on a route after 1 s (fail-open.ts). */
export const STALE_CALL_MS = 1000;
/**
 * Lanes an isolate keeps: one per counter object (load balancer and data center) it calls. Beyond
 * this the least recently used is forgotten: a call or queue still out on it goes on (it holds its
 * lane), and the object's next request finds a fresh lane and calls alone instead of queuing: one
 * call more, no request lost.
 */
export const MAX_ROUTE_LANES = 1024;

export interface RouteSender<Request, Reply> {
	/** One request alone: the call as it was before sharing. */
	one(shard: string, request: Request): Promise<Reply>;
	/**
	 * Several, planned in this order; the replies in the same order, an Error in the place of a
	 * request that could not be planned (the others still are).
	 */
	many(shard: string, requests: readonly Request[]): Promise<readonly (Reply | Error)[]>;
}

export interface RouteLaneOptions {
	readonly maxWaitMs?: number;
	readonly staleMs?: number;
	readonly setTimer?: (callback: () => void, ms: number) => unknown;
	readonly now?: () => number;
	readonly maxLanes?: number;
}

interface Waiter<Request, Reply> {
	readonly request: Request;
	readonly resolve: (reply: Reply) => void;
	readonly reject: (error: unknown) => void;
}

interface Queue<Request, Reply> {
	/** When its first request queued. */
	readonly since: number;
	readonly waiters: Waiter<Request, Reply>[];
	/** Tells the queue's first request to send it now (the call ahead came back). */
	go: () => void;
}

interface Lane<Request, Reply> {
	/** When each call out now was sent. */
	readonly out: number[];
	queue: Queue<Request, Reply> | undefined;
}

export class RouteLanes<Request, Reply> {
	private readonly lanes: BoundedMap<string, Lane<Request, Reply>>;
	private readonly maxWaitMs: number;
	private readonly staleMs: number;
	private readonly setTimer: (callback: () => void, ms: number) => unknown;
	private readonly now: () => number;

	constructor(
		private readonly sender: RouteSender<Request, Reply>,
		options: RouteLaneOptions = {},
	) {
		this.maxWaitMs = options.maxWaitMs ?? ROUTE_BATCH_WAIT_MS;
		this.staleMs = options.staleMs ?? STALE_CALL_MS;
		this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
		this.now = options.now ?? Date.now;
		this.lanes = new BoundedMap(options.maxLanes ?? MAX_ROUTE_LANES);
	}

	/** Lanes kept now (at most the bound). */
	get size(): number {
		return this.lanes.size;
	}

	/**
	 * The shard's reply to `request`. `background` is the calling request's waitUntil: the call this
	 * request sends, and its wait to send a queue, are kept alive there.
	 */
	route(shard: string, request: Request, background: (promise: Promise<unknown>) => void): Promise<Reply> {
		const lane = this.laneOf(shard);
		return new Promise<Reply>((resolve, reject) => {
			const waiter = { request, resolve, reject };
			if (lane.queue && this.isStranded(lane.queue)) lane.queue = undefined;
			if (lane.queue) {
				lane.queue.waiters.push(waiter);
				return;
			}
			if (this.maxWaitMs <= 0 || !this.busy(lane)) {
				background(this.send(shard, lane, [waiter]));
				return;
			}
			const queue: Queue<Request, Reply> = { since: this.now(), waiters: [waiter], go: () => {} };
			lane.queue = queue;
			const turn = new Promise<void>((go) => {
				queue.go = go;
				this.setTimer(go, this.maxWaitMs);
			});
			background(
				turn.then(() => {
					lane.queue = undefined;
					return this.send(shard, lane, queue.waiters);
				}),
			);
		});
	}

	/** Requests waiting for a call, over all shards (for tests and status). */
	get queued(): number {
		let count = 0;
		for (const lane of this.lanes.values()) count += lane.queue?.waiters.length ?? 0;
		return count;
	}

	private laneOf(shard: string): Lane<Request, Reply> {
		let lane = this.lanes.get(shard);
		if (!lane) {
			lane = { out: [], queue: undefined };
			this.lanes.set(shard, lane);
		}
		return lane;
	}

	/**
	 * A queue still waiting long after its wait was up: its first request's invocation was cut short
	 * before it could send it. Later requests start a queue of their own instead of joining it (those
	 * in it meet their route deadline and plan from the isolate's copy).
	 */
	private isStranded(queue: Queue<Request, Reply>): boolean {
		return this.now() - queue.since > this.maxWaitMs + this.staleMs;
	}

	/** Whether a call that may still come back is out on `lane`; forgets calls out longer than staleMs. */
	private busy(lane: Lane<Request, Reply>): boolean {
		if (lane.out.length === 0) return false;
		const oldest = this.now() - this.staleMs;
		while (lane.out.length > 0 && (lane.out[0] as number) <= oldest) lane.out.shift();
		return lane.out.length > 0;
	}

	/** One call for `waiters`; when it is back, the queue's first request is told to send the queue. */
	private async send(
		shard: string,
		lane: Lane<Request, Reply>,
		waiters: readonly Waiter<Request, Reply>[],
	): Promise<void> {
		const sent = this.now();
		lane.out.push(sent);
		try {
			const single = waiters.length === 1 ? (waiters[0] as Waiter<Request, Reply>) : undefined;
			if (single) {
				single.resolve(await this.sender.one(shard, single.request));
			} else {
				const replies = await this.sender.many(
					shard,
					waiters.map((waiter) => waiter.request),
				);
				if (replies.length !== waiters.length) {
					throw new Error(`shard ${shard} answered ${replies.length} of ${waiters.length} route requests`);
				}
				for (const [i, waiter] of waiters.entries()) {
					const reply = replies[i];
					if (reply instanceof Error) waiter.reject(reply);
					else waiter.resolve(reply as Reply);
				}
			}
		} catch (error) {
			for (const waiter of waiters) waiter.reject(error);
		} finally {
			const at = lane.out.indexOf(sent);
			if (at !== -1) lane.out.splice(at, 1);
			lane.queue?.go();
		}
	}
}
