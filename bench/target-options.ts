/**
 * The workerd options of one benchmark target by its id, for the tools that start targets one at
 * a time (bench/instructions.ts, bench/deopts.ts): floor (with `floor-lean`'s LEAN binding, or
 * `floor-rpc`'s no-op object), or Switchyard with its admin token and Durable Objects, configured
 * afterwards by the caller (`switchyard-rr`, `-rr-global`, `-rr-isolate`).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
	type Bundle,
	bundleReference,
	bundleSwitchyard,
	compatibilityDate,
	compatibilityFlags,
	PROJECT_ROOT,
} from "./bundle.ts";
import { type Origin, startOrigins } from "./origins.ts";
import { durableObjectsOf, type WorkerdOptions } from "./workerd.ts";

/** Switchyard's rows over round robin, by the counter scope each runs in. */
export const SWITCHYARD_SCOPES: Readonly<Record<string, string>> = {
	"switchyard-rr": "colo",
	"switchyard-rr-global": "global",
	"switchyard-rr-isolate": "isolate",
};

export function targetOptions(
	target: string,
	bundles: { readonly floor: Bundle; readonly switchyard: Bundle },
	origins: readonly Origin[],
	adminToken: string,
): Omit<WorkerdOptions, "name"> {
	const common = { compatibilityDate: compatibilityDate(), compatibilityFlags: compatibilityFlags() };
	if (!target.startsWith("floor")) {
		return {
			...common,
			modulePath: bundles.switchyard.modulePath,
			text: { ADMIN_TOKEN: adminToken, ADMIN_HOSTNAMES: "localhost,127.0.0.1" },
			durableObjects: durableObjectsOf(PROJECT_ROOT),
		};
	}
	return {
		...common,
		modulePath: bundles.floor.modulePath,
		text: {
			ORIGIN: origins.map((origin) => origin.url).join(","),
			...(target === "floor-lean" ? { LEAN: "true" } : {}),
		},
		...(target === "floor-rpc" ? { durableObjects: [{ className: "Noop", binding: "NOOP" }] } : {}),
	};
}

/** Every target id these tools take. */
export const TARGETS: readonly string[] = ["floor", "floor-lean", "floor-rpc", ...Object.keys(SWITCHYARD_SCOPES)];

/**
 * What a run of such a tool needs first: its targets (the comma-separated `list`, each checked),
 * both bundles, the origins, and bench-results/ to write in.
 */
export async function prepareTargets(list: string): Promise<{
	readonly targets: readonly string[];
	readonly bundles: { readonly floor: Bundle; readonly switchyard: Bundle };
	readonly origins: readonly Origin[];
	readonly results: string;
}> {
	const targets = list.split(",");
	for (const target of targets) if (!TARGETS.includes(target)) throw new Error(`unknown target ${target}`);
	const [floor, switchyard] = await Promise.all([bundleReference("floor.ts"), bundleSwitchyard()]);
	const origins = await startOrigins();
	const results = join(PROJECT_ROOT, "bench-results");
	mkdirSync(results, { recursive: true });
	return { targets, bundles: { floor, switchyard }, origins, results };
}
