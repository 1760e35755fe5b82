/**
 * A map that holds at most `capacity` entries and, past that, forgets the one used least recently
 * (a JavaScript Map keeps insertion order, so an entry moved to the end on every use leaves the
 * oldest first). For what a Worker isolate keeps between requests under keys that requests choose
 * (hostnames, data centers): anyone can send any Host, and an isolate has 128 MB. Every user says
 * why forgetting an entry is safe (docs/architecture.md, "Bounds"): what it held is worked out
 * again, or starts afresh. Values cannot be undefined, which `get` uses for "not held". Pure.
 */
export class BoundedMap<K, V extends object | string | number | boolean | null> {
	private readonly entries = new Map<K, V>();
	/** The key used last (at the end of `entries`), or undefined: `get` moves nothing for it. */
	private newest: K | undefined;

	constructor(readonly capacity: number) {
		if (!(Number.isInteger(capacity) && capacity >= 1))
			throw new RangeError(`capacity ${capacity}: a whole number ≥ 1`);
	}

	get size(): number {
		return this.entries.size;
	}

	/** The value held for `key`, now the most recently used; undefined when none is. */
	get(key: K): V | undefined {
		const value = this.entries.get(key);
		if (value === undefined) return undefined;
		// Already the most recently used (the common case: one isolate, one host): nothing to move.
		if (key !== this.newest) {
			this.entries.delete(key);
			this.entries.set(key, value);
			this.newest = key;
		}
		return value;
	}

	/** Holds `value` for `key` as the most recently used, forgetting the least recently used beyond capacity. */
	set(key: K, value: V): this {
		this.entries.delete(key);
		this.entries.set(key, value);
		this.newest = key;
		if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
		return this;
	}

	has(key: K): boolean {
		return this.entries.has(key);
	}

	delete(key: K): boolean {
		if (key === this.newest) this.newest = undefined;
		return this.entries.delete(key);
	}

	clear(): void {
		this.newest = undefined;
		this.entries.clear();
	}

	/** From the least recently used to the most, without using any. */
	values(): IterableIterator<V> {
		return this.entries.values();
	}
}
