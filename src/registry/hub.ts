/**
 * A data center's hub ("colo:<colo>"), created by that data center's traffic so it lives near it.
 * It holds the replica for the data center: pulls it from the authority on first use (registering
 * there), serves it to the data center's isolates and counter objects (registering the counter
 * objects), takes the authority's pushes and passes them on to its counter objects, at most
 * MAX_CALLS_PER_INVOCATION per invocation (the rest in rounds, each in an alarm of its own). While
 * it serves, it asks the authority at most every REVALIDATE_MS whether its replica is current, so
 * a lost push is repaired. It keeps nothing in storage but its alarm.
 */
import { DurableObject } from "cloudflare:workers";
import type { CounterReport } from "../contract/counters";
import type { Replica, ReplicaMark } from "../contract/replica";
import type { HubRpc } from "../contract/rpc";
import { withTimeout } from "../deadline";
import type { Env } from "../env";
import { MAX_CALLS_PER_INVOCATION, Members, PushRounds } from "../routing/fan-out";
import { isDueForRevalidation, isNewerReplica } from "../routing/shard-keys";
import { getAuthority, getCounter } from "./objects";
import { PUSH_CALL_TIMEOUT_MS } from "./replication";
import { askWithin, COUNTER_STATUS_TIMEOUT_MS } from "./status";

export class Hub extends DurableObject<Env> implements HubRpc {
	private readonly key: string;
	/** The replica, always with its configuration; undefined until pulled. */
	private held: Replica | undefined;
	private validatedAt = 0;
	private validating = false;
	private readonly members = new Members();
	private readonly rounds = new PushRounds();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.key = ctx.id.name ?? ctx.id.toString();
	}

	async replica(held: ReplicaMark | null, member?: string): Promise<Replica | null> {
		const now = Date.now();
		if (member !== undefined) this.members.heard(member, now);
		if (!this.held) await this.pull();
		else if (!this.validating && isDueForRevalidation(this.validatedAt, now)) {
			this.validating = true;
			this.ctx.waitUntil(this.revalidate());
		}
		const replica = this.held;
		if (!replica) throw new Error(`${this.key}: the authority gave no replica`);
		if (held && held.state === replica.state && held.checks === replica.checks) return null;
		if (held?.state === replica.state) {
			// Only RTT averages moved: the configuration stays where it was.
			const { configJson: _same, discovered: _too, ...rest } = replica;
			return rest;
		}
		return replica;
	}

	async adopt(replica: Replica): Promise<{ state: number | undefined }> {
		if (this.take(replica, Date.now())) await this.pushRound(this.rounds.start(this.members.current(Date.now())));
		if (this.rounds.pending) await this.ctx.storage.setAlarm(Date.now());
		return { state: this.held?.state };
	}

	/** Its counter objects' counters, for /status and /metrics: at most one invocation's worth of calls. */
	async counters(withMetrics = false): Promise<CounterReport[]> {
		const asked = await askWithin(
			this.members.current(Date.now()),
			MAX_CALLS_PER_INVOCATION,
			COUNTER_STATUS_TIMEOUT_MS,
			(key) => getCounter(this.env, key).counters(withMetrics),
		);
		return asked.map(({ key, answer, error }) =>
			answer ? { key, answered: true, counters: answer } : { key, answered: false, ...(error ? { error } : {}) },
		);
	}

	/** The next round of a push too large for one invocation. */
	override async alarm(): Promise<void> {
		await this.pushRound(this.rounds.next());
		if (this.rounds.pending) await this.ctx.storage.setAlarm(Date.now());
	}

	/** No replica yet: pulls it (other calls wait); when the authority does not answer, the call fails. */
	private async pull(): Promise<void> {
		await this.ctx.blockConcurrencyWhile(async () => {
			if (this.held) return;
			const replica = await getAuthority(this.env).replica(null, this.key);
			if (replica) this.take(replica, Date.now());
		});
	}

	/** Asks the authority whether the replica is current; a newer one is taken and passed on, as a push would be. */
	private async revalidate(): Promise<void> {
		try {
			const held = this.held;
			const mark = held ? { state: held.state, checks: held.checks } : null;
			const replica = await getAuthority(this.env).replica(mark, this.key);
			// A lost push, repaired: passed on as a push would be, but from alarms only (this invocation
			// already called the authority, and a round may take all the calls one invocation may make).
			if (replica && this.take(replica, Date.now())) {
				this.rounds.startLater(this.members.current(Date.now()));
				if (this.rounds.pending) await this.ctx.storage.setAlarm(Date.now());
			}
		} catch (error) {
			console.error(`switchyard: ${this.key} could not revalidate its replica`, error);
		} finally {
			this.validatedAt = Date.now();
			this.validating = false;
		}
	}

	/** Takes a newer replica (one without configuration keeps the one held); false for an older one. */
	private take(replica: Replica, now: number): boolean {
		if (!isNewerReplica(replica, this.held)) return false;
		// The discovered origins travel with the configuration: kept with it.
		const configJson = replica.configJson ?? this.held?.configJson;
		const discovered = replica.configJson !== undefined ? replica.discovered : this.held?.discovered;
		this.held = configJson === undefined ? replica : { ...replica, configJson, ...(discovered ? { discovered } : {}) };
		this.validatedAt = now;
		return true;
	}

	/** One round of a push: the replica to these counter objects, in parallel; failures are logged. */
	private async pushRound(keys: readonly string[]): Promise<void> {
		const replica = this.held;
		if (!replica || keys.length === 0) return;
		await Promise.all(
			keys.map(async (key) => {
				try {
					await withTimeout(
						getCounter(this.env, key).adopt(replica),
						PUSH_CALL_TIMEOUT_MS,
						`${key} did not take the push`,
					);
					// A counter object that takes pushes is alive, however rarely it needs to ask.
					this.members.heard(key, Date.now());
				} catch (error) {
					console.error(`switchyard: ${this.key}: pushing state ${replica.state} to ${key} failed`, error);
				}
			}),
		);
	}
}
