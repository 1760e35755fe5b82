/**
 * Validates a whole configuration document: the schema first, then the checks that span objects
 * (references, unique names). Returns values, never throws: errors name the field
 * (`pools[1].origins[0].address`), and `messages` report what was accepted but is not acted on —
 * unknown fields, Cloudflare features this version does not run yet (with what it does instead),
 * raw IP origins — so nothing a user wrote is silently ignored.
 */
import type { z } from "zod";
import type { FieldError } from "../contract/status";
import { isIpAddress, isLoopback, toOriginBase } from "./origin-address";
import {
	type Config,
	configSchema,
	loadBalancerSchema,
	monitorSchema,
	originSchema,
	outlierDetectionSchema,
	POOL_MAP_FIELDS,
	poolSchema,
	proxySchema,
	SUPPORTED_ORIGIN_POLICIES,
	SUPPORTED_STEERING_POLICIES,
} from "./schema";

export type { FieldError };

export type ValidationResult =
	| { readonly ok: true; readonly config: Config; readonly messages: string[] }
	| { readonly ok: false; readonly errors: FieldError[] };

/** Fields this version accepts and keeps, but does not act on yet; reported when set to something. */
const NOT_YET_ACTED_ON = {
	monitors: ["allow_insecure", "probe_zone"],
	pools: ["check_regions", "notification_email", "notification_filter", "load_shedding"],
	origins: [],
	load_balancers: ["location_strategy", "ttl", "proxied", "rules"],
	proxy: [],
} as const satisfies Record<string, readonly string[]>;

export function toFieldPath(path: readonly PropertyKey[]): string {
	let out = "";
	for (const part of path) {
		out += typeof part === "number" ? `[${part}]` : `${out ? "." : ""}${String(part)}`;
	}
	return out || "(document)";
}

type Raw = Record<string, unknown>;

function rawList(input: unknown, key: string): Raw[] {
	const list = (input as Raw | null)?.[key];
	return Array.isArray(list) ? (list as Raw[]) : [];
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
	const report = (at: string, raw: Raw | undefined, shape: Record<string, z.ZodType>, later: readonly string[]) =>
		reportUnusedFields(messages, at, raw ?? {}, shape, later);

	const monitorIds = new Set<string>();
	const rawMonitors = rawList(input, "monitors");
	config.monitors.forEach((monitor, i) => {
		const at = `monitors[${i}]`;
		if (monitorIds.has(monitor.id)) fail(`${at}.id`, `duplicate monitor id "${monitor.id}"`);
		monitorIds.add(monitor.id);
		report(at, rawMonitors[i], monitorSchema.shape, NOT_YET_ACTED_ON.monitors);
		if (Object.keys(monitor.header).some((name) => name.toLowerCase() === "host")) {
			messages.push(`${at}.header.Host: not acted on by this version; probes carry the origin address's host`);
		}
	});

	const poolIds = new Set<string>();
	const rawPools = rawList(input, "pools");
	config.pools.forEach((pool, i) => {
		const at = `pools[${i}]`;
		if (poolIds.has(pool.id)) fail(`${at}.id`, `duplicate pool id "${pool.id}"`);
		poolIds.add(pool.id);
		report(at, rawPools[i], poolSchema.shape, NOT_YET_ACTED_ON.pools);
		if (pool.monitor !== undefined && !monitorIds.has(pool.monitor)) {
			fail(`${at}.monitor`, `no monitor with id "${pool.monitor}"`);
		}
		if (!SUPPORTED_ORIGIN_POLICIES.includes(pool.origin_steering.policy)) {
			messages.push(
				`${at}.origin_steering.policy: "${pool.origin_steering.policy}" is not supported by this version; the pool uses "random" (supported: ${SUPPORTED_ORIGIN_POLICIES.join(", ")})`,
			);
		}
		const originNames = new Set<string>();
		const rawOrigins = rawList(rawPools[i], "origins");
		pool.origins.forEach((origin, j) => {
			const oat = `${at}.origins[${j}]`;
			if (originNames.has(origin.name))
				fail(`${oat}.name`, `duplicate origin name "${origin.name}" in pool "${pool.id}"`);
			originNames.add(origin.name);
			report(oat, rawOrigins[j], originSchema.shape, NOT_YET_ACTED_ON.origins);
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
		if (!pool.origins.some((origin) => origin.enabled)) {
			messages.push(`${at}: pool "${pool.id}" has no enabled origin; it is never healthy`);
		}
	});

	const hostnames = new Set<string>();
	const rawLoadBalancers = rawList(input, "load_balancers");
	config.load_balancers.forEach((lb, i) => {
		const at = `load_balancers[${i}]`;
		const raw = rawLoadBalancers[i];
		if (hostnames.has(lb.name)) fail(`${at}.name`, `duplicate load balancer hostname "${lb.name}"`);
		hostnames.add(lb.name);
		report(at, raw, loadBalancerSchema.shape, NOT_YET_ACTED_ON.load_balancers);
		report(`${at}.proxy`, raw?.proxy as Raw | undefined, proxySchema.shape, NOT_YET_ACTED_ON.proxy);
		report(`${at}.outlier_detection`, raw?.outlier_detection as Raw | undefined, outlierDetectionSchema.shape, []);
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
		if (!SUPPORTED_STEERING_POLICIES.includes(lb.steering_policy)) {
			messages.push(
				`${at}.steering_policy: "${lb.steering_policy}" is not supported by this version; default_pools are used in order ("off")`,
			);
		}
	});

	return errors.length > 0 ? { ok: false, errors } : { ok: true, config, messages };
}

/** Values that say nothing: absent, null, false, "", "none", empty lists and objects. */
function isUnset(value: unknown): boolean {
	if (value === undefined || value === null || value === false || value === "" || value === "none") return true;
	if (Array.isArray(value)) return value.length === 0;
	return typeof value === "object" && Object.keys(value as object).length === 0;
}

function reportUnusedFields(
	messages: string[],
	at: string,
	raw: Raw,
	shape: Record<string, z.ZodType>,
	notYetActedOn: readonly string[],
): void {
	for (const [key, value] of Object.entries(raw)) {
		if (notYetActedOn.includes(key)) {
			// A default sent back (as GET /config returns it) is not a choice the user made.
			const fallback = shape[key]?.safeParse(undefined);
			const isDefault = fallback?.success === true && JSON.stringify(fallback.data) === JSON.stringify(value);
			if (!isUnset(value) && !isDefault) messages.push(`${at}.${key}: kept, but not acted on by this version`);
		} else if (!(key in shape)) {
			messages.push(`${at}.${key}: unknown field; kept, but not acted on`);
		}
	}
}
