/**
 * The authority's pushes to the counter objects: whenever its state moves (configuration, health,
 * drains, ejections), the current replica goes to every load balancer's counter object, in
 * parallel, once per burst of changes. Best effort: an object that misses a push revalidates
 * within REVALIDATE_MS. Counter objects of load balancers a change removed get the next push too:
 * isolates with an older replica may still send them requests, which they must answer from the
 * new one.
 */
import type { Replica } from "../contract/replica";
import { withTimeout } from "../deadline";
import { REVALIDATE_MS, toShardKeys } from "../routing/shard-keys";

/**
 * Admin writes and probe results wait this long at most for the push of their change, so an admin
 * client normally reads its own write through any load balancer; a slow or lost push only makes
 * the change eventual (see REVALIDATE_MS).
 */
export const PUSH_WAIT_MS = 1_000;

export interface ReplicationHost {
	/** The replica to push now. */
	replica(): Replica;
	/** The load balancers configured now. */
	loadBalancers(): readonly string[];
	/** Sends a replica to one counter object. */
	send(key: string, replica: Replica): Promise<unknown>;
	/** Keeps a push alive after the call that caused it returns (ctx.waitUntil). */
	background(promise: Promise<unknown>): void;
}

export class Replication {
	/** Set once the authority has started: state moves from then on are pushed. */
	pushing = false;
	private queued = false;
	/** The latest push (resolved when done, failed or not). */
	private pushed: Promise<void> = Promise.resolve();
	private readonly retired = new Set<string>();

	constructor(private readonly host: ReplicationHost) {}

	/** A configuration replaced `before`'s load balancers: the counter objects of those removed get one more push. */
	retire(before: readonly string[], after: readonly string[]): void {
		const kept = toShardKeys(after);
		for (const key of toShardKeys(before).keys()) if (!kept.has(key)) this.retired.add(key);
	}

	/** One push per burst of changes (a probe round's transitions, say), after the current call's own changes. */
	schedule(): void {
		if (!this.pushing || this.queued) return;
		this.queued = true;
		const push = Promise.resolve().then(() => {
			this.queued = false;
			return this.pushAll();
		});
		this.pushed = push;
		this.host.background(push);
	}

	/** Waits for the latest push, at most PUSH_WAIT_MS. */
	async settled(): Promise<void> {
		await withTimeout(this.pushed, PUSH_WAIT_MS, "push").catch(() => {});
	}

	/** Sends the current replica to every counter object; failures are logged, never thrown. */
	private async pushAll(): Promise<void> {
		const replica = this.host.replica();
		const keys = new Set(toShardKeys(this.host.loadBalancers()).keys());
		const retired = [...this.retired].filter((key) => !keys.has(key));
		this.retired.clear();
		await Promise.all(
			[...keys, ...retired].map(async (key) => {
				try {
					await this.host.send(key, replica);
				} catch (error) {
					console.error(
						`switchyard: pushing state ${replica.state} to ${key} failed; it revalidates within ${REVALIDATE_MS / 1000} s`,
						error,
					);
				}
			}),
		);
	}
}
