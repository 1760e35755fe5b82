/**
 * Checks the layering of the source tree: no import cycles, no import a folder may not make, no
 * import of a module above the importer in the layer order, no file outside that order, no file
 * over MAX_LINES lines. Every static import and export-from counts (`import type` and
 * `export type … from` too), and every dynamic `import("…")` with a literal specifier.
 *
 *   node scripts/check-layout.ts [root]      (root defaults to src)
 *
 * Prints every violation as `file:line: message` and exits 1; on success prints one line and
 * exits 0. Exit 2: bad usage. No dependencies: it reads the files with a small tokenizer that
 * skips comments, strings, template literals and regular expressions, so an import that is only
 * quoted or commented out does not count.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// ─── The rules ────────────────────────────────────────────────────────────────────────────────

/**
 * What the files of one top-level folder of the root may not import. A target is
 *   "registry/"     a file in that top-level folder of the root (its index.ts included);
 *   "cloudflare:*"  an external module by name, `*` at the end matching any rest ("zod" is exact);
 *   "**"            any import at all: a file of the root or an external module.
 * `allow` exempts targets from `forbid`, in the same syntax. An import breaking several rows is
 * reported once, by the first.
 */
export interface Rule {
	readonly folder: string;
	readonly forbid: readonly string[];
	readonly allow?: readonly string[];
	readonly why: string;
}

const PURE = "pure logic, run and unit-tested in plain Node: no Workers runtime module";

export const RULES: readonly Rule[] = [
	{
		folder: "proxy",
		forbid: ["registry/", "edge/"],
		why: "the request path reaches the registry and the edge only through contract/ types, never their code",
	},
	{ folder: "registry", forbid: ["proxy/"], why: "the registry must not depend on the request path that calls it" },
	{
		folder: "contract",
		forbid: ["**"],
		allow: ["contract/"],
		why: "contract/ is the bottom layer, the types every layer shares: it depends on nothing",
	},
	{ folder: "routing", forbid: ["cloudflare:*"], why: PURE },
	{ folder: "balancing", forbid: ["cloudflare:*"], why: PURE },
	{ folder: "steering", forbid: ["cloudflare:*"], why: PURE },
	{ folder: "config", forbid: ["cloudflare:*"], why: PURE },
	{ folder: "rules", forbid: ["cloudflare:*"], why: PURE },
];

/**
 * One layer of the order in ../shared/DESIGN.md ("Where the code lives"): dependencies point down
 * LAYERS; nothing imports a module above it. A member is a path relative to the root: "admin/"
 * covers every file under that folder, "index.ts" that one file. Every file of the root must be
 * covered by a member, so a new top-level module is placed on purpose. A file may import any file
 * of its own member and of the layers below; the other members of its own layer too, unless
 * `siblings` is "independent": then only the `shared` ones.
 */
export interface Layer {
	readonly members: readonly string[];
	/** Defaults to "free". */
	readonly siblings?: "free" | "independent";
	readonly shared?: readonly string[];
}

/** Top to bottom. An import a row of RULES forbids too is reported once, by that row. */
export const LAYERS: readonly Layer[] = [
	{ members: ["index.ts"] },
	{ members: ["isolate.ts"] },
	{ members: ["admin/"] },
	{ members: ["observe/"] }, // metrics exposition, analytics, the dashboard (its page and its browser code)
	{ members: ["edge/"] },
	{ members: ["proxy/"] },
	{ members: ["registry/"] },
	{ members: ["routing/"] },
	{ members: ["health/"] },
	{ members: ["steering/", "balancing/"], siblings: "independent" },
	{ members: ["config/"] },
	{ members: ["rules/"] }, // the Rules language of load balancing rules: parse, compile, match
	{
		members: ["contract/", "env.ts", "deadline.ts", "digest.ts", "seed/"],
		siblings: "independent",
		shared: ["contract/"],
	},
];

/** No file in the root may have more lines than this. */
export const MAX_LINES = 400;

// ─── Results ──────────────────────────────────────────────────────────────────────────────────

