/**
 * The syntax of the regular expressions `matches` takes: Rust's regex syntax, the parts of it rules
 * use (literals, `.`, classes and ranges, \d \w \s, anchors ^ $ \A \z \b, groups, alternation,
 * * + ? {m,n} and their lazy forms, a leading (?i)), parsed into a tree for regex.ts to compile.
 * Refused as Rust refuses them: backreferences and lookaround. Pure.
 *
 * Reference: https://docs.rs/regex/#syntax
 */

/** A pattern that cannot be compiled: what is wrong, and at which character of the pattern (0-based). */
export class RegexError extends Error {
	readonly position: number;

	constructor(message: string, position: number) {
		super(message);
		this.position = position;
	}
}

export type CharTest = (code: number) => boolean;

/** The parsed pattern, before it becomes instructions. */
export type Node =
	| { readonly kind: "empty" }
	| { readonly kind: "char"; readonly test: CharTest }
	| { readonly kind: "assert"; readonly assertion: "start" | "end" | "word" | "notWord" }
	| { readonly kind: "concat"; readonly items: readonly Node[] }
	| { readonly kind: "alt"; readonly items: readonly Node[] }
	| { readonly kind: "repeat"; readonly item: Node; readonly min: number; readonly max: number };

export const UNBOUNDED = -1;
/** Largest count of a counted repetition ({m,n}): each counts its item that many times (regex.ts). */
export const MAX_REPEAT = 100;

const isDigit: CharTest = (c) => c >= 48 && c <= 57;
export const isWord: CharTest = (c) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace: CharTest = (c) => c === 32 || (c >= 9 && c <= 13);
const not =
	(test: CharTest): CharTest =>
	(c) =>
		!test(c);

const toLower = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);
const toUpper = (c: number) => (c >= 97 && c <= 122 ? c - 32 : c);

export class Parser {
	private at = 0;
	private caseless = false;
	private readonly source: string;

	constructor(source: string) {
		this.source = source;
	}

	parse(): Node {
		if (this.source.startsWith("(?i)")) {
			this.caseless = true;
			this.at = 4;
		}
		const node = this.alternation();
		if (this.at < this.source.length) this.fail(`unmatched ")"`);
		return node;
	}

	private fail(message: string, position = this.at): never {
		throw new RegexError(message, position);
	}

	private peek(): string | undefined {
		return this.source[this.at];
	}

	private alternation(): Node {
		const items = [this.concatenation()];
		while (this.peek() === "|") {
			this.at++;
			items.push(this.concatenation());
		}
		return items.length === 1 ? (items[0] as Node) : { kind: "alt", items };
	}

	private concatenation(): Node {
		const items: Node[] = [];
		for (let c = this.peek(); c !== undefined && c !== "|" && c !== ")"; c = this.peek()) {
			items.push(this.repetition(this.atom()));
		}
		if (items.length === 0) return { kind: "empty" };
		return items.length === 1 ? (items[0] as Node) : { kind: "concat", items };
	}

