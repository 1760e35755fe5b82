/**
 * Three loopback origins: demo/origin.ts as child processes (`--port 0` picks a free port; the
 * origin prints its URL), so they do not share an event loop with the benchmark itself.
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "./bundle.ts";
import { startChild } from "./processes.ts";

export interface Origin {
	readonly name: string;
	/** "http://127.0.0.1:<port>" */
	readonly url: string;
}

export async function startOrigins(count = 3): Promise<Origin[]> {
	const names = Array.from({ length: count }, (_, i) => `origin-${i + 1}`);
	return Promise.all(names.map(startOriginProcess));
}

async function startOriginProcess(name: string): Promise<Origin> {
	const child = startChild(name, process.execPath, [
		join(PROJECT_ROOT, "demo", "origin.ts"),
		"--name",
		name,
		"--port",
		"0",
	]);
	const deadline = Date.now() + 10_000;
	while (Date.now() < deadline) {
		const match = / listening on (http:\/\/\S+)/.exec(child.output());
		if (match?.[1]) return { name, url: match[1] };
		if (child.process.exitCode !== null) break;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`${name} did not start:\n${child.output()}`);
}

/**
 * demo/origin.ts keeps a record of every request it served; a benchmark sends millions. Emptied
 * before each run so that the origins' memory (and garbage collection) does not grow run by run.
 */
export async function clearRequestLogs(origins: readonly Origin[]): Promise<void> {
	await Promise.all(
		origins.map(async (origin) => {
			const response = await fetch(`${origin.url}/_origin/requests`, { method: "DELETE" });
			await response.body?.cancel();
		}),
	);
}
