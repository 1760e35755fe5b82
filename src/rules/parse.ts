/**
 * The Rules language's syntax, as Cloudflare's load balancing rules write conditions: a tokenizer
 * and a recursive-descent parser into a tree whose every node knows where in the condition it
 * began, so an error can name the character. Precedence, tightest first: `not`, `and`, `xor`,
 * `or` (Cloudflare's order); comparisons take a field or function on the left and a literal on
 * the right. Types are checked later (compile.ts). Pure.
 *
 * Reference: https://developers.cloudflare.com/ruleset-engine/rules-language/ (expressions,
 * operators, values); https://developers.cloudflare.com/load-balancing/additional-options/load-balancing-rules/expressions/
 */

/** A condition that does not parse or type-check: what is wrong and where (0-based index into the condition). */
export class RuleSyntaxError extends Error {
	readonly position: number;

	constructor(message: string, position: number) {
		super(message);
		this.position = position;
	}
}

/** Longest condition accepted (Cloudflare's own limit for an expression is 4,096 characters). */
export const MAX_CONDITION_LENGTH = 4096;

/** Deepest nesting of (…), not and calls: parser and compiler recurse per level (2,000 overflowed). */
export const MAX_NESTING_DEPTH = 64;

export type Token =
	| { readonly kind: "word"; readonly text: string; readonly at: number }
	/** `textAt`: where the string's text begins (after its opening quote). */
	| { readonly kind: "string"; readonly text: string; readonly at: number; readonly textAt: number }
	| { readonly kind: "int"; readonly value: number; readonly at: number }
	| { readonly kind: "ip"; readonly text: string; readonly at: number }
	| { readonly kind: "punct"; readonly text: string; readonly at: number }
	| { readonly kind: "end"; readonly at: number };

const PUNCTUATION = [
	"==",
	"!=",
	"<=",
	">=",
	"&&",
	"||",
	"^^",
	"..",
	"<",
	">",
	"~",
	"!",
	"(",
	")",
	"{",
	"}",
	"[",
	"]",
	",",
	"*",
];
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?/;
/** Two colons at least, which no field name or number has. */
const IPV6 = /^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}(\.\d{1,3}){0,3}(\/\d{1,3})?/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/;

