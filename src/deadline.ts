/**
 * The one way Switchyard times out: `withTimeout` for a promise that must settle in time (a route
 * call, a counter object's answer to /status, a push the admin API waits for), on a
 * `DeadlineTimer`, which a request also uses directly for its origins' response headers.
 *
 * One timer for the deadlines a request meets one after another: the registry's answer, then each
 * attempt's response headers. Arming and clearing a runtime timer per wait is among the costliest
 * things a request does in JavaScript (docs/benchmarks.md), so this arms one timer at the first
 * deadline and never clears it: a wait that ends just stops caring, and when the timer fires with
 * a later deadline still pending it re-arms for the rest. Only a deadline earlier than the armed
 * timer arms a new one. Pure apart from the timer functions passed in.
 */
export interface TimerFunctions {
	readonly now: () => number;
	readonly setTimeout: (callback: () => void, ms: number) => unknown;
	readonly clearTimeout: (timer: unknown) => void;
}

const PLATFORM: TimerFunctions = {
	now: () => Date.now(),
	setTimeout: (callback, ms) => setTimeout(callback, ms),
	clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

export class DeadlineTimer {
	private timer: unknown;
	/** When the armed timer fires (Infinity: none armed). */
	private firesAt = Number.POSITIVE_INFINITY;
	private expiresAt = Number.POSITIVE_INFINITY;
	private onExpire: (() => void) | undefined;

	constructor(private readonly timers: TimerFunctions = PLATFORM) {}

	/** `onExpire` runs once `ms` from now, unless `stop()` or another `start()` comes first. */
	start(ms: number, onExpire: () => void): void {
		this.expiresAt = this.timers.now() + ms;
		this.onExpire = onExpire;
		if (this.firesAt <= this.expiresAt) return; // the armed timer comes first, and re-arms if need be
		if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
		this.arm(ms);
	}

	/** The current wait is over: its deadline no longer fires. */
	stop(): void {
		this.onExpire = undefined;
	}

	/**
	 * Done with the timer: the wait is over and the armed runtime timer is cleared, so nothing stays
	 * pending (a Durable Object with a pending timer is kept in memory until it fires).
	 */
	dispose(): void {
		this.onExpire = undefined;
		if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
		this.timer = undefined;
		this.firesAt = Number.POSITIVE_INFINITY;
	}

	private arm(ms: number): void {
		this.firesAt = this.timers.now() + ms;
		this.timer = this.timers.setTimeout(() => this.fire(), ms);
	}

	private fire(): void {
		this.timer = undefined;
		this.firesAt = Number.POSITIVE_INFINITY;
		const onExpire = this.onExpire;
		if (!onExpire) return;
		const left = this.expiresAt - this.timers.now();
		if (left > 0) {
			this.arm(left);
			return;
		}
		this.onExpire = undefined;
		onExpire();
	}
}

/** Raised by `withTimeout` when the promise did not settle in time. */
export class TimeoutError extends Error {
	override readonly name = "TimeoutError";
}

/**
 * `promise`, or a TimeoutError with `message` after `ms`; `onTimeout` runs when the time is up (to
 * hand back what a late answer will bring, say). `timer`: the caller's, when it has one to share.
 */
export async function withTimeout<T>(
	promise: Promise<T>,
	ms: number,
	message: string,
	options: { readonly timer?: DeadlineTimer; readonly onTimeout?: () => void } = {},
): Promise<T> {
	const own = options.timer === undefined;
	const timer = options.timer ?? new DeadlineTimer();
	const deadline = new Promise<never>((_resolve, reject) => {
		timer.start(ms, () => {
			options.onTimeout?.();
			reject(new TimeoutError(message));
		});
	});
	try {
		return await Promise.race([promise, deadline]);
	} finally {
		// A shared timer is the request's, for its next deadline; one of our own goes now.
		if (own) timer.dispose();
		else timer.stop();
	}
}
