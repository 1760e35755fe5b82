/**
 * Route calls that share one registry call. Every call to a Durable Object has a fixed price, paid
 * by the Worker and, more importantly, by the object, which serves every request of its load
 * balancer on one thread: that price, not the planning, is most of what a counter shard spends per
 * request (docs/benchmarks.md). So an isolate keeps one lane per shard. A request whose lane is
 * idle asks at once, alone: an unloaded balancer waits for nothing. A request that finds a call
 * already out waits for it to come back, and then goes with every other request that queued
 * meanwhile, as one call (`sendMany`); the shard plans them one after another in arrival order,
 * exactly as it would have planned separate calls. No request waits longer than `maxWaitMs` for
 * the call ahead of it: after that its batch goes anyway, beside the one still out, so a slow or
 * distant registry costs at most that much more. `maxWaitMs` 0 turns sharing off.
 *
 * A batch is sent from the context of the request that makes it go (the one whose call came back,
 * or the first to queue when its wait is up): the runtime ties a call to the request that made
 * it, so that request keeps the batch alive in its waitUntil (`background`). Replies reach the
 * other requests as values. Pure apart from the timer function passed in.
 */

/** How long a request waits at most for the call ahead of it before its batch is sent anyway. */
export const ROUTE_BATCH_WAIT_MS = 5;

export interface RouteSender<Request, Reply> {
	/** One request alone: the call as it was before sharing. */
	one(shard: string, request: Request): Promise<Reply>;
	/** Several, planned in this order; the replies in the same order. */
	many(shard: string, requests: readonly Request[]): Promise<readonly Reply[]>;
}

interface Waiter<Request, Reply> {
	readonly request: Request;
	readonly resolve: (reply: Reply) => void;
	readonly reject: (error: unknown) => void;
}

interface Lane<Request, Reply> {
	/** Calls out now. */
	out: number;
	/** Requests waiting for the next call, in arrival order (undefined: none). */
	queued: Waiter<Request, Reply>[] | undefined;
}

export class RouteLanes<Request, Reply> {
	private readonly lanes = new Map<string, Lane<Request, Reply>>();

	constructor(
		private readonly sender: RouteSender<Request, Reply>,
		private readonly maxWaitMs = ROUTE_BATCH_WAIT_MS,
		private readonly setTimer: (callback: () => void, ms: number) => unknown = (callback, ms) =>
			setTimeout(callback, ms),
	) {}

	/**
	 * The shard's reply to `request`. `background` is the calling request's waitUntil: a batch this
	 * request sends is kept alive there.
	 */
	route(shard: string, request: Request, background: (promise: Promise<unknown>) => void): Promise<Reply> {
		const lane = this.laneOf(shard);
		return new Promise<Reply>((resolve, reject) => {
			const waiter = { request, resolve, reject };
			if (lane.out === 0 || this.maxWaitMs <= 0) {
				background(this.send(shard, lane, [waiter], background));
				return;
			}
			if (lane.queued) {
				lane.queued.push(waiter);
				return;
			}
			const queued = [waiter];
			lane.queued = queued;
			// The first to queue bounds the wait for its whole batch (unless the call out returns first).
			this.setTimer(() => {
				if (lane.queued !== queued) return;
				lane.queued = undefined;
				background(this.send(shard, lane, queued, background));
			}, this.maxWaitMs);
		});
	}

	/** Requests waiting for a call, over all shards (for tests and status). */
	get queued(): number {
		let count = 0;
		for (const lane of this.lanes.values()) count += lane.queued?.length ?? 0;
		return count;
	}

	private laneOf(shard: string): Lane<Request, Reply> {
		let lane = this.lanes.get(shard);
		if (!lane) {
			lane = { out: 0, queued: undefined };
			this.lanes.set(shard, lane);
		}
		return lane;
	}

	/** One call for `waiters`; when it is back, the requests queued meanwhile go, from this context. */
	private async send(
		shard: string,
		lane: Lane<Request, Reply>,
		waiters: readonly Waiter<Request, Reply>[],
		background: (promise: Promise<unknown>) => void,
	): Promise<void> {
		lane.out++;
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
				for (const [i, waiter] of waiters.entries()) waiter.resolve(replies[i] as Reply);
			}
		} catch (error) {
			for (const waiter of waiters) waiter.reject(error);
		} finally {
			lane.out--;
			const next = lane.queued;
			if (next) {
				lane.queued = undefined;
				background(this.send(shard, lane, next, background));
			}
		}
	}
}
