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

/**
 * Instructions a compiled pattern may have. Matching costs the input's length times the states
 * alive at once (at most this many), and the client chooses the input: this bound keeps the worst
 * accepted pattern on the longest request line or header workerd accepts within the figures in
 * docs/benchmarks.md ("load balancing rules"). Rust's regex has a size limit for the same reason.
 */
export const MAX_PROGRAM_SIZE = 1000;

/**
 * Steps the compiler may take, instructions or not: a repeat of something that emits nothing
 * (`(a{0}){100}`) costs steps but no instructions, and nested ones would otherwise run 100^n times.
 */
export const MAX_COMPILE_STEPS = 4 * MAX_PROGRAM_SIZE;

type Instruction =
	| { readonly op: "char"; readonly test: CharTest; next: number }
	| { readonly op: "split"; x: number; y: number }
	| { readonly op: "jump"; to: number }
	| { readonly op: "assert"; readonly kind: "start" | "end" | "word" | "notWord"; next: number }
	| { readonly op: "match" };

/** Turns the parsed pattern into instructions. */
class Compiler {
	readonly program: Instruction[] = [];
	private steps = 0;

	emit(node: Node): void {
		if (this.program.length > MAX_PROGRAM_SIZE) throw tooLarge();
		if (++this.steps > MAX_COMPILE_STEPS) {
			throw new RegexError(
				`the pattern is too large to compile (more than ${MAX_COMPILE_STEPS} steps: repeats of repeats?)`,
				0,
			);
		}
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
	if (compiler.program.length > MAX_PROGRAM_SIZE) throw tooLarge();
	const literal = toPlainLiteral(source);
	if (literal !== undefined) return { source, test: (input) => input.includes(literal) };
	const machine = toMachine(compiler.program);
	const anchored = isAnchoredAtStart(tree);
	return { source, test: (input) => run(machine, input, anchored) };
}

function tooLarge(): RegexError {
	return new RegexError(
		`the pattern is too large (more than ${MAX_PROGRAM_SIZE} instructions: a repetition such as {0,100} counts its item that many times)`,
		0,
	);
}

const CHAR = 0;
const SPLIT = 1;
const JUMP = 2;
const ASSERT = 3;
const MATCH = 4;
const ASSERTIONS = ["start", "end", "word", "notWord"] as const;

/**
 * The program as flat arrays, which the simulation reads far faster than objects and closures:
 * `op` per instruction; `a` its next (char, assert), first branch (split) or target (jump); `b` its
 * second branch (split), assertion (assert) or character class (char). A class's answer for the
 * codes below 256 is a table row (`latin`); above, its test runs.
 */
interface Machine {
	readonly op: Uint8Array;
	readonly a: Int32Array;
	readonly b: Int32Array;
	readonly latin: Uint8Array;
	readonly tests: readonly CharTest[];
	/**
	 * Scratch space, allocated once and reused by every run (a run never yields, so no two
	 * overlap): the two lists of states, the stack (2 × size + 1: each state marked pushes at most
	 * two), and `seen`, whose marks are `epoch` plus the position, so it needs no clearing between runs.
	 */
	readonly scratch: { lists: [Int32Array, Int32Array]; stack: Int32Array; seen: Int32Array; epoch: number };
}

/** Marks stay below 2^31: past this, `seen` is cleared and the epochs start again. */
const MAX_EPOCH = 2 ** 30;

function toMachine(program: readonly Instruction[]): Machine {
	const size = program.length;
	const op = new Uint8Array(size);
	const a = new Int32Array(size);
	const b = new Int32Array(size);
	const classes = new Map<CharTest, number>();
	const tests: CharTest[] = [];
	program.forEach((instruction, pc) => {
		switch (instruction.op) {
			case "char": {
				let index = classes.get(instruction.test);
				if (index === undefined) {
					index = tests.length;
					classes.set(instruction.test, index);
					tests.push(instruction.test);
				}
				[op[pc], a[pc], b[pc]] = [CHAR, instruction.next, index];
				break;
			}
			case "split":
				[op[pc], a[pc], b[pc]] = [SPLIT, instruction.x, instruction.y];
				break;
			case "jump":
				[op[pc], a[pc]] = [JUMP, instruction.to];
				break;
			case "assert":
				[op[pc], a[pc], b[pc]] = [ASSERT, instruction.next, ASSERTIONS.indexOf(instruction.kind)];
				break;
			case "match":
				op[pc] = MATCH;
				break;
		}
	});
	const latin = new Uint8Array(tests.length * 256);
	tests.forEach((test, index) => {
		for (let code = 0; code < 256; code++) latin[index * 256 + code] = test(code) ? 1 : 0;
	});
	const scratch = {
		lists: [new Int32Array(size), new Int32Array(size)] as [Int32Array, Int32Array],
		stack: new Int32Array(2 * size + 1),
		seen: new Int32Array(size).fill(-1),
		epoch: 0,
	};
	return { op, a, b, latin, tests, scratch };
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
function run(machine: Machine, input: string, anchored: boolean): boolean {
	const { op, a, b, latin, tests, scratch } = machine;
	const length = input.length;
	if (scratch.epoch + length + 1 >= MAX_EPOCH) {
		scratch.seen.fill(-1);
		scratch.epoch = 0;
	}
	// Marks of this run: base + position, above every mark an earlier run left.
	const base = scratch.epoch;
	scratch.epoch += length + 1;
	const { seen, stack } = scratch;
	let [current, next] = scratch.lists;
	let currentLength = 0;

	// Adds `start` and what it reaches without reading, at position `at`, to `list` (holding
	// `listLength` states); the list's new length, or -1 when that reaches a match.
	const add = (list: Int32Array, listLength: number, start: number, at: number, mark: number): number => {
		let top = 0;
		let added = listLength;
		stack[top++] = start;
		while (top > 0) {
			const pc = stack[--top] as number;
			if (seen[pc] === mark) continue;
			seen[pc] = mark;
			switch (op[pc]) {
				case MATCH:
					return -1;
				case JUMP:
					stack[top++] = a[pc] as number;
					break;
				case SPLIT:
					stack[top++] = b[pc] as number;
					stack[top++] = a[pc] as number;
					break;
				case ASSERT:
					if (holds(b[pc] as number, input, at, length)) stack[top++] = a[pc] as number;
					break;
				default:
					list[added++] = pc;
			}
		}
		return added;
	};

	for (let at = 0; at <= length; at++) {
		if (at === 0 || !anchored) {
			currentLength = add(current, currentLength, 0, at, base + at);
			if (currentLength < 0) return true;
		}
		if (at === length || (anchored && currentLength === 0)) break;
		const code = input.charCodeAt(at);
		let nextLength = 0;
		for (let i = 0; i < currentLength; i++) {
			const pc = current[i] as number;
			const index = b[pc] as number;
			if (code < 256 ? latin[index * 256 + code] === 1 : (tests[index] as CharTest)(code)) {
				nextLength = add(next, nextLength, a[pc] as number, at + 1, base + at + 1);
				if (nextLength < 0) return true;
			}
		}
		[current, next] = [next, current];
		currentLength = nextLength;
	}
	return false;
}

/** Whether an assertion (its index in ASSERTIONS) holds at position `at`. */
function holds(kind: number, input: string, at: number, length: number): boolean {
	if (kind === 0) return at === 0;
	if (kind === 1) return at === length;
	const before = at > 0 && isWord(input.charCodeAt(at - 1));
	const after = at < length && isWord(input.charCodeAt(at));
	return (before !== after) === (kind === 2);
}
