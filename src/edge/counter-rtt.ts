/**
 * A latency budget for the counter call. Durable Objects live in a fraction of Cloudflare's data
 * centers, so a colo's counter object can be far from it (South America, Africa, India). Each
 * isolate keeps a moving average of its round trip to each counter object it calls (route calls
 * and outcome batches alike); while that exceeds the load balancer's `counter_rtt_budget_ms`, the
 * isolate plans the requests itself, as in the isolate scope, and its outcome batches (a second
 * apart) keep measuring the object, so it returns when the round trip is back under budget.
 * A failed call counts for the time it took: an object that hangs is over any budget. One slow
 * call (a cold object's first, a busy moment) is not enough: the average of at least
 * MIN_SAMPLES calls decides.
 */
import { BoundedMap } from "../routing/bounded-map";

/** Weight of a new round trip in the average. */
export const COUNTER_RTT_ALPHA = 0.25;
/** Calls measured before an object can be found over budget. */
export const MIN_SAMPLES = 3;
/** Counter objects whose round trip an isolate remembers; beyond this the least recently used is forgotten (measured afresh). */
export const MAX_MEASURED_OBJECTS = 1024;

export class CounterRtt {
	private readonly averages = new BoundedMap<string, { average: number; samples: number }>(MAX_MEASURED_OBJECTS);

	constructor(private readonly clock: () => number = Date.now) {}

	/** A round trip of `ms` to the counter object `key`. */
	sample(key: string, ms: number): void {
		const before = this.averages.get(key);
		this.averages.set(
			key,
			before === undefined
				? { average: ms, samples: 1 }
				: { average: before.average + COUNTER_RTT_ALPHA * (ms - before.average), samples: before.samples + 1 },
		);
	}

	/** The moving average to `key`, ms; undefined before the first call. */
	averageOf(key: string): number | undefined {
		return this.averages.get(key)?.average;
	}

	/** Whether calls to `key` are over `budgetMs` (0: no budget); never before MIN_SAMPLES calls were measured. */
	isOver(key: string, budgetMs: number): boolean {
		if (budgetMs <= 0) return false;
		const measured = this.averages.get(key);
		return measured !== undefined && measured.samples >= MIN_SAMPLES && measured.average > budgetMs;
	}

	/** Makes `call` to the counter object `key`, measuring its round trip (a failure counts too). */
	time<T>(key: string, call: () => Promise<T>): Promise<T> {
		const started = this.clock();
		const measured = () => this.sample(key, this.clock() - started);
		// Chained on the call's own promise, not awaited in an async function: one promise fewer a call.
		try {
			return call().then(
				(value) => {
					measured();
					return value;
				},
				(error: unknown) => {
					measured();
					throw error;
				},
			);
		} catch (error) {
			measured();
			return Promise.reject(error);
		}
	}
}
