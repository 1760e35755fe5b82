/**
 * Validates a whole configuration document: the schema first, then the checks that span objects
 * (references, unique names). Returns values, never throws: errors name the field
 * (`pools[1].origins[0].address`), and `messages` report what was accepted but is not acted on —
 * unknown fields, Cloudflare features this version does not run yet (with what it does instead),
 * raw IP origins — so nothing a user wrote is silently ignored: unknown fields are looked for in
 * every object the schema keeps them in, however deep. What cannot be kept as sent (a `__proto__`
 * key, nesting deeper than MAX_JSON_DEPTH) is refused, never dropped.
 */
import type { z } from "zod";
import type { FieldError } from "../contract/status";
import { isIpAddress, isLoopback, toOriginBase } from "./origin-address";
import {
	type Config,
	configSchema,
	loadBalancerSchema,
	MONITOR_TYPES_RUN,
	monitorSchema,
	POOL_MAP_FIELDS,
	poolSchema,
	ruleOverridesSchema,
	SUPPORTED_ORIGIN_POLICIES,
	SUPPORTED_STEERING_POLICIES,
} from "./schema";
import { checkRules } from "./validate-rules";

export type { FieldError };

export type ValidationResult =
	| { readonly ok: true; readonly config: Config; readonly messages: string[] }
	| { readonly ok: false; readonly errors: FieldError[] };

/** Per object schema, the fields it accepts and keeps but this version does not act on yet; reported when set to something. */
const NOT_YET_ACTED_ON: ReadonlyMap<z.ZodType, readonly string[]> = new Map<z.ZodType, readonly string[]>([
	[monitorSchema, ["allow_insecure", "probe_zone"]],
	[poolSchema, ["notification_email", "notification_filter"]],
	[loadBalancerSchema, ["location_strategy", "ttl", "proxied"]],
	[ruleOverridesSchema, ["ttl", "location_strategy"]],
]);

/** How deep a JSON document may nest: the document (or a request body) is level 1. */
export const MAX_JSON_DEPTH = 64;

export function toFieldPath(path: readonly PropertyKey[]): string {
	let out = "";
	for (const part of path) {
		out += typeof part === "number" ? `[${part}]` : `${out ? "." : ""}${String(part)}`;
	}
	return out || "(document)";
}

/**
 * What in a JSON value cannot be taken as it is: an object key `__proto__` (JavaScript's object
 * copies and the schema drop it, so a write naming it would report success and do nothing), or
 * nesting deeper than MAX_JSON_DEPTH (copying or serialising such a value overflows the stack).
 * Iterative, so a deep value cannot overflow this check either; the error names the field.
 */
export function findUnsafeJson(value: unknown): FieldError | undefined {
	interface Node {
		readonly value: unknown;
		readonly key?: PropertyKey;
		readonly parent?: Node;
		readonly level: number;
	}
	const pathOf = (node: Node, last?: string) => {
		const path: PropertyKey[] = last === undefined ? [] : [last];
		for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) path.unshift(at.key);
		return toFieldPath(path);
	};
	const stack: Node[] = [{ value, level: 1 }];
	for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
		const current = node.value;
		if (current === null || typeof current !== "object") continue;
		if (node.level > MAX_JSON_DEPTH) {
			return { path: pathOf(node), message: `nested deeper than ${MAX_JSON_DEPTH} levels; flatten it` };
		}
		if (Array.isArray(current)) {
			current.forEach((item, i) => {
				stack.push({ value: item, key: i, parent: node, level: node.level + 1 });
			});
			continue;
		}
		if (Object.hasOwn(current, "__proto__")) {
			return {
				path: pathOf(node, "__proto__"),
				message: '"__proto__" cannot be a field name: JavaScript drops it, so it would not be kept; rename it',
			};
		}
		for (const [key, item] of Object.entries(current)) {
			stack.push({ value: item, key, parent: node, level: node.level + 1 });
		}
	}
	return undefined;
}