export interface Violation {
	/** Path relative to the root, with `/` separators. */
	file: string;
	line: number;
	/** layer: a row of RULES; order: the layer order of LAYERS; unplaced: a file no member of LAYERS covers. */
	rule: "cycle" | "layer" | "order" | "unplaced" | "size" | "unresolved";
	message: string;
}

export interface LayoutReport {
	files: number;
	/** One concrete cycle per strongly connected component, each as a closed path (`[a, b, a]`). */
	cycles: string[][];
	violations: Violation[];
}

// ─── Tokenizer ────────────────────────────────────────────────────────────────────────────────

/**
 * word: identifier, keyword or number; string: a quoted string or a template without
 * substitutions (its value is the text); template: the tail of a template with substitutions;
 * regex: a regular expression literal; punct: one punctuation character, or `...`, `?.`, `${`.
 */
export interface Token {
	kind: "word" | "string" | "template" | "regex" | "punct";
	value: string;
	line: number;
}

/** After these words an expression starts, so `/` opens a regular expression. */
const BEFORE_EXPRESSION = new Set([
	"return",
	"typeof",
	"instanceof",
	"in",
	"of",
	"new",
	"delete",
	"void",
	"throw",
	"case",
	"do",
	"else",
	"yield",
	"await",
]);

const isWordChar = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f;

export function tokenize(source: string): Token[] {
	const tokens: Token[] = [];
	/** Open `{` and `${`: a `}` closing a `${` resumes the template around it. */
	const braces: ("brace" | "template")[] = [];
	const n = source.length;
	let i = 0;
	let line = 1;
	if (source.startsWith("#!")) while (i < n && source[i] !== "\n") i++;

	const regexAllowed = (): boolean => {
		const prev = tokens[tokens.length - 1];
		if (!prev) return true;
		if (prev.kind === "word") return BEFORE_EXPRESSION.has(prev.value);
		if (prev.kind === "punct") return prev.value !== ")" && prev.value !== "]" && prev.value !== "}";
		return false;
	};

	/** Reads template text from i to its closing backtick (true) or to a `${` (false). */
	const readTemplate = (): { closed: boolean; text: string } => {
		let text = "";
		while (i < n) {
			const c = source[i] as string;
			if (c === "\\") {
				const escaped = source[i + 1] ?? "";
				if (escaped === "\n") line++;
				text += escaped;
				i += 2;
			} else if (c === "`") {
				i++;
				return { closed: true, text };
			} else if (c === "$" && source[i + 1] === "{") {
				i += 2;
				return { closed: false, text };
			} else {
				if (c === "\n") line++;
				text += c;
				i++;
			}
		}
		return { closed: true, text };
	};

	while (i < n) {
		const c = source[i] as string;
		const next = source[i + 1];
		if (c === "\n") {
			line++;
			i++;
		} else if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\uFEFF") {
			i++;
		} else if (c === "/" && next === "/") {
			while (i < n && source[i] !== "\n") i++;
		} else if (c === "/" && next === "*") {
			const end = source.indexOf("*/", i + 2);
			const stop = end === -1 ? n : end + 2;
			for (let k = i; k < stop; k++) if (source[k] === "\n") line++;
			i = stop;
		} else if (c === '"' || c === "'") {
			const start = line;
			let text = "";
			i++;
			while (i < n && source[i] !== c && source[i] !== "\n") {
				if (source[i] === "\\") {
					const escaped = source[i + 1] ?? "";
					if (escaped === "\n") line++;
					text += escaped;
					i += 2;
				} else {
					text += source[i];
					i++;
				}
			}
			if (source[i] === c) i++;
			tokens.push({ kind: "string", value: text, line: start });
		} else if (c === "`") {
			const start = line;
			i++;
			const part = readTemplate();
			if (part.closed) tokens.push({ kind: "string", value: part.text, line: start });
			else {
				braces.push("template");
				tokens.push({ kind: "punct", value: "${", line: start });
			}
		} else if (c === "/" && regexAllowed()) {
			const start = line;
			let text = "/";
			let inClass = false;
			i++;
			while (i < n && source[i] !== "\n") {
				const r = source[i] as string;
				if (r === "\\") {
					text += r + (source[i + 1] ?? "");
					i += 2;
					continue;
				}
				i++;
				text += r;
				if (r === "[") inClass = true;
				else if (r === "]") inClass = false;
				else if (r === "/" && !inClass) break;
			}
			while (i < n && isWordChar(source[i] as string)) text += source[i++];
			tokens.push({ kind: "regex", value: text, line: start });
		} else if (isWordChar(c)) {
			const start = i;
			while (i < n && isWordChar(source[i] as string)) i++;
			tokens.push({ kind: "word", value: source.slice(start, i), line });
		} else if (c === "{") {
			braces.push("brace");
			tokens.push({ kind: "punct", value: c, line });
			i++;
		} else if (c === "}") {
			i++;
			if (braces.pop() === "template") {
				const start = line;
				const part = readTemplate();
				if (part.closed) tokens.push({ kind: "template", value: part.text, line: start });
				else {
					braces.push("template");
					tokens.push({ kind: "punct", value: "${", line: start });
				}
			} else tokens.push({ kind: "punct", value: c, line });
		} else if (c === "." && next === "." && source[i + 2] === ".") {
			tokens.push({ kind: "punct", value: "...", line });
			i += 3;
		} else if (c === "?" && next === "." && !/[0-9]/.test(source[i + 2] ?? "")) {
			tokens.push({ kind: "punct", value: "?.", line });
			i += 2;
		} else {
			tokens.push({ kind: "punct", value: c, line });
			i++;
		}
	}
	return tokens;
}

