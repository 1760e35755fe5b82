/**
 * Regular expressions in linear time, for the Rules language's `matches` operator. Cloudflare runs
 * them with Rust's regex crate, which never backtracks: the time to match grows with the input's
 * length times the pattern's size, whatever the pattern. JavaScript's RegExp backtracks, so a
 * pattern such as `(a+)+$` takes minutes on forty characters. Here a pattern is parsed (Rust's
 * syntax, the parts of it rules use) into a Thompson NFA and simulated one input character at a
 * time with a set of states (Pike's VM without captures: only "does it match" is asked).
 *
 * Refused, as Rust's regex refuses them: backreferences and lookaround. Counted repetition is
 * expanded, within MAX_PROGRAM_SIZE instructions. WebAssembly RE2 (`re2-wasm` 1.0.2) was the other
 * way, not taken: its Emscripten loader reads its 858 KB re2.wasm with fs or fetch and compiles it
 * from bytes (`new WebAssembly.Module(bytes)`, `WebAssembly.instantiate(bytes)`), which workerd
 * refuses ("Wasm code generation disallowed by embedder", tried under this project's workerd): a
 * Worker's WebAssembly must be a module its bundle imports. Its loader would need rewriting, and
 * the module would be most of a Free-plan bundle.
 *
 * Reference: Russ Cox, "Regular Expression Matching Can Be Simple And Fast" (2007),
 * https://swtch.com/~rsc/regexp/regexp1.html; Rust regex syntax, https://docs.rs/regex/#syntax
 */

import { type CharTest, isWord, type Node, Parser, RegexError, UNBOUNDED } from "./regex-syntax";

export { RegexError };

/** Instructions a compiled pattern may have (Rust's default size limit plays the same part). */
export const MAX_PROGRAM_SIZE = 10_000;

type Instruction =
	| { readonly op: "char"; readonly test: CharTest; next: number }
	| { readonly op: "split"; x: number; y: number }
	| { readonly op: "jump"; to: number }
	| { readonly op: "assert"; readonly kind: "start" | "end" | "word" | "notWord"; next: number }
	| { readonly op: "match" };

/** Turns the parsed pattern into instructions. */
class Compiler {
	readonly program: Instruction[] = [];

	emit(node: Node): void {
		if (this.program.length > MAX_PROGRAM_SIZE)
			throw new RegexError(`the pattern is too large (more than ${MAX_PROGRAM_SIZE} steps)`, 0);
		const program = this.program;
		switch (node.kind) {
			case "empty":
				return;
			case "char":
				program.push({ op: "char", test: node.test, next: program.length + 1 });
				return;
			case "assert":
				program.push({ op: "assert", kind: node.assertion, next: program.length + 1 });
				return;
			case "concat":
				for (const item of node.items) this.emit(item);
				return;
			case "alt": {
				const jumps: { op: "jump"; to: number }[] = [];
				node.items.forEach((item, i) => {
					if (i === node.items.length - 1) {
						this.emit(item);
						return;
					}
					const split: Instruction = { op: "split", x: program.length + 1, y: 0 };
					program.push(split);
					this.emit(item);
					const jump = { op: "jump" as const, to: 0 };
					program.push(jump);
					jumps.push(jump);
					split.y = program.length;
				});
				for (const jump of jumps) jump.to = program.length;
				return;
			}
			case "repeat": {
				for (let i = 0; i < node.min; i++) this.emit(node.item);
				if (node.max === UNBOUNDED) {
					const split: Instruction = { op: "split", x: program.length + 1, y: 0 };
					const loop = program.length;
					program.push(split);
					this.emit(node.item);
					program.push({ op: "jump", to: loop });
					split.y = program.length;
					return;
				}
				const splits: { op: "split"; x: number; y: number }[] = [];
				for (let i = node.min; i < node.max; i++) {
					const split = { op: "split" as const, x: program.length + 1, y: 0 };
					program.push(split);
					splits.push(split);
					this.emit(node.item);
				}
				for (const split of splits) split.y = program.length;
				return;
			}
		}
	}
}

