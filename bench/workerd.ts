/**
 * One Worker under `workerd serve` directly (node_modules/.bin/workerd, the binary wrangler uses),
 * with a generated capnp config (format: workerd's workerd.capnp): an ES module Worker on a
 * loopback socket, Durable Objects SQLite-backed on local disk (as miniflare configures them), and
 * a global outbound that may reach loopback origins.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { PROJECT_ROOT } from "./bundle.ts";
import { type Child, findExecutable, freePort, makeTempDir, startChild, stopChild, waitForPort } from "./processes.ts";

export interface WorkerdOptions {
	readonly name: string;
	readonly modulePath: string;
	readonly compatibilityDate: string;
	/** wrangler.toml's `compatibility_flags` (bundle.ts compatibilityFlags). */
	readonly compatibilityFlags?: readonly string[];
	/** Text bindings (vars and secrets). */
	readonly text?: Readonly<Record<string, string>>;
	/** Durable Object classes exported by the module, and the binding names they get. */
	readonly durableObjects?: readonly DurableObjectBinding[];
	/** A loopback port for the V8 inspector (`--inspector-addr`), for CPU profiles (bench/profile.ts). */
	readonly inspectorPort?: number;
	/**
	 * An Analytics Engine binding of this name. workerd (with `--experimental`) posts the data points
	 * to a service: here a sink Worker that answers 204 and keeps nothing.
	 */
	readonly analyticsBinding?: string;
	/** V8 flags (the config's `v8Flags`): traces of the JIT (bench/deopts.ts), or its tiers (bench/instructions.ts). */
	readonly v8Flags?: readonly string[];
	/** Given everything workerd prints, as it prints it (line-buffered when there are v8Flags: V8's traces). */
	readonly onOutput?: (text: string) => void;
}

export interface DurableObjectBinding {
	readonly className: string;
	readonly binding: string;
}

/** The Durable Object bindings a checkout's wrangler.toml declares (`[[durable_objects.bindings]]`). */
export function durableObjectsOf(root: string): DurableObjectBinding[] {
	const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
	const blocks = toml.split("[[durable_objects.bindings]]").slice(1);
	return blocks.map((block) => {
		const binding = /^name\s*=\s*"([^"]+)"/m.exec(block)?.[1];
		const className = /^class_name\s*=\s*"([^"]+)"/m.exec(block)?.[1];
		if (!binding || !className)
			throw new Error(`${root}/wrangler.toml: a durable_objects binding without name or class_name`);
		return { binding, className };
	});
}

export interface Workerd {
	readonly name: string;
	/** "http://127.0.0.1:<port>" */
	readonly url: string;
	readonly child: Child;
	stop(): Promise<void>;
}

/** What receives the data points of a benchmarked Analytics Engine binding: nothing is kept. */
const ANALYTICS_SINK = "export default { fetch() { return new Response(null, { status: 204 }); } };";

export function toCapnpConfig(options: WorkerdOptions, moduleName: string, port: number, storageDir: string): string {
	const bindings = Object.entries(options.text ?? {}).map(
		([name, value]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`,
	);
	const durable: string[] = [];
	const services = [
		'(name = "main", worker = .worker)',
		// The default global outbound, widened from "public" so fetch() reaches 127.0.0.1 origins.
		'(name = "internet", network = (allow = ["public", "private", "local"]))',
	];
	if (options.analyticsBinding) {
		bindings.push(`(name = ${JSON.stringify(options.analyticsBinding)}, analyticsEngine = "analytics-sink")`);
		services.push(
			`(name = "analytics-sink", worker = (modules = [(name = "sink.js", esModule = ${JSON.stringify(ANALYTICS_SINK)})], compatibilityDate = ${JSON.stringify(options.compatibilityDate)}))`,
		);
	}
	const objects = options.durableObjects ?? [];
	if (objects.length > 0) {
		const namespaces = objects.map(
			(object) =>
				`(className = ${JSON.stringify(object.className)}, uniqueKey = ${JSON.stringify(`bench-${options.name}-${object.className}`)}, enableSql = true)`,
		);
		for (const object of objects) {
			bindings.push(
				`(name = ${JSON.stringify(object.binding)}, durableObjectNamespace = (className = ${JSON.stringify(object.className)}))`,
			);
		}
		durable.push(
			`durableObjectNamespaces = [${namespaces.join(", ")}],`,
			'durableObjectStorage = (localDisk = "do-storage"),',
		);
		services.push(`(name = "do-storage", disk = (path = ${JSON.stringify(storageDir)}, writable = true))`);
	}
	return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (${options.v8Flags?.length ? `\n  v8Flags = ${JSON.stringify(options.v8Flags)},` : ""}
  services = [
    ${services.join(",\n    ")},
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = ${JSON.stringify(moduleName)}, esModule = embed ${JSON.stringify(moduleName)})],
  compatibilityDate = ${JSON.stringify(options.compatibilityDate)},
  compatibilityFlags = ${JSON.stringify(options.compatibilityFlags ?? [])},
  bindings = [
    ${bindings.join(",\n    ")}
  ],
  ${durable.join("\n  ")}
  globalOutbound = "internet",
);
`;
}

export async function startWorkerd(options: WorkerdOptions): Promise<Workerd> {
	const dir = makeTempDir(`workerd-${options.name}`);
	const moduleName = basename(options.modulePath);
	copyFileSync(options.modulePath, join(dir, moduleName));
	const storageDir = join(dir, "do");
	mkdirSync(storageDir);
	const port = await freePort();
	const configPath = join(dir, "config.capnp");
	writeFileSync(configPath, toCapnpConfig(options, moduleName, port, storageDir));
	const workerd = join(PROJECT_ROOT, "node_modules", ".bin", "workerd");
	const args = [
		"serve",
		configPath,
		"config",
		...(options.inspectorPort === undefined ? [] : [`--inspector-addr=127.0.0.1:${options.inspectorPort}`]),
		...(options.analyticsBinding ? ["--experimental"] : []),
	];
	// V8 prints its traces through C's stdio, which buffers whole blocks into a pipe: line by line,
	// they arrive when they happen (and none is lost when workerd is stopped).
	const lineBuffered = options.v8Flags?.length && findExecutable("stdbuf");
	const child = lineBuffered
		? startChild(`workerd (${options.name})`, lineBuffered, ["-oL", "-eL", workerd, ...args], { cwd: dir })
		: startChild(`workerd (${options.name})`, workerd, args, { cwd: dir });
	const onOutput = options.onOutput;
	if (onOutput) {
		child.process.stdout?.on("data", (chunk: Buffer) => onOutput(chunk.toString()));
		child.process.stderr?.on("data", (chunk: Buffer) => onOutput(chunk.toString()));
	}
	await waitForPort(port, child);
	return { name: options.name, url: `http://127.0.0.1:${port}`, child, stop: () => stopChild(child) };
}