// ─── Imports ──────────────────────────────────────────────────────────────────────────────────

export interface ImportRef {
	specifier: string;
	/** The line of its `import` or `export` keyword. */
	line: number;
}

const isPunct = (token: Token | undefined, value: string): boolean => token?.kind === "punct" && token.value === value;
const isWord = (token: Token | undefined, value: string): boolean => token?.kind === "word" && token.value === value;

/** `import <clause> from "x"`: the string after `from`, once the clause's tokens are all ones a clause can hold. */
function specifierAfterClause(tokens: Token[], start: number): Token | undefined {
	let depth = 0;
	for (let j = start; j < tokens.length; j++) {
		const token = tokens[j] as Token;
		if (token.kind === "word") {
			if (depth === 0 && token.value === "from" && tokens[j + 1]?.kind === "string") return tokens[j + 1];
		} else if (token.kind === "string") {
			if (depth === 0) return undefined; // only `{ "name" as x }` quotes inside a clause
		} else if (isPunct(token, "{")) depth++;
		else if (isPunct(token, "}")) {
			if (--depth < 0) return undefined;
		} else if (!isPunct(token, ",") && !isPunct(token, "*")) return undefined;
	}
	return undefined;
}

/** Every import, export-from and literal dynamic import in a module's source, in order. */
export function parseImports(source: string): ImportRef[] {
	const tokens = tokenize(source);
	const found: ImportRef[] = [];
	for (let k = 0; k < tokens.length; k++) {
		const token = tokens[k] as Token;
		if (token.kind !== "word" || (token.value !== "import" && token.value !== "export")) continue;
		const before = tokens[k - 1];
		if (isPunct(before, ".") || isPunct(before, "?.")) continue; // a property: x.import(…)
		const after = tokens[k + 1];
		if (token.value === "import") {
			if (isPunct(after, "(")) {
				// import("x") and import("x", { with: … }), in code and in types (`typeof import("x")`).
				const specifier = tokens[k + 2];
				const close = tokens[k + 3];
				if (specifier?.kind === "string" && (isPunct(close, ")") || isPunct(close, ",")))
					found.push({ specifier: specifier.value, line: token.line });
			} else if (after?.kind === "string") {
				found.push({ specifier: after.value, line: token.line }); // import "./side-effect"
			} else if (after?.kind === "word" || isPunct(after, "{") || isPunct(after, "*")) {
				const specifier = specifierAfterClause(tokens, k + 1);
				if (specifier) found.push({ specifier: specifier.value, line: token.line });
			}
			continue;
		}
		// export [type] * [as name] from "x";  export [type] { … } from "x"
		let j = k + 1;
		if (isWord(tokens[j], "type")) j++;
		if (isPunct(tokens[j], "*")) {
			j++;
			if (isWord(tokens[j], "as")) j += 2;
		} else if (isPunct(tokens[j], "{")) {
			let depth = 0;
			for (; j < tokens.length; j++) {
				if (isPunct(tokens[j], "{")) depth++;
				else if (isPunct(tokens[j], "}") && --depth === 0) break;
			}
			j++;
		} else continue;
		if (isWord(tokens[j], "from") && tokens[j + 1]?.kind === "string")
			found.push({ specifier: (tokens[j + 1] as Token).value, line: token.line });
	}
	return found;
}

