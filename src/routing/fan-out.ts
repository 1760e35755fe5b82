/**
 * Who gets pushes, and in how many calls per invocation. The authority keeps the hubs that asked it
 * for the replica, a hub the counter objects that asked it; one not heard from for MEMBER_TTL_MS is
 * dropped (a member that comes back asks again within its next revalidation, and is back). A push
 * to more members than one invocation may call goes in rounds: the first in the invocation that
 * caused it, the rest each in an invocation of its own (the object's alarm). Pure: time passed in.
 */

/**
 * Durable Object calls one invocation may make for a fan-out: the Free plan allows 50
 * subrequests per invocation, and Durable Object calls count; two are left for the object's own.
 */
export const MAX_CALLS_PER_INVOCATION = 48;
/** A member not heard from for this long gets no more pushes (it revalidates every few seconds while it serves). */
export const MEMBER_TTL_MS = 10 * 60_000;

export class Members {
	private readonly heardAt = new Map<string, number>();

	constructor(private readonly ttlMs = MEMBER_TTL_MS) {}

	/** `key` asked for the replica (or revalidated) at `now`. */
	heard(key: string, now: number): void {
		this.heardAt.set(key, now);
	}

	/** The members heard from within the TTL, in the order they first came; forgets the others. */
	current(now: number): string[] {
		const kept: string[] = [];
		for (const [key, at] of this.heardAt) {
			if (now - at > this.ttlMs) this.heardAt.delete(key);
			else kept.push(key);
		}
		return kept;
	}
}

/**
 * The rounds of a push: the first goes now, each later one in an invocation of its own. A newer
 * push while rounds still wait merges with them: those still owed a push go first, and each member
 * gets the newest replica once.
 */
export class PushRounds {
	private waiting: string[] = [];

	constructor(private readonly perRound = MAX_CALLS_PER_INVOCATION) {}

	/** A new push to `members`: the first round to send now; the rest wait for `next`. */
	start(members: readonly string[]): string[] {
		this.startLater(members);
		return this.next();
	}

	/** A new push to `members` that may not call any of them now: every round waits for `next`. */
	startLater(members: readonly string[]): void {
		const owed = new Set(this.waiting);
		this.waiting = [...this.waiting, ...members.filter((member) => !owed.has(member))];
	}

	/** The next round to send, in an invocation of its own; empty when none is waiting. */
	next(): string[] {
		const round = this.waiting.slice(0, this.perRound);
		this.waiting = this.waiting.slice(this.perRound);
		return round;
	}

	get pending(): boolean {
		return this.waiting.length > 0;
	}
}