export function tokenize(source: string): Token[] {
	if (source.length > MAX_CONDITION_LENGTH) {
		throw new RuleSyntaxError(`the condition is longer than ${MAX_CONDITION_LENGTH} characters`, MAX_CONDITION_LENGTH);
	}
	const tokens: Token[] = [];
	let at = 0;
	while (at < source.length) {
		const c = source[at] as string;
		if (/\s/.test(c)) {
			at++;
			continue;
		}
		const rest = source.slice(at);
		const ip = IPV6.exec(rest) ?? IPV4.exec(rest);
		if (ip) {
			tokens.push({ kind: "ip", text: ip[0], at });
			at += ip[0].length;
			continue;
		}
		if (c === '"' || (c === "r" && /^r#*"/.test(rest))) {
			const { text, length, textAt } = readString(source, at);
			tokens.push({ kind: "string", text, at, textAt });
			at += length;
			continue;
		}
		const digits = /^\d+/.exec(rest);
		if (digits) {
			const value = Number(digits[0]);
			if (!Number.isSafeInteger(value)) throw new RuleSyntaxError("an integer too large", at);
			tokens.push({ kind: "int", value, at });
			at += digits[0].length;
			continue;
		}
		const word = WORD.exec(rest);
		if (word) {
			tokens.push({ kind: "word", text: word[0], at });
			at += word[0].length;
			continue;
		}
		if (c === "$") throw new RuleSyntaxError("named lists ($name) are not supported", at);
		const punct = PUNCTUATION.find((p) => rest.startsWith(p));
		if (!punct) throw new RuleSyntaxError(`unexpected character "${c}"`, at);
		tokens.push({ kind: "punct", text: punct, at });
		at += punct.length;
	}
	tokens.push({ kind: "end", at: source.length });
	return tokens;
}

/** A quoted string ("…" with \" and \\ escapes) or a raw one (r"…", r#"…"#); `length` is of its source. */
function readString(source: string, start: number): { text: string; length: number; textAt: number } {
	if (source[start] === "r") {
		const hashes = (/^r(#*)"/.exec(source.slice(start)) as RegExpExecArray)[1] as string;
		const open = start + 2 + hashes.length;
		const close = source.indexOf(`"${hashes}`, open);
		if (close === -1) throw new RuleSyntaxError("an unterminated raw string", start);
		return { text: source.slice(open, close), length: close + 1 + hashes.length - start, textAt: open };
	}
	let text = "";
	for (let at = start + 1; at < source.length; at++) {
		const c = source[at] as string;
		if (c === '"') return { text, length: at + 1 - start, textAt: start + 1 };
		if (c === "\\") {
			const next = source[at + 1];
			if (next !== '"' && next !== "\\") {
				throw new RuleSyntaxError('in a string, a backslash escapes only " and \\ (use a raw string r"…")', at);
			}
			text += next;
			at++;
			continue;
		}
		text += c;
	}
	throw new RuleSyntaxError("an unterminated string", start);
}

export type Literal =
	| { readonly kind: "string"; readonly value: string; readonly at: number }
	| { readonly kind: "int"; readonly value: number; readonly at: number }
	| { readonly kind: "range"; readonly from: number; readonly to: number; readonly at: number }
	| { readonly kind: "ip"; readonly text: string; readonly at: number };

export type Expression =
	| { readonly kind: "field"; readonly name: string; readonly at: number }
	| {
			readonly kind: "index";
			readonly target: Expression;
			readonly key: string | number | "*";
			readonly at: number;
			/** Where a string key's text begins in the condition (after its quote). */
			readonly keyAt: number;
	  }
	| {
			readonly kind: "call";
			readonly name: string;
			readonly args: readonly (Expression | Literal)[];
			readonly at: number;
	  }
	| {
			readonly kind: "compare";
			readonly op: ComparisonOperator;
			readonly left: Expression;
			readonly right: Literal | readonly Literal[];
			readonly at: number;
	  }
	| { readonly kind: "not"; readonly operand: Expression; readonly at: number }
	| {
			readonly kind: "logic";
			readonly op: "and" | "or" | "xor";
			readonly left: Expression;
			readonly right: Expression;
			readonly at: number;
	  };

export type ComparisonOperator = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "contains" | "matches" | "in";

/** Symbol or name → the operator's name. */
const COMPARISONS: Readonly<Record<string, ComparisonOperator>> = {
	eq: "eq",
	"==": "eq",
	ne: "ne",
	"!=": "ne",
	lt: "lt",
	"<": "lt",
	le: "le",
	"<=": "le",
	gt: "gt",
	">": "gt",
	ge: "ge",
	">=": "ge",
	contains: "contains",
	matches: "matches",
	"~": "matches",
	in: "in",
};
const LOGIC: Readonly<Record<string, "and" | "or" | "xor">> = {
	and: "and",
	"&&": "and",
	or: "or",
	"||": "or",
	xor: "xor",
	"^^": "xor",
};
/** Operators of the Rules language this version does not run: a clear refusal rather than "unexpected". */
const UNSUPPORTED = new Set(["wildcard", "strict", "bitwise_and", "&"]);

/** Parses a condition; throws RuleSyntaxError naming the character where it goes wrong. */
export function parseCondition(source: string): Expression {
	const parser = new Parser(tokenize(source));
	const expression = parser.expression();
	parser.expectEnd();
	return expression;
}

class Parser {
	private at = 0;
	private depth = 0;
	private readonly tokens: Token[];

	constructor(tokens: Token[]) {
		this.tokens = tokens;
	}

	private peek(): Token {
		return this.tokens[this.at] as Token;
	}

	private next(): Token {
		return this.tokens[this.at++] as Token;
	}

	private textOf(token: Token): string | undefined {
		return token.kind === "word" || token.kind === "punct" ? token.text : undefined;
	}

	private fail(message: string, token: Token = this.peek()): never {
		throw new RuleSyntaxError(message, token.at);
	}

	private expect(text: string, what = `"${text}"`): Token {
		const token = this.next();
		if (this.textOf(token) !== text) this.fail(`expected ${what}, found ${describe(token)}`, token);
		return token;
	}

	expectEnd(): void {
		const token = this.peek();
		if (token.kind !== "end") this.fail(`expected an operator (and, or, xor) or the end, found ${describe(token)}`);
	}

	expression(): Expression {
		return this.logic(["or", "xor", "and"]);
	}

	/** Runs `parse` one nesting level deeper; refuses a level past MAX_NESTING_DEPTH, naming where. */
	private nested<T>(token: Token, parse: () => T): T {
		if (++this.depth > MAX_NESTING_DEPTH) {
			this.fail(`nested more than ${MAX_NESTING_DEPTH} levels deep (parentheses, not, function calls)`, token);
		}
		try {
			return parse();
		} finally {
			this.depth--;
		}
	}

	/** Left-associative logic, loosest first: or, then xor, then and. */
	private logic(levels: readonly ("and" | "or" | "xor")[]): Expression {
		const [op, ...tighter] = levels;
		if (op === undefined) return this.negation();
		let left = this.logic(tighter);
		for (;;) {
			const token = this.peek();
			const text = this.textOf(token);
			if (text === undefined || LOGIC[text] !== op) return left;
			this.next();
			const right = this.logic(tighter);
			left = { kind: "logic", op, left, right, at: token.at };
		}
	}

	private negation(): Expression {
		const token = this.peek();
		const text = this.textOf(token);
		if (text === "not" || text === "!") {
			this.next();
			return { kind: "not", operand: this.nested(token, () => this.negation()), at: token.at };
		}
		return this.comparison();
	}

	private comparison(): Expression {
		const left = this.operand();
		const token = this.peek();
		const text = this.textOf(token);
		if (text !== undefined && UNSUPPORTED.has(text)) this.fail(`the operator "${text}" is not supported`, token);
		const op = text === undefined ? undefined : COMPARISONS[text];
		if (op === undefined) return left;
		this.next();
		if (op === "in") {
			const open = this.peek();
			this.expect("{", '"{" opening a set of values');
			const items: Literal[] = [];
			while (!(this.peek().kind === "punct" && this.textOf(this.peek()) === "}")) {
				if (this.peek().kind === "end") this.fail('expected "}" closing the set');
				items.push(this.literal(true));
			}
			this.next();
			if (items.length === 0) this.fail("an empty set", open);
			return { kind: "compare", op, left, right: items, at: token.at };
		}
		return { kind: "compare", op, left, right: this.literal(false), at: token.at };
	}

	/** A field (with indexes), a function call, or a parenthesised expression. */
	private operand(): Expression {
		const token = this.next();
		if (token.kind === "punct" && token.text === "(") {
			const inner = this.nested(token, () => this.expression());
			this.expect(")", '")"');
			return inner;
		}
		if (token.kind !== "word") {
			this.fail(`expected a field, a function or "(", found ${describe(token)}`, token);
		}
		let expression: Expression;
		if (this.textOf(this.peek()) === "(") {
			this.next();
			const args: (Expression | Literal)[] = [];
			if (this.textOf(this.peek()) !== ")") {
				for (;;) {
					const argument = this.peek();
					args.push(
						argument.kind === "string" || argument.kind === "int" || argument.kind === "ip"
							? this.literal(false)
							: this.nested(token, () => this.expression()),
					);
					if (this.textOf(this.peek()) !== ",") break;
					this.next();
				}
			}
			this.expect(")", '")" closing the arguments');
			expression = { kind: "call", name: token.text, args, at: token.at };
		} else {
			expression = { kind: "field", name: token.text, at: token.at };
		}
		while (this.textOf(this.peek()) === "[") {
			const open = this.next();
			const key = this.next();
			let index: string | number | "*";
			if (key.kind === "string") index = key.text;
			else if (key.kind === "int") index = key.value;
			else if (key.kind === "punct" && key.text === "*") index = "*";
			else this.fail(`expected a key ("name"), an index (0) or *, found ${describe(key)}`, key);
			this.expect("]", '"]"');
			const keyAt = key.kind === "string" ? key.textAt : key.at;
			expression = { kind: "index", target: expression, key: index, at: open.at, keyAt };
		}
		return expression;
	}

	/** A value on the right of a comparison; in a set also an integer range (80..90). */
	private literal(inSet: boolean): Literal {
		const token = this.next();
		if (token.kind === "string") return { kind: "string", value: token.text, at: token.at };
		if (token.kind === "ip") return { kind: "ip", text: token.text, at: token.at };
		if (token.kind === "int") {
			if (inSet && this.textOf(this.peek()) === "..") {
				this.next();
				const end = this.next();
				if (end.kind !== "int") this.fail(`expected the integer ending the range, found ${describe(end)}`, end);
				if (end.value < token.value) this.fail("a range whose end is below its start", end);
				return { kind: "range", from: token.value, to: end.value, at: token.at };
			}
			return { kind: "int", value: token.value, at: token.at };
		}
		return this.fail(`expected a value (a "string", an integer or an IP address), found ${describe(token)}`, token);
	}
}

function describe(token: Token): string {
	switch (token.kind) {
		case "end":
			return "the end of the condition";
		case "string":
			return `the string "${token.text}"`;
		case "int":
			return `the integer ${token.value}`;
		default:
			return `"${token.text}"`;
	}
}
