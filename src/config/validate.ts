/**
 * Validates a whole configuration document: the schema first, then the checks that span objects
 * (references, unique names, what this build can run). Returns values, never throws: errors name
 * the field (`pools[1].origins[0].address`), and `messages` report what was accepted but is not
 * acted on (unknown fields, fields for features this build does not have yet, raw IP origins).
 */
import type { z } from "zod";
import { SUPPORTED_ORIGIN_POLICIES } from "../balancing";
import { SUPPORTED_STEERING_POLICIES } from "../steering";
import { isIpAddress, isLoopback, toOriginBase } from "./origin-address";
import { type Config, configSchema, loadBalancerSchema, monitorSchema, originSchema, poolSchema } from "./schema";

export interface FieldError {
	readonly path: string;
	readonly message: string;
}

export type ValidationResult =
	| { readonly ok: true; readonly config: Config; readonly messages: string[] }
	| { readonly ok: false; readonly errors: FieldError[] };

/** Cloudflare fields this build accepts and keeps, but does not act on yet. */
const NOT_YET_ACTED_ON = {
	load_balancers: [
		"region_pools",
		"country_pools",
		"pop_pools",
		"random_steering",
		"adaptive_routing",
		"location_strategy",
		"session_affinity",
		"session_affinity_ttl",
		"session_affinity_attributes",
		"ttl",
		"proxied",
		"rules",
	],
	pools: ["latitude", "longitude", "check_regions", "notification_email", "notification_filter", "load_shedding"],
	monitors: ["allow_insecure", "probe_zone"],
} as const satisfies Record<string, readonly string[]>;

export function toFieldPath(path: readonly PropertyKey[]): string {
	let out = "";
	for (const part of path) {
		out += typeof part === "number" ? `[${part}]` : `${out ? "." : ""}${String(part)}`;
	}
	return out || "(document)";
}

export function validateConfig(input: unknown): ValidationResult {
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

	const monitorIds = new Set<string>();
	config.monitors.forEach((monitor, i) => {
		if (monitorIds.has(monitor.id)) fail(`monitors[${i}].id`, `duplicate monitor id "${monitor.id}"`);
		monitorIds.add(monitor.id);
		reportExtraFields(messages, `monitors[${i}]`, monitor, monitorSchema.shape, NOT_YET_ACTED_ON.monitors);
	});

	const poolIds = new Set<string>();
	config.pools.forEach((pool, i) => {
		const at = `pools[${i}]`;
		if (poolIds.has(pool.id)) fail(`${at}.id`, `duplicate pool id "${pool.id}"`);
		poolIds.add(pool.id);
		reportExtraFields(messages, at, pool, poolSchema.shape, NOT_YET_ACTED_ON.pools);
		if (pool.monitor !== undefined && !monitorIds.has(pool.monitor)) {
			fail(`${at}.monitor`, `no monitor with id "${pool.monitor}"`);
		}
		if (!SUPPORTED_ORIGIN_POLICIES.includes(pool.origin_steering.policy)) {
			fail(
				`${at}.origin_steering.policy`,
				`"${pool.origin_steering.policy}" is not supported by this version (supported: ${SUPPORTED_ORIGIN_POLICIES.join(", ")})`,
			);
		}
		const originNames = new Set<string>();
		pool.origins.forEach((origin, j) => {
			const oat = `${at}.origins[${j}]`;
			if (originNames.has(origin.name))
				fail(`${oat}.name`, `duplicate origin name "${origin.name}" in pool "${pool.id}"`);
			originNames.add(origin.name);
			reportExtraFields(messages, oat, origin, originSchema.shape, []);
			const base = toOriginBase(origin.address, origin.port);
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
		if (!pool.origins.some((origin) => origin.enabled)) {
			messages.push(`${at}: pool "${pool.id}" has no enabled origin; it is never healthy`);
		}
	});

	const hostnames = new Set<string>();
	config.load_balancers.forEach((lb, i) => {
		const at = `load_balancers[${i}]`;
		if (hostnames.has(lb.name)) fail(`${at}.name`, `duplicate load balancer hostname "${lb.name}"`);
		hostnames.add(lb.name);
		reportExtraFields(messages, at, lb, loadBalancerSchema.shape, NOT_YET_ACTED_ON.load_balancers);
		lb.default_pools.forEach((poolId, j) => {
			if (!poolIds.has(poolId)) fail(`${at}.default_pools[${j}]`, `no pool with id "${poolId}"`);
		});
		if (lb.fallback_pool !== undefined && !poolIds.has(lb.fallback_pool)) {
			fail(`${at}.fallback_pool`, `no pool with id "${lb.fallback_pool}"`);
		}
		if (lb.fallback_pool === undefined) {
			messages.push(
				`${at}.fallback_pool: not set; the last default pool ("${lb.default_pools.at(-1)}") is used when no pool is healthy`,
			);
		}
		if (!SUPPORTED_STEERING_POLICIES.includes(lb.steering_policy)) {
			fail(
				`${at}.steering_policy`,
				`"${lb.steering_policy}" is not supported by this version (supported: ${SUPPORTED_STEERING_POLICIES.join(", ")})`,
			);
		}
	});

	return errors.length > 0 ? { ok: false, errors } : { ok: true, config, messages };
}

function reportExtraFields(
	messages: string[],
	at: string,
	value: Record<string, unknown>,
	shape: Record<string, z.ZodType>,
	notYetActedOn: readonly string[],
): void {
	for (const [key, field] of Object.entries(value)) {
		if (notYetActedOn.includes(key)) {
			// Schema fields with a default (allow_insecure: false) are only worth a word when set.
			if (field !== undefined && field !== false) messages.push(`${at}.${key}: kept, but not acted on by this version`);
		} else if (!(key in shape)) {
			messages.push(`${at}.${key}: unknown field; kept, but not acted on`);
		}
	}
}