	/** One quantifier at most (a second one, as in a**, is "nothing to repeat", as Rust says). */
	private repetition(item: Node): Node {
		let node = item;
		const c = this.peek();
		if (c === "*" || c === "+" || c === "?" || c === "{") {
			const start = this.at;
			let min: number;
			let max: number;
			if (c === "{") {
				const bounds = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.at));
				if (!bounds) this.fail("a repetition such as {2}, {2,} or {2,5}");
				min = Number(bounds[1]);
				max = bounds[2] === undefined ? min : bounds[3] === "" ? UNBOUNDED : Number(bounds[3]);
				if (min > MAX_REPEAT || max > MAX_REPEAT) this.fail(`a repetition count above ${MAX_REPEAT}`, start);
				if (max !== UNBOUNDED && max < min) this.fail("a repetition whose maximum is below its minimum", start);
				this.at += bounds[0].length;
			} else {
				this.at++;
				[min, max] = c === "*" ? [0, UNBOUNDED] : c === "+" ? [1, UNBOUNDED] : [0, 1];
			}
			if (node.kind === "assert" || node.kind === "empty") this.fail("nothing to repeat", start);
			// A lazy quantifier matches the same strings: only which match is found differs.
			if (this.peek() === "?") this.at++;
			node = { kind: "repeat", item: node, min, max };
		}
		return node;
	}

	private atom(): Node {
		const start = this.at;
		const c = this.source[this.at++] as string;
		switch (c) {
			case "(":
				return this.group(start);
			case "[":
				return { kind: "char", test: this.charClass() };
			case ".":
				return { kind: "char", test: (code) => code !== 10 };
			case "^":
				return { kind: "assert", assertion: "start" };
			case "$":
				return { kind: "assert", assertion: "end" };
			case "\\":
				return this.escape();
			case "*":
			case "+":
			case "?":
			case "{":
				return this.fail("nothing to repeat", start);
			default:
				return this.literal(c.charCodeAt(0));
		}
	}

	private literal(code: number): Node {
		if (!this.caseless) return { kind: "char", test: (c) => c === code };
		const lower = toLower(code);
		return { kind: "char", test: (c) => toLower(c) === lower };
	}

	private group(start: number): Node {
		if (this.source.startsWith("?", this.at)) {
			const rest = this.source.slice(this.at);
			if (/^\?(=|!|<=|<!)/.test(rest))
				this.fail("lookaround is not supported (regular expressions run in linear time)", start);
			const named = /^\?P?<[A-Za-z_][A-Za-z0-9_]*>/.exec(rest);
			if (named) this.at += named[0].length;
			else if (rest.startsWith("?:")) this.at += 2;
			else this.fail("an unsupported group: use (…), (?:…) or (?P<name>…)", start);
		}
		const inner = this.alternation();
		if (this.peek() !== ")") this.fail(`unclosed "("`, start);
		this.at++;
		return inner;
	}

	/** After a backslash, outside a class: an escaped character, a class (\d \w \s) or an assertion. */
	private escape(): Node {
		const start = this.at - 1;
		const c = this.source[this.at];
		if (c === "b" || c === "B") {
			this.at++;
			return { kind: "assert", assertion: c === "b" ? "word" : "notWord" };
		}
		if (c === "A" || c === "z") {
			this.at++;
			return { kind: "assert", assertion: c === "A" ? "start" : "end" };
		}
		const escaped = this.classEscape(start);
		return typeof escaped === "number" ? this.literal(escaped) : { kind: "char", test: escaped };
	}

	/** After a backslash: a perl class (\d \w \s and negations) as a test, else the character's code. */
	private classEscape(start: number): CharTest | number {
		const c = this.source[this.at++];
		if (c === undefined) return this.fail("a pattern ending in a lone backslash", start);
		const classes: Record<string, CharTest> = {
			d: isDigit,
			D: not(isDigit),
			w: isWord,
			W: not(isWord),
			s: isSpace,
			S: not(isSpace),
		};
		const known = classes[c];
		if (known) return known;
		if (/[1-9]/.test(c)) {
			return this.fail("backreferences are not supported (regular expressions run in linear time)", start);
		}
		return this.escapedCode(c, start);
	}

	private escapedCode(c: string, start: number): number {
		const named: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, "0": 0 };
		if (named[c] !== undefined) return named[c] as number;
		if (c === "x") {
			const hex = /^(\{[0-9A-Fa-f]{1,6}\}|[0-9A-Fa-f]{2})/.exec(this.source.slice(this.at));
			if (!hex) return this.fail("\\x takes two hexadecimal digits or {…}", start);
			this.at += hex[0].length;
			return Number.parseInt(hex[0].replace(/[{}]/g, ""), 16);
		}
		if (/[A-Za-z]/.test(c)) return this.fail(`an unsupported escape "\\${c}"`, start);
		return c.charCodeAt(0);
	}

	/** `[…]` after the "[": ranges, escapes, negation; `]` first is a literal. */
	private charClass(): CharTest {
		const start = this.at - 1;
		const negated = this.peek() === "^";
		if (negated) this.at++;
		const tests: CharTest[] = [];
		const ranges: number[] = [];
		let first = true;
		for (;;) {
			const c = this.source[this.at];
			if (c === undefined) return this.fail(`unclosed "["`, start);
			if (c === "]" && !first) break;
			first = false;
			if (c === "[" && this.source.startsWith("[:", this.at))
				this.fail("POSIX classes are not supported; use \\d, \\w, \\s or ranges");
			this.at++;
			let low: number;
			if (c === "\\") {
				const escaped = this.classEscape(this.at - 1);
				if (typeof escaped !== "number") {
					tests.push(escaped);
					continue;
				}
				low = escaped;
			} else {
				low = c.charCodeAt(0);
			}
			let high = low;
			if (this.peek() === "-" && this.source[this.at + 1] !== "]" && this.source[this.at + 1] !== undefined) {
				this.at++;
				const h = this.source[this.at++] as string;
				const escaped = h === "\\" ? this.classEscape(this.at - 1) : h.charCodeAt(0);
				if (typeof escaped !== "number") this.fail("a class range ending in a class", this.at - 2);
				high = escaped;
				if (high < low) this.fail("a class range out of order", this.at - 1);
			}
			ranges.push(low, high);
		}
		this.at++;
		const caseless = this.caseless;
		const inRanges = (code: number) => {
			for (let i = 0; i < ranges.length; i += 2)
				if (code >= (ranges[i] as number) && code <= (ranges[i + 1] as number)) return true;
			return false;
		};
		const member = (code: number) =>
			inRanges(code) ||
			(caseless && (inRanges(toLower(code)) || inRanges(toUpper(code)))) ||
			tests.some((test) => test(code));
		return negated ? (code) => !member(code) : member;
	}
}