/** A compiled pattern: `test` says whether it matches anywhere in the input, in linear time. */
export interface LinearRegex {
	readonly source: string;
	test(input: string): boolean;
}

/** Compiles `source` (Rust regex syntax); throws RegexError naming the character where it is wrong. */
export function toLinearRegex(source: string): LinearRegex {
	const tree = new Parser(source).parse();
	const compiler = new Compiler();
	compiler.emit(tree);
	compiler.program.push({ op: "match" });
	if (compiler.program.length > MAX_PROGRAM_SIZE) {
		throw new RegexError(`the pattern is too large (more than ${MAX_PROGRAM_SIZE} steps)`, 0);
	}
	const program = compiler.program;
	const literal = toPlainLiteral(source);
	if (literal !== undefined) return { source, test: (input) => input.includes(literal) };
	const anchored = isAnchoredAtStart(tree);
	return { source, test: (input) => run(program, input, anchored) };
}

/** A pattern that can only match at the input's start (^… or \A…): no thread need start later. */
function isAnchoredAtStart(node: Node): boolean {
	if (node.kind === "assert") return node.assertion === "start";
	if (node.kind === "concat") return node.items[0] !== undefined && isAnchoredAtStart(node.items[0]);
	if (node.kind === "alt") return node.items.every(isAnchoredAtStart);
	return false;
}

/** A pattern with no special character matches where its text occurs: no machine needed. */
function toPlainLiteral(source: string): string | undefined {
	return /^[^\\^$.|?*+()[\]{}]*$/.test(source) ? source : undefined;
}

/**
 * The simulation: every state the machine can be in after each character, each state at most once
 * (`seen` marks a state with the step that added it), so each step costs at most the program's
 * size. Unanchored: a fresh thread starts at every position (anchored at the start: only at 0, and
 * the run ends when no thread is left).
 */
function run(program: readonly Instruction[], input: string, anchored: boolean): boolean {
	const size = program.length;
	const seen = new Int32Array(size).fill(-1);
	let current: number[] = [];
	let next: number[] = [];
	const stack: number[] = [];
	const length = input.length;

	// Adds `pc` and what it reaches without reading, at position `at`; true when that reaches a match.
	const add = (list: number[], start: number, at: number, mark: number): boolean => {
		stack.push(start);
		while (stack.length > 0) {
			const pc = stack.pop() as number;
			if (seen[pc] === mark) continue;
			seen[pc] = mark;
			const instruction = program[pc] as Instruction;
			switch (instruction.op) {
				case "match":
					stack.length = 0;
					return true;
				case "jump":
					stack.push(instruction.to);
					break;
				case "split":
					stack.push(instruction.y, instruction.x);
					break;
				case "assert":
					if (holds(instruction.kind, input, at, length)) stack.push(instruction.next);
					break;
				case "char":
					list.push(pc);
					break;
			}
		}
		return false;
	};

	for (let at = 0; at <= length; at++) {
		if ((at === 0 || !anchored) && add(current, 0, at, at)) return true;
		if (at === length || (anchored && current.length === 0)) break;
		const code = input.charCodeAt(at);
		next.length = 0;
		for (const pc of current) {
			const instruction = program[pc] as Extract<Instruction, { op: "char" }>;
			if (instruction.test(code) && add(next, instruction.next, at + 1, at + 1)) return true;
		}
		[current, next] = [next, current];
	}
	return false;
}

function holds(kind: "start" | "end" | "word" | "notWord", input: string, at: number, length: number): boolean {
	if (kind === "start") return at === 0;
	if (kind === "end") return at === length;
	const before = at > 0 && isWord(input.charCodeAt(at - 1));
	const after = at < length && isWord(input.charCodeAt(at));
	return (before !== after) === (kind === "word");
}