// ─── The tree ─────────────────────────────────────────────────────────────────────────────────

/** Every .ts file under root, relative to it with `/` separators, sorted. */
function listFiles(root: string): string[] {
	const files: string[] = [];
	const walk = (relative: string): void => {
		const entries = readdirSync(join(root, relative), { withFileTypes: true });
		for (const entry of entries) {
			const path = relative ? `${relative}/${entry.name}` : entry.name;
			if (entry.isDirectory()) {
				if (entry.name !== "node_modules" && !entry.name.startsWith(".")) walk(path);
			} else if (entry.isFile() && entry.name.endsWith(".ts")) files.push(path);
		}
	};
	walk("");
	return files.sort();
}

const countLines = (text: string): number =>
	text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

/** What an import names: a file of the root, an external module, or a relative path that is neither. */
type Target =
	| { kind: "file"; path: string }
	| { kind: "external"; name: string }
	| { kind: "unresolved"; path: string }
	| { kind: "outside"; path: string };

function resolveImport(from: string, specifier: string, files: Set<string>): Target {
	const relative = specifier === "." || specifier === ".." || /^\.\.?\//.test(specifier);
	if (!relative) return { kind: "external", name: specifier };
	const base = posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\/$/, "");
	if (base === ".." || base.startsWith("../")) return { kind: "outside", path: base };
	const stem = base === "." ? "" : base;
	const candidates = [
		/\.[cm]?js$/.test(stem) ? stem.replace(/\.([cm]?)js$/, ".$1ts") : undefined,
		stem.endsWith(".ts") ? stem : undefined,
		`${stem}.ts`,
		`${stem}.d.ts`,
		stem ? `${stem}/index.ts` : "index.ts",
		stem ? `${stem}/index.d.ts` : "index.d.ts",
	];
	for (const candidate of candidates) if (candidate && files.has(candidate)) return { kind: "file", path: candidate };
	return { kind: "unresolved", path: stem };
}

const topFolder = (path: string): string | undefined => (path.includes("/") ? path.split("/")[0] : undefined);

function targetMatches(pattern: string, target: Target): boolean {
	if (pattern === "**") return true;
	if (pattern.endsWith("/")) {
		return target.kind !== "external" && `${target.path}/`.startsWith(pattern);
	}
	if (target.kind !== "external") return false;
	return pattern.endsWith("*") ? target.name.startsWith(pattern.slice(0, -1)) : target.name === pattern;
}

function describeTarget(target: Target, specifier: string): string {
	if (target.kind === "external") return specifier;
	if (target.kind === "file" && target.path !== specifier) return `${target.path} ("${specifier}")`;
	return `"${specifier}"`;
}

// ─── The layer order ──────────────────────────────────────────────────────────────────────────

type Place = { layer: number; member: string };

function placeOf(path: string, layers: readonly Layer[]): Place | undefined {
	for (const [layer, { members }] of layers.entries())
		for (const member of members)
			if (member.endsWith("/") ? path.startsWith(member) : path === member) return { layer, member };
	return undefined;
}

