/**
 * The authority's pushes: whenever its state moves (configuration, health, drains, ejections), the
 * current replica goes to every registered hub (a hub registers by asking for the replica), once
 * per burst of changes, at most MAX_CALLS_PER_INVOCATION hubs per invocation: the rest in rounds,
 * each in an invocation of its own (the authority's alarm). Hubs pass it on to their counter
 * objects. Best effort: a hub or counter object that misses a push revalidates within
 * REVALIDATE_MS; one not heard from for MEMBER_TTL_MS is dropped.
 */
import type { Replica } from "../contract/replica";
import { withTimeout } from "../deadline";
import { Members, PushRounds } from "../routing/fan-out";
import { REVALIDATE_MS } from "../routing/shard-keys";

/**
 * Admin writes and probe results wait this long at most for the push of their change, so an admin
 * client normally reads its own write through any load balancer; a slow or lost push only makes
 * the change eventual (see REVALIDATE_MS).
 */
export const PUSH_WAIT_MS = 1_000;

/** One push call is given up on after this long: a stuck hub must not hold the others' rounds. */
export const PUSH_CALL_TIMEOUT_MS = 2_000;

export interface ReplicationHost {
	/** The replica to push now. */
	replica(): Replica;
	/** Sends a replica to one hub. */
	send(hub: string, replica: Replica): Promise<unknown>;
	/** Keeps a push alive after the call that caused it returns (ctx.waitUntil). */
	background(promise: Promise<unknown>): void;
	/** Rounds are waiting: run `nextRound` soon, in an invocation of its own (the alarm). */
	roundsWaiting(): void;
}

export class Replication {
	/** Set once the authority has started: state moves from then on are pushed. */
	pushing = false;
	private queued = false;
	/** The latest push (resolved when done, failed or not). */
	private pushed: Promise<void> = Promise.resolve();
	private readonly hubs = new Members();
	private readonly rounds = new PushRounds();

	constructor(private readonly host: ReplicationHost) {}

	/** A hub asked for the replica (or revalidated): it gets the pushes from now on. */
	heardFrom(hub: string, now: number): void {
		this.hubs.heard(hub, now);
	}

	/** The hubs that get pushes now. */
	registered(now: number): string[] {
		return this.hubs.current(now);
	}

	/**
	 * Set while the current invocation may need its calls for another push (an alarm's
	 * readmissions, before its probe round's results): pushes go whole to the next alarm, so no
	 * invocation makes more Durable Object calls than one round.
	 */
	deferring = false;

	/** One push per burst of changes (a probe round's transitions, say), after the current call's own changes. */
	schedule(): void {
		if (!this.pushing) return;
		if (this.deferring) {
			this.rounds.startLater(this.hubs.current(Date.now()));
			this.host.roundsWaiting();
			return;
		}
		if (this.queued) return;
		this.queued = true;
		const push = Promise.resolve().then(() => {
			this.queued = false;
			return this.send(this.rounds.start(this.hubs.current(Date.now())));
		});
		this.pushed = push;
		this.host.background(push);
	}

	/** Waits for the latest push, at most PUSH_WAIT_MS. */
	async settled(): Promise<void> {
		await withTimeout(this.pushed, PUSH_WAIT_MS, "push").catch(() => {});
	}

	get roundsPending(): boolean {
		return this.rounds.pending;
	}

	/** The next round of a push too large for one invocation (the alarm calls it). */
	nextRound(): Promise<void> {
		return this.send(this.rounds.next());
	}

	/** Sends the current replica to these hubs, in parallel; failures are logged, never thrown. */
	private async send(hubs: readonly string[]): Promise<void> {
		if (this.rounds.pending) this.host.roundsWaiting();
		if (hubs.length === 0) return;
		const replica = this.host.replica();
		await Promise.all(
			hubs.map(async (hub) => {
				try {
					await withTimeout(this.host.send(hub, replica), PUSH_CALL_TIMEOUT_MS, `${hub} did not take the push`);
					// A hub that takes pushes is alive, however rarely it needs to ask.
					this.hubs.heard(hub, Date.now());
				} catch (error) {
					console.error(
						`switchyard: pushing state ${replica.state} to ${hub} failed; it revalidates within ${REVALIDATE_MS / 1000} s`,
						error,
					);
				}
			}),
		);
	}
}
