/**
 * Bundles the Workers the way a deployment does: `wrangler deploy --dry-run --outdir`, run by the
 * project's wrangler on this Node (as demo/wrangler-dev.ts does). Switchyard is bundled from the
 * project root with its wrangler.toml; the reference Workers each with a minimal wrangler.toml of
 * their own, so that the project's (its bindings and [build] command) does not apply to them.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir, runChild } from "./processes.ts";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface Bundle {
	/** The bundled ES module. */
	readonly modulePath: string;
}

function wranglerBin(): string {
	const require = createRequire(import.meta.url);
	return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

/** `compatibility_date` from wrangler.toml: every Worker in the benchmark runs with it. */
export function compatibilityDate(root = PROJECT_ROOT): string {
	const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
	const match = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml);
	if (!match?.[1]) throw new Error("wrangler.toml has no compatibility_date");
	return match[1];
}

/**
 * `compatibility_flags` from wrangler.toml (one line): every Worker in the benchmark runs with them,
 * as it runs with the date, so the reference Workers pay for the same runtime as Switchyard.
 */
export function compatibilityFlags(root = PROJECT_ROOT): string[] {
	const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
	const match = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml);
	if (!match?.[1]) return [];
	return [...match[1].matchAll(/"([^"]+)"/g)].map((flag) => flag[1] as string);
}

async function dryRun(name: string, cwd: string, extraArgs: string[]): Promise<Bundle> {
	const outdir = makeTempDir(`bundle-${name}`);
	await runChild(
		`wrangler (${name})`,
		process.execPath,
		[wranglerBin(), "deploy", ...extraArgs, "--dry-run", "--outdir", outdir],
		{
			cwd,
			env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", NO_COLOR: "1" },
		},
	);
	// The module is named after the entry file (index.js, bare.js, …).
	const module = readdirSync(outdir).find((file) => file.endsWith(".js"));
	if (!module) throw new Error(`wrangler wrote no module to ${outdir}`);
	return { modulePath: join(outdir, module) };
}

/** The tree at `ref`, exported to a temp dir that uses this checkout's node_modules (bench:ab, planning --ref). */
export function checkout(ref: string): string {
	const dir = makeTempDir("ab-src");
	const archive = execFileSync("git", ["archive", ref], { cwd: PROJECT_ROOT, maxBuffer: 1 << 30 });
	mkdirSync(dir, { recursive: true });
	execFileSync("tar", ["-x", "-C", dir], { input: archive });
	symlinkSync(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"));
	return dir;
}

export function bundleSwitchyard(): Promise<Bundle> {
	return dryRun("switchyard", PROJECT_ROOT, []);
}

/** Switchyard from another checkout of the project (bench/ab.ts: a git ref exported to a temp dir). */
export function bundleSwitchyardFrom(root: string): Promise<Bundle> {
	return dryRun("switchyard", root, []);
}

/**
 * `file` is a Worker in bench/ (bare.ts, bare-rpc.ts), bundled with a minimal wrangler.toml of its
 * own; from another checkout of the project when `root` is given (bench/planning.ts --ref).
 */
export function bundleReference(file: string, root = PROJECT_ROOT): Promise<Bundle> {
	const name = file.replace(/\.ts$/, "");
	const dir = makeTempDir(`wrangler-${name}`);
	const config = join(dir, "wrangler.toml");
	writeFileSync(
		config,
		`name = "bench-${name}"\nmain = ${JSON.stringify(join(root, "bench", file))}\ncompatibility_date = "${compatibilityDate()}"\ncompatibility_flags = ${JSON.stringify(compatibilityFlags())}\n`,
	);
	return dryRun(name, dir, ["--config", config]);
}