const showLayer = ({ members }: Layer): string =>
	members.length === 1 ? (members[0] as string) : `[${members.join(" ")}]`;

/** Why an import from one placed file of the root to another breaks the layer order, if it does. */
function orderBreach(from: Place, to: Place, toShown: string, layers: readonly Layer[]): string | undefined {
	if (to.layer < from.layer) {
		const order = layers
			.slice(to.layer, from.layer + 1)
			.map(showLayer)
			.join(" > ");
		return `${from.member} imports ${toShown}, which is above it (layer order: ${order})`;
	}
	const layer = layers[from.layer] as Layer;
	if (to.layer > from.layer || to.member === from.member || layer.siblings !== "independent") return undefined;
	if (layer.shared?.includes(to.member)) return undefined;
	const rule = layer.shared?.length
		? `import no other member but ${layer.shared.join(", ")}`
		: "not import one another";
	return `${from.member} imports ${toShown}, a sibling in its own layer ${showLayer(layer)}, whose members may ${rule}`;
}

// ─── Cycles ───────────────────────────────────────────────────────────────────────────────────

/** Tarjan's strongly connected components; only those holding a cycle (two files or more, or a self-import). */
function cyclicComponents(graph: Map<string, Map<string, number>>): string[][] {
	let counter = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const components: string[][] = [];
	// Iterative, so a long import chain cannot overflow the call stack.
	for (const root of graph.keys()) {
		if (index.has(root)) continue;
		const work: { node: string; next: string[]; at: number }[] = [];
		const visit = (node: string): void => {
			index.set(node, counter);
			low.set(node, counter);
			counter++;
			stack.push(node);
			onStack.add(node);
			work.push({ node, next: [...(graph.get(node)?.keys() ?? [])], at: 0 });
		};
		visit(root);
		while (work.length > 0) {
			const frame = work[work.length - 1] as { node: string; next: string[]; at: number };
			if (frame.at < frame.next.length) {
				const to = frame.next[frame.at++] as string;
				if (!index.has(to)) visit(to);
				else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(to) ?? 0));
				continue;
			}
			work.pop();
			const parent = work[work.length - 1];
			if (parent) low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
			if (low.get(frame.node) === index.get(frame.node)) {
				const component: string[] = [];
				let member: string | undefined;
				do {
					member = stack.pop() as string;
					onStack.delete(member);
					component.push(member);
				} while (member !== frame.node);
				const selfImport = graph.get(frame.node)?.has(frame.node) ?? false;
				if (component.length > 1 || selfImport) components.push(component.sort());
			}
		}
	}
	return components.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
}

/** The shortest cycle through `start` that stays inside its component, as a closed path. */
function shortestCycle(start: string, component: Set<string>, graph: Map<string, Map<string, number>>): string[] {
	const parent = new Map<string, string>();
	const queue: string[] = [start];
	for (let head = 0; head < queue.length; head++) {
		const node = queue[head] as string;
		for (const to of [...(graph.get(node)?.keys() ?? [])].sort()) {
			if (!component.has(to)) continue;
			if (to === start) {
				const path = [start];
				for (let at: string | undefined = node; at !== undefined && at !== start; at = parent.get(at))
					path.splice(1, 0, at);
				path.push(start);
				return path;
			}
			if (!parent.has(to)) {
				parent.set(to, node);
				queue.push(to);
			}
		}
	}
	return [start, start];
}

// ─── The check ────────────────────────────────────────────────────────────────────────────────

export interface LayoutOptions {
	rules?: readonly Rule[];
	layers?: readonly Layer[];
	maxLines?: number;
}