export function validateConfig(input: unknown): ValidationResult {
	const unsafe = findUnsafeJson(input);
	if (unsafe) return { ok: false, errors: [unsafe] };
	const parsed = configSchema.safeParse(input);
	if (!parsed.success) {
		return {
			ok: false,
			errors: parsed.error.issues.map((issue) => ({ path: toFieldPath(issue.path), message: issue.message })),
		};
	}
	const config = parsed.data;
	const errors: FieldError[] = [];
	const messages: string[] = [];
	const fail = (path: string, message: string) => errors.push({ path, message });
	reportUnusedFields(messages, "", input, configSchema);

	const monitorIds = new Set<string>();
	config.monitors.forEach((monitor, i) => {
		const at = `monitors[${i}]`;
		if (monitorIds.has(monitor.id)) fail(`${at}.id`, `duplicate monitor id "${monitor.id}"`);
		monitorIds.add(monitor.id);
		if (!MONITOR_TYPES_RUN.includes(monitor.type)) {
			messages.push(
				`${at}.type: "${monitor.type}" is kept, but not run by this version (it runs ${MONITOR_TYPES_RUN.join(", ")}); pools using this monitor are not checked, their origins count as healthy`,
			);
		}
		if (monitor.type === "tcp" && (monitor.expected_body !== "" || Object.keys(monitor.header).length > 0)) {
			messages.push(`${at}: a tcp monitor only opens a connection; its expected_body and header are kept, not used`);
		}
		if (monitor.method === "connection_established" && monitor.type !== "tcp") {
			fail(`${at}.method`, `"connection_established" is the method of tcp monitors; ${monitor.type} takes GET or HEAD`);
		}
		if (Object.keys(monitor.header).some((name) => name.toLowerCase() === "host")) {
			messages.push(`${at}.header.Host: not acted on by this version; probes carry the origin address's host`);
		}
	});

	const poolIds = new Set<string>();
	config.pools.forEach((pool, i) => {
		const at = `pools[${i}]`;
		if (poolIds.has(pool.id)) fail(`${at}.id`, `duplicate pool id "${pool.id}"`);
		poolIds.add(pool.id);
		if (pool.monitor !== undefined && !monitorIds.has(pool.monitor)) {
			fail(`${at}.monitor`, `no monitor with id "${pool.monitor}"`);
		}
		if (pool.monitor === undefined && (pool.check_regions?.length ?? 0) > 0) {
			messages.push(`${at}.check_regions: the pool has no monitor, so nothing is checked from these regions`);
		}
		if (!SUPPORTED_ORIGIN_POLICIES.includes(pool.origin_steering.policy)) {
			messages.push(
				`${at}.origin_steering.policy: "${pool.origin_steering.policy}" is not supported by this version; the pool uses "random" (supported: ${SUPPORTED_ORIGIN_POLICIES.join(", ")})`,
			);
		}
		const originNames = new Set<string>();
		pool.origins.forEach((origin, j) => {
			const oat = `${at}.origins[${j}]`;
			if (originNames.has(origin.name))
				fail(`${oat}.name`, `duplicate origin name "${origin.name}" in pool "${pool.id}"`);
			originNames.add(origin.name);
			const base = toOriginBase(origin.address, origin.port || undefined);
			if (typeof base === "string") {
				fail(`${oat}.address`, base);
			} else if (isIpAddress(base.hostname)) {
				messages.push(
					`${oat}.address: "${base.hostname}" is an IP address; a deployed Worker cannot fetch raw IPs${isLoopback(base.hostname) ? " (fine locally)" : ""}, use a hostname in production`,
				);
			}
			if (origin.header?.Host !== undefined) {
				messages.push(`${oat}.header.Host: not acted on by this version; requests carry the address's host`);
			}
		});
		const discovers = pool.discovery?.self_registration === true || pool.discovery?.dns_srv !== undefined;
		if (!discovers && !pool.origins.some((origin) => origin.enabled)) {
			messages.push(`${at}: pool "${pool.id}" has no enabled origin; it is never healthy`);
		}
		if (pool.discovery && !discovers) {
			messages.push(`${at}.discovery: neither self_registration nor dns_srv is set; it discovers nothing`);
		}
	});

	const hostnames = new Set<string>();
	const balancerIds = new Set<string>();
	config.load_balancers.forEach((lb, i) => {
		const at = `load_balancers[${i}]`;
		if (hostnames.has(lb.name)) fail(`${at}.name`, `duplicate load balancer hostname "${lb.name}"`);
		hostnames.add(lb.name);
		if (lb.id !== undefined) {
			if (balancerIds.has(lb.id)) fail(`${at}.id`, `duplicate load balancer id "${lb.id}"`);
			balancerIds.add(lb.id);
		}
		const checkPool = (path: string, poolId: string) => {
			if (!poolIds.has(poolId)) fail(path, `no pool with id "${poolId}"`);
		};
		lb.default_pools.forEach((poolId, j) => {
			checkPool(`${at}.default_pools[${j}]`, poolId);
		});
		if (lb.fallback_pool !== undefined) checkPool(`${at}.fallback_pool`, lb.fallback_pool);
		for (const key of POOL_MAP_FIELDS) {
			for (const [where, pools] of Object.entries(lb[key])) {
				(pools ?? []).forEach((poolId, j) => {
					checkPool(`${at}.${key}.${where}[${j}]`, poolId);
				});
			}
		}
		for (const poolId of Object.keys(lb.random_steering?.pool_weights ?? {})) {
			checkPool(`${at}.random_steering.pool_weights.${poolId}`, poolId);
		}
		if (lb.fallback_pool === undefined) {
			messages.push(
				`${at}.fallback_pool: not set; the last default pool ("${lb.default_pools.at(-1)}") is used when no pool is healthy`,
			);
		}
		checkRules(lb, at, poolIds, errors, messages);
		if (!SUPPORTED_STEERING_POLICIES.includes(lb.steering_policy)) {
			messages.push(
				`${at}.steering_policy: "${lb.steering_policy}" is not supported by this version; default_pools are used in order ("off")`,
			);
		}
	});

	const notificationIds = new Set<string>();
	config.notifications.forEach((notification, i) => {
		if (notificationIds.has(notification.id))
			fail(`notifications[${i}].id`, `duplicate notification id "${notification.id}"`);
		notificationIds.add(notification.id);
	});

	return errors.length > 0 ? { ok: false, errors } : { ok: true, config, messages };
}

