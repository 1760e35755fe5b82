/**
 * Issue 12: a hub passes the authority's pushes on to its counter objects, at most
 * MAX_CALLS_PER_INVOCATION (48) Durable Object calls per invocation, the rest in rounds, each in an
 * invocation of its own (the hub's alarm); and a change reaches every registered counter object
 * within 1 s. 120 load balancers (lb0.test … lb119.test, counter scope "global": objects
 * "lb:<name>") each get one request from colo "local", so 120 counter objects register with the hub
 * "colo:local"; then an origin is drained through the admin API.
 *
 * How calls are counted per invocation, kept out of the shipped class: Hub.prototype.adopt and
 * Hub.prototype.alarm are wrapped (the runtime dispatches RPC and alarms through the prototype), and
 * the hub instance's `env` (a plain property) is replaced with one whose namespaces hand out stubs
 * that count every call against the invocation running at the time.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { Hub } from "../../src/registry/hub";
import { MAX_CALLS_PER_INVOCATION } from "../../src/routing/fan-out";
import { servedBy } from "./admin-helpers";
import { admin, originUrl, putConfig, send, startClean } from "./helpers";
import { statsOf } from "./object-stats";

const LOAD_BALANCERS = 120;
const HOSTS = Array.from({ length: LOAD_BALANCERS }, (_, i) => `lb${i}.test`);
const COUNTER_KEYS = HOSTS.map((host) => `lb:${host}`);
const HUB = "colo:local";

/** One invocation of the hub's: what it was, and the Durable Object calls it made. */
interface Invocation {
	readonly kind: "adopt" | "alarm";
	/** Every Durable Object call, as "<BINDING> <name> <method>". */
	readonly calls: string[];
	/** The counter objects it pushed to (adopt calls on COUNTERS). */
	readonly pushedTo: string[];
	/** Another wrapped invocation ran at the same time: its calls could not be told apart. */
	overlapped: boolean;
	startedAt: number;
	endedAt?: number;
}

interface Probe {
	running: Invocation | undefined;
	readonly log: Invocation[];
	/** Calls made while no wrapped invocation ran (a replica() pull, say). */
	readonly stray: string[];
}

const probes = new WeakMap<object, Probe>();

function wrapInvocation(kind: Invocation["kind"]): void {
	const prototype = Hub.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
	const original = prototype[kind];
	if (typeof original !== "function") throw new Error(`Hub has no ${kind} to wrap`);
	prototype[kind] = async function (this: object, ...args: unknown[]) {
		const probe = probes.get(this);
		if (!probe) return original.apply(this, args);
		const invocation: Invocation = { kind, calls: [], pushedTo: [], overlapped: false, startedAt: Date.now() };
		if (probe.running) {
			probe.running.overlapped = true;
			invocation.overlapped = true;
		}
		probe.running = invocation;
		try {
			return await original.apply(this, args);
		} finally {
			if (probe.running === invocation) probe.running = undefined;
			invocation.endedAt = Date.now();
			probe.log.push(invocation);
		}
	};
}
wrapInvocation("adopt");
wrapInvocation("alarm");

type Namespace = DurableObjectNamespace<Rpc.DurableObjectBranded>;

/** A stub whose method calls are counted against `probe`'s running invocation. */
function countingStub(probe: Probe, binding: string, name: string, stub: object): object {
	return new Proxy(stub, {
		get(target, property) {
			const value = (target as Record<PropertyKey, unknown>)[property];
			if (typeof value !== "function" || typeof property !== "string") return value;
			return (...args: unknown[]) => {
				const call = `${binding} ${name} ${property}`;
				const running = probe.running;
				if (running) {
					running.calls.push(call);
					if (binding === "COUNTERS" && property === "adopt") running.pushedTo.push(name);
				} else probe.stray.push(call);
				// Called as a method: an RPC stub's methods answer `.apply` as another remote method.
				return (target as Record<string, (...args: unknown[]) => unknown>)[property]?.(...args);
			};
		},
	});
}

function countingNamespace(probe: Probe, binding: string, namespace: Namespace): Namespace {
	return new Proxy(namespace, {
		get(target, property) {
			if (property === "getByName") {
				return (name: string, options?: unknown) =>
					countingStub(
						probe,
						binding,
						name,
						target.getByName(name, options as DurableObjectNamespaceGetDurableObjectOptions),
					);
			}
			if (property === "get") {
				return (id: DurableObjectId, options?: unknown) =>
					countingStub(
						probe,
						binding,
						id.name ?? id.toString(),
						target.get(id, options as DurableObjectNamespaceGetDurableObjectOptions),
					);
			}
			const value = (target as unknown as Record<PropertyKey, unknown>)[property];
			if (typeof value !== "function") return value;
			return (...args: unknown[]) =>
				(target as unknown as Record<PropertyKey, (...args: unknown[]) => unknown>)[property]?.(...args);
		},
	});
}

