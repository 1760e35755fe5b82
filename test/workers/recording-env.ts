/**
 * An env whose Durable Object namespaces record every stub method call as "<BINDING> <name>
 * <method>", in order: what the Worker called, seen from the bindings (not from the classes).
 */
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env";

const BINDINGS = ["REGISTRY", "HUBS", "COUNTERS"] as const;

type Namespace = DurableObjectNamespace<Rpc.DurableObjectBranded>;
type Methods = Record<PropertyKey, (...args: unknown[]) => unknown>;

/** A stub recording each method call into `calls` before making it. */
function recordingStub(calls: string[], binding: string, name: string, stub: object): object {
	return new Proxy(stub, {
		get(target, property) {
			const value = (target as Record<PropertyKey, unknown>)[property];
			if (typeof value !== "function" || typeof property !== "string") return value;
			return (...args: unknown[]) => {
				calls.push(`${binding} ${name} ${property}`);
				// Called as a method: an RPC stub's methods answer `.apply` as another remote method.
				return (target as unknown as Methods)[property]?.(...args);
			};
		},
	});
}

function recordingNamespace(calls: string[], binding: string, namespace: Namespace): Namespace {
	return new Proxy(namespace, {
		get(target, property) {
			if (property === "getByName") {
				return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
					recordingStub(calls, binding, name, target.getByName(name, options));
			}
			if (property === "get") {
				return (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
					recordingStub(calls, binding, id.name ?? id.toString(), target.get(id, options));
			}
			const value = (target as unknown as Record<PropertyKey, unknown>)[property];
			if (typeof value !== "function") return value;
			return (...args: unknown[]) => (target as unknown as Methods)[property]?.(...args);
		},
	});
}

/** The test env with REGISTRY, HUBS and COUNTERS recording into `calls`. */
export function recordingEnv(calls: string[]): Env {
	const real = env as unknown as Env;
	return new Proxy(real, {
		get(target, property) {
			const value = (target as unknown as Record<PropertyKey, unknown>)[property];
			if ((BINDINGS as readonly PropertyKey[]).includes(property)) {
				return recordingNamespace(calls, property as string, value as Namespace);
			}
			return value;
		},
	});
}

/**
 * The test env with one namespace's `getByName` replaced by `getByName(name, options, real)`, where
 * `real` is the namespace as it is; every other binding and member as they are.
 */
export function envWithGetByName(
	binding: string,
	getByName: (
		name: string,
		options: DurableObjectNamespaceGetDurableObjectOptions | undefined,
		real: DurableObjectNamespace,
	) => DurableObjectStub,
): Env {
	return new Proxy(env as unknown as Env, {
		get(target, property) {
			const value = (target as unknown as Record<PropertyKey, unknown>)[property];
			if (property !== binding) return value;
			const namespace = value as DurableObjectNamespace;
			return new Proxy(namespace, {
				get(inner, key) {
					if (key === "getByName")
						return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
							getByName(name, options, inner);
					const member = (inner as unknown as Record<PropertyKey, unknown>)[key];
					return typeof member === "function" ? member.bind(inner) : member;
				},
			});
		},
	});
}
