/**
 * A V8 CPU profile (the inspector's `Profiler.stop` answer, the `.cpuprofile` format) summarised as
 * two tables: the functions with the most samples on top of the stack (self) and on the stack at
 * all (total, each sample counted once per function however deep it recurses). Pure, for tests.
 */

export interface CallFrame {
	readonly functionName: string;
	readonly url: string;
	readonly lineNumber: number;
	readonly columnNumber?: number;
}

export interface ProfileNode {
	readonly id: number;
	readonly callFrame: CallFrame;
	readonly children?: readonly number[];
}

export interface CpuProfile {
	readonly nodes: readonly ProfileNode[];
	readonly samples?: readonly number[];
	readonly startTime?: number;
	readonly endTime?: number;
}

export interface Share {
	readonly name: string;
	readonly samples: number;
	/** Of all samples, idle ones included. */
	readonly percent: number;
}

export interface Summary {
	readonly samples: number;
	/** Samples with the thread idle (waiting for I/O): the rest is CPU. */
	readonly idle: number;
	readonly self: Share[];
	readonly total: Share[];
}

/** "name file:line" (1-based line; the file's last path segment), or V8's own "(program)" and friends. */
export function frameName(frame: CallFrame): string {
	const name = frame.functionName || "(anonymous)";
	if (!frame.url) return name;
	const file = frame.url.slice(frame.url.lastIndexOf("/") + 1);
	return `${name} ${file}:${frame.lineNumber + 1}`;
}

export function toSummary(profile: CpuProfile): Summary {
	const parent = new Map<number, number>();
	const byId = new Map<number, ProfileNode>();
	for (const node of profile.nodes) {
		byId.set(node.id, node);
		for (const child of node.children ?? []) parent.set(child, node.id);
	}
	const self = new Map<string, number>();
	const total = new Map<string, number>();
	let idle = 0;
	const samples = profile.samples ?? [];
	for (const id of samples) {
		const node = byId.get(id);
		if (!node) continue;
		const top = frameName(node.callFrame);
		if (top === "(idle)") idle++;
		self.set(top, (self.get(top) ?? 0) + 1);
		const seen = new Set<string>();
		for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
			const frame = byId.get(at)?.callFrame;
			if (!frame) break;
			const name = frameName(frame);
			if (name === "(root)" || seen.has(name)) continue;
			seen.add(name);
			total.set(name, (total.get(name) ?? 0) + 1);
		}
	}
	const shares = (counts: Map<string, number>): Share[] =>
		[...counts]
			.map(([name, count]) => ({
				name,
				samples: count,
				percent: samples.length === 0 ? 0 : (100 * count) / samples.length,
			}))
			.sort((a, b) => b.samples - a.samples || a.name.localeCompare(b.name));
	return { samples: samples.length, idle, self: shares(self), total: shares(total) };
}

export function summarise(profile: CpuProfile, top = 30): string {
	const summary = toSummary(profile);
	const busy = summary.samples - summary.idle;
	const lines = [
		`${summary.samples} samples, ${summary.idle} idle (${((100 * summary.idle) / Math.max(1, summary.samples)).toFixed(1)}%), ${busy} busy`,
	];
	const table = (title: string, shares: readonly Share[]) => {
		lines.push("", `${title}  (% of all samples)`);
		for (const share of shares.filter((s) => s.name !== "(idle)").slice(0, top))
			lines.push(`${share.percent.toFixed(1).padStart(6)}%  ${String(share.samples).padStart(7)}  ${share.name}`);
	};
	table("self", summary.self);
	table("total", summary.total);
	return lines.join("\n");
}