/** Starts counting the hub's calls per invocation: its `env` now hands out counting stubs. */
async function instrumentHub(): Promise<Probe> {
	const probe: Probe = { running: undefined, log: [], stray: [] };
	await runInDurableObject(env.HUBS.getByName(HUB), (instance) => {
		const hub = instance as unknown as { env: Env };
		const descriptor = Object.getOwnPropertyDescriptor(hub, "env");
		// The idea rests on this: `this.env` is an own, writable data property of the instance.
		expect(descriptor?.writable, "Hub's env is an own writable property").toBe(true);
		const real = hub.env;
		hub.env = new Proxy(real, {
			get(target, property) {
				const value = (target as unknown as Record<PropertyKey, unknown>)[property];
				if (property === "REGISTRY" || property === "COUNTERS" || property === "HUBS") {
					return countingNamespace(probe, property, value as Namespace);
				}
				return value;
			},
		});
		probes.set(instance, probe);
	});
	return probe;
}

/** The authority's state now, and the state each counter object's replica was taken at. */
async function states(): Promise<{ authority: number; counters: (number | undefined)[] }> {
	const authority = await runInDurableObject(
		env.REGISTRY.getByName("global"),
		(instance) => (instance as unknown as { state: number }).state,
	);
	const counters = await Promise.all(
		COUNTER_KEYS.map((key) =>
			runInDurableObject(
				env.COUNTERS.getByName(key),
				(instance) => (instance as unknown as { core: { state: number | undefined } }).core.state,
			),
		),
	);
	return { authority, counters };
}

/** Adopt calls each counter object has received since its start (object-stats.ts counts them). */
async function adoptsReceived(): Promise<number[]> {
	return Promise.all(
		COUNTER_KEYS.map(
			async (key) =>
				(await statsOf(env.COUNTERS.getByName(key) as DurableObjectStub<Rpc.DurableObjectBranded>)).callsByMethod
					.adopt ?? 0,
		),
	);
}

/** 120 load balancers over one unmonitored pool of a and b (no probe rounds: the drain is the only push). */
function manyBalancers() {
	return {
		monitors: [],
		pools: [
			{
				id: "main",
				name: "main",
				origin_steering: { policy: "round_robin" },
				origins: ["a", "b"].map((name) => ({ name, address: originUrl(name) })),
			},
		],
		load_balancers: HOSTS.map((name) => ({
			name,
			default_pools: ["main"],
			counter_scope: "global",
			proxy: { debug_headers: true, retries: 0 },
			slow_start_s: 0,
		})),
	};
}

beforeEach(startClean);

describe("a hub's fan-out to 120 counter objects", () => {
	it("passes a drain on to every counter object within 1 s, at most 48 calls per invocation, in rounds", async () => {
		await putConfig(manyBalancers());
		// One request per load balancer (20 at a time): 120 counter objects, each registered with colo:local.
		for (let start = 0; start < HOSTS.length; start += 20) {
			const responses = await Promise.all(HOSTS.slice(start, start + 20).map((host) => send(`https://${host}/warm`)));
			for (const response of responses) expect(response.status).toBe(200);
		}
		const before = await states();
		expect(before.counters).toEqual(HOSTS.map(() => before.authority));

		const probe = await instrumentHub();
		const adoptsBefore = await adoptsReceived();

		const drained = await admin("POST", "/pools/main/origins/a/drain");
		expect(drained.status).toBe(200);
		const answeredAt = Date.now();
		const authorityState = (await states()).authority;
		expect(authorityState).toBeGreaterThan(before.authority);

		// Within 1 s of the drain's answer, every counter object holds the authority's current state.
		await expect
			.poll(async () => (await states()).counters, { interval: 20, timeout: 1000 })
			.toEqual(HOSTS.map(() => authorityState));
		const reachedAfterMs = Date.now() - answeredAt;
		// The rounds are over once every object has it; wait for the last invocation to be recorded.
		await expect.poll(() => probe.running, { interval: 20, timeout: 1000 }).toBeUndefined();

		const log = probe.log;
		console.log(
			`hub invocations: ${log.map((entry) => `${entry.kind}(${entry.calls.length})`).join(", ")}; ` +
				`every counter object current ${reachedAfterMs} ms after the drain's answer`,
		);
		expect(
			log.some((entry) => entry.overlapped),
			"hub invocations overlapped",
		).toBe(false);
		expect(probe.stray).toEqual([]);
		for (const entry of log) expect(entry.calls.length).toBeLessThanOrEqual(MAX_CALLS_PER_INVOCATION);
		expect(log.length).toBeGreaterThanOrEqual(3); // 48 + 48 + 24
		expect(log[0]?.kind).toBe("adopt"); // the push itself; the later rounds in alarms
		expect(log.slice(1).every((entry) => entry.kind === "alarm")).toBe(true);
		expect(new Set(log.flatMap((entry) => entry.pushedTo))).toEqual(new Set(COUNTER_KEYS));

		// The counting saw every push: each counter object received exactly the adopt calls counted.
		const adoptsAfter = await adoptsReceived();
		const received = adoptsAfter.reduce((sum, count, i) => sum + count - (adoptsBefore[i] ?? 0), 0);
		expect(received).toBe(log.reduce((sum, entry) => sum + entry.pushedTo.length, 0));

		// And through traffic: a is out for load balancers pushed in each round.
		for (const host of ["lb0.test", "lb60.test", "lb119.test"]) {
			expect(await servedBy(host, 4)).toEqual(["b", "b", "b", "b"]);
		}
	}, 60_000);
});