export function analyzeLayout(root: string, options: LayoutOptions = {}): LayoutReport {
	const { rules = RULES, layers = LAYERS, maxLines = MAX_LINES } = options;
	const files = listFiles(root);
	const known = new Set(files);
	const violations: Violation[] = [];
	/** file → imported file → line of its first import. */
	const graph = new Map<string, Map<string, number>>();

	for (const file of files) {
		const source = readFileSync(join(root, file), "utf8");
		const lines = countLines(source);
		if (lines > maxLines)
			violations.push({
				file,
				line: maxLines + 1,
				rule: "size",
				message: `${lines} lines, over the limit of ${maxLines}: split it`,
			});

		const edges = new Map<string, number>();
		graph.set(file, edges);
		const folder = topFolder(file);
		const place = placeOf(file, layers);
		if (!place) {
			const entry = folder ? `${folder}/` : file;
			const message = `not placed in the layer order: add ${entry} to LAYERS in scripts/check-layout.ts, where DESIGN.md puts it`;
			violations.push({ file, line: 1, rule: "unplaced", message });
		}
		for (const { specifier, line } of parseImports(source)) {
			const target = resolveImport(file, specifier, known);
			if (target.kind === "file" && !edges.has(target.path)) edges.set(target.path, line);
			if (target.kind === "unresolved")
				violations.push({
					file,
					line,
					rule: "unresolved",
					message: `imports "${specifier}", which resolves to no .ts file in the root (moved?): the layout check cannot follow it`,
				});
			const broken = rules.find(
				(rule) =>
					rule.folder === folder &&
					rule.forbid.some((pattern) => targetMatches(pattern, target)) &&
					!(rule.allow ?? []).some((pattern) => targetMatches(pattern, target)),
			);
			if (broken)
				violations.push({
					file,
					line,
					rule: "layer",
					message: `${broken.folder}/ imports ${describeTarget(target, specifier)}; ${broken.folder}/ may not import ${
						broken.allow ? `anything but ${broken.allow.join(", ")}` : broken.forbid.join(", ")
					}: ${broken.why}`,
				});
			const to = !broken && place && target.kind === "file" ? placeOf(target.path, layers) : undefined;
			const breach = to && place && orderBreach(place, to, describeTarget(target, specifier), layers);
			if (breach) violations.push({ file, line, rule: "order", message: breach });
		}
	}

	const cycles: string[][] = [];
	for (const component of cyclicComponents(graph)) {
		const start = component[0] as string;
		const cycle = shortestCycle(start, new Set(component), graph);
		cycles.push(cycle);
		const more =
			component.length > cycle.length - 1
				? ` (${component.length} files import each other: ${component.join(", ")})`
				: "";
		violations.push({
			file: start,
			line: graph.get(start)?.get(cycle[1] as string) ?? 1,
			rule: "cycle",
			message: `import cycle: ${cycle.join(" → ")}${more}`,
		});
	}

	violations.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
	return { files: files.length, cycles, violations };
}

/** The violations in the tree under root; none means the layout holds. */
export function checkLayout(root: string): Violation[] {
	return analyzeLayout(root).violations;
}

// ─── Command line ─────────────────────────────────────────────────────────────────────────────

function main(args: string[]): number {
	if (args.length > 1 || args[0] === "-h" || args[0] === "--help") {
		console.error("usage: node scripts/check-layout.ts [root]   (root defaults to src)");
		return 2;
	}
	const root = args[0] ?? "src";
	if (!existsSync(root) || !statSync(root).isDirectory()) {
		console.error(`check-layout: ${root} is not a directory`);
		return 2;
	}
	const report = analyzeLayout(resolve(root));
	const display = root.replace(/\\/g, "/").replace(/\/+$/, "");
	for (const violation of report.violations)
		console.error(`${display}/${violation.file}:${violation.line}: ${violation.message}`);
	const cycles = `${report.cycles.length} cycle${report.cycles.length === 1 ? "" : "s"}`;
	if (report.violations.length === 0) {
		console.log(`check-layout: ${report.files} files, ${cycles}, all rules hold`);
		return 0;
	}
	const count = report.violations.length;
	console.error(`check-layout: ${report.files} files, ${cycles}, ${count} violation${count === 1 ? "" : "s"}`);
	return 1;
}

const invoked = process.argv[1];
if (invoked && existsSync(invoked) && import.meta.url === pathToFileURL(realpathSync(invoked)).href) {
	process.exitCode = main(process.argv.slice(2));
}
