/** What the numbers were measured on, printed with them. */
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "./bundle.ts";

export interface Machine {
	readonly cpus: number;
	readonly cpuModel: string;
	readonly memoryGiB: number;
	readonly node: string;
	readonly workerd: string;
	readonly date: string;
}

export function describeMachine(): Machine {
	const workerd = execFileSync(join(PROJECT_ROOT, "node_modules", ".bin", "workerd"), ["--version"])
		.toString()
		.trim();
	return {
		cpus: cpus().length,
		cpuModel: cpus()[0]?.model ?? "unknown",
		memoryGiB: Math.round(totalmem() / 2 ** 30),
		node: process.version,
		workerd,
		date: new Date().toISOString(),
	};
}