/** Values that say nothing: absent, null, false, "", "none", empty lists and objects. */
function isUnset(value: unknown): boolean {
	if (value === undefined || value === null || value === false || value === "" || value === "none") return true;
	if (Array.isArray(value)) return value.length === 0;
	return typeof value === "object" && Object.keys(value as object).length === 0;
}

/** The parts of a zod schema's definition the walk below reads. */
interface SchemaDef {
	readonly type: string;
	/** optional, nullable, default, prefault, catch, readonly, nonoptional */
	readonly innerType?: z.ZodType;
	/** pipe (a transform's input) */
	readonly in?: z.ZodType;
	/** array */
	readonly element?: z.ZodType;
	/** record */
	readonly valueType?: z.ZodType;
	/** object */
	readonly shape?: Record<string, z.ZodType>;
	/** object: z.unknown() for a loose object (unknown fields kept), z.never() for a strict one */
	readonly catchall?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
	return schema._zod.def as unknown as SchemaDef;
}

/** The schema inside defaults, optionals and transforms. */
function unwrap(schema: z.ZodType): z.ZodType {
	let current = schema;
	for (let def = defOf(current); ; def = defOf(current)) {
		if (def.innerType) current = def.innerType;
		else if (def.type === "pipe" && def.in) current = def.in;
		else return current;
	}
}

/**
 * Walks the raw input beside its schema, into every object, list and map, and reports the fields
 * an object keeps without acting on them: unknown ones (own keys only, so `constructor` or
 * `toString` are fields like any other), and the ones NOT_YET_ACTED_ON names (not walked into:
 * the whole field is reported). Depth is bounded by findUnsafeJson before this runs.
 */
function reportUnusedFields(messages: string[], at: string, raw: unknown, schema: z.ZodType): void {
	const inner = unwrap(schema);
	const def = defOf(inner);
	const field = (key: string | number) => (typeof key === "number" ? `${at}[${key}]` : at ? `${at}.${key}` : key);
	if (Array.isArray(raw)) {
		if (def.type === "array" && def.element) {
			const element = def.element;
			raw.forEach((item, i) => {
				reportUnusedFields(messages, field(i), item, element);
			});
		}
		return;
	}
	if (raw === null || typeof raw !== "object") return;
	if (def.type === "record" && def.valueType) {
		for (const [key, value] of Object.entries(raw)) reportUnusedFields(messages, field(key), value, def.valueType);
		return;
	}
	if (def.type !== "object" || !def.shape) return;
	const shape = def.shape;
	const later = NOT_YET_ACTED_ON.get(inner) ?? [];
	const keepsUnknown = def.catchall !== undefined && defOf(def.catchall).type !== "never";
	for (const [key, value] of Object.entries(raw)) {
		const known = Object.hasOwn(shape, key) ? shape[key] : undefined;
		if (later.includes(key)) {
			// A default sent back (as GET /config returns it) is not a choice the user made.
			const fallback = known?.safeParse(undefined);
			const isDefault = fallback?.success === true && JSON.stringify(fallback.data) === JSON.stringify(value);
			if (!isUnset(value) && !isDefault) messages.push(`${field(key)}: kept, but not acted on by this version`);
		} else if (known) {
			reportUnusedFields(messages, field(key), value, known);
		} else if (keepsUnknown) {
			messages.push(`${field(key)}: unknown field; kept, but not acted on`);
		}
	}
}
