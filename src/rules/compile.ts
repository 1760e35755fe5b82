/**
 * Turns a parsed condition into a function of one request, checking types on the way, so a
 * condition that would fail at run time (a string compared with a number, an unknown field, a
 * map compared without an index) is refused when the configuration is written, naming the
 * character. Compiled once per configuration version; a request then runs closures only, and a
 * field's value is derived only if the condition reads it (fields.ts).
 *
 * Values follow the Rules language: `[*]` turns an array into "each of its elements", which
 * comparisons and functions apply to one by one, and `any(…)` / `all(…)` fold back into true or
 * false. A missing value (an absent header, an index past the end) makes a comparison false,
 * whatever its operator. Pure.
 */
import { FIELDS, type FieldType, type RuleScope, type RuleValue, type StringListMap } from "./fields";
import { FUNCTIONS, type Typed } from "./functions";
import { type IpAddress, type IpRange, isInRange, toIpRange } from "./ip";
import { type ComparisonOperator, type Expression, type Literal, parseCondition, RuleSyntaxError } from "./parse";
import { RegexError, toLinearRegex } from "./regex";

export type { Typed };

/** A condition ready to run: true when the request matches. */
export type Condition = (scope: RuleScope) => boolean;

/** Parses, checks and compiles a condition; throws RuleSyntaxError naming the character. */
export function compileCondition(source: string): Condition {
	const typed = toTyped(parseCondition(source));
	if (typed.type !== "bool" || typed.each) {
		throw new RuleSyntaxError(
			typed.each
				? "a condition with [*] must be folded with any(…) or all(…)"
				: `a condition must be true or false, not a ${typed.type}: compare it (eq, contains, matches, in …)`,
			0,
		);
	}
	const run = typed.run;
	return (scope) => run(scope) === true;
}

function toTyped(node: Expression): Typed {
	switch (node.kind) {
		case "field": {
			const field = FIELDS.get(node.name);
			if (!field) {
				throw new RuleSyntaxError(
					`the field "${node.name}" is not one load balancing rules support (see docs/configuration.md, "Rules")`,
					node.at,
				);
			}
			return { type: field.type, each: false, run: field.read };
		}
		case "index":
			return toIndexed(node);
		case "call": {
			const fn = FUNCTIONS.get(node.name);
			if (!fn) throw new RuleSyntaxError(`unknown function "${node.name}"`, node.at);
			const args = node.args.map((arg) => (isLiteral(arg) ? toConstant(arg) : toTyped(arg)));
			return fn(args, node.at);
		}
		case "not": {
			const operand = toBool(toTyped(node.operand), node.at, "not");
			return { type: "bool", each: false, run: (scope) => !operand(scope) };
		}
		case "logic": {
			const left = toBool(toTyped(node.left), node.left.at, node.op);
			const right = toBool(toTyped(node.right), node.right.at, node.op);
			const run =
				node.op === "and"
					? (scope: RuleScope) => left(scope) && right(scope)
					: node.op === "or"
						? (scope: RuleScope) => left(scope) || right(scope)
						: (scope: RuleScope) => left(scope) !== right(scope);
			return { type: "bool", each: false, run };
		}
		case "compare":
			return toComparison(node.op, toTyped(node.left), node.right, node.at);
	}
}

function isLiteral(node: Expression | Literal): node is Literal {
	return node.kind === "string" || node.kind === "int" || node.kind === "ip" || node.kind === "range";
}

function toConstant(literal: Literal): Typed {
	if (literal.kind === "string")
		return { type: "string", each: false, run: () => literal.value, constant: literal.value };
	if (literal.kind === "int") return { type: "int", each: false, run: () => literal.value };
	throw new RuleSyntaxError("an IP address or range can only be compared with ip.src", literal.at);
}

function toBool(typed: Typed, at: number, operator: string): (scope: RuleScope) => boolean {
	if (typed.type !== "bool" || typed.each) {
		throw new RuleSyntaxError(
			`"${operator}" takes true or false, not ${typed.each ? "[*] values" : `a ${typed.type}`}`,
			at,
		);
	}
	const run = typed.run;
	return (scope) => run(scope) === true;
}

function toIndexed(node: Extract<Expression, { kind: "index" }>): Typed {
	const target = toTyped(node.target);
	if (target.each) throw new RuleSyntaxError("[…] after [*] is not supported", node.at);
	const run = target.run;
	if (target.type === "map") {
		if (typeof node.key !== "string") {
			throw new RuleSyntaxError('a map is indexed by a key in quotes, such as ["content-type"]', node.at);
		}
		const key = node.key;
		// One header by name: asked of the request, not of the whole map (the runtime joins a repeated one's values).
		if (node.target.kind === "field" && node.target.name === "http.request.headers") {
			checkHeaderKey(key, node.keyAt);
			return {
				type: "array",
				each: false,
				run: (scope) => {
					const value = scope.request.headers.get(key);
					return value === null ? undefined : [value];
				},
			};
		}
		return { type: "array", each: false, run: (scope) => (run(scope) as StringListMap | undefined)?.get(key) };
	}
	if (target.type === "array") {
		if (node.key === "*") {
			return { type: "string", each: true, run: (scope) => run(scope) as readonly string[] | undefined };
		}
		if (typeof node.key !== "number") throw new RuleSyntaxError("an array is indexed by a number or *", node.at);
		const index = node.key;
		return { type: "string", each: false, run: (scope) => (run(scope) as readonly string[] | undefined)?.[index] };
	}
	throw new RuleSyntaxError(`a ${target.type} cannot be indexed`, node.at);
}

/** A header name as `http.request.headers` keys it: an RFC 9110 token, lower-cased. */
const HEADER_KEY_CHARACTER = /[!#$%&'*+.^_`|~0-9a-z-]/;

/**
 * Refuses a header key no request can have: `Headers.get` throws on a name that is not a token
 * (which would fail every request), and the map's keys are lower case, as Cloudflare's are, so
 * ["X-Foo"] would silently never match. `keyAt`: where the key's text begins in the condition.
 */
function checkHeaderKey(key: string, keyAt: number): void {
	if (key === "") throw new RuleSyntaxError("a header name cannot be empty", keyAt);
	for (let i = 0; i < key.length; i++) {
		const c = key[i] as string;
		if (HEADER_KEY_CHARACTER.test(c)) continue;
		if (c >= "A" && c <= "Z") {
			throw new RuleSyntaxError(
				`header names are lower case in http.request.headers, as Cloudflare's are: write ["${key.toLowerCase()}"]`,
				keyAt + i,
			);
		}
		throw new RuleSyntaxError(`${toCharacterName(c)} cannot be part of a header name`, keyAt + i);
	}
}

/** A character as an error names it: quoted when printable ASCII, with its code point otherwise. */
function toCharacterName(c: string): string {
	const code = c.codePointAt(0) as number;
	const point = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
	if (code > 0x20 && code < 0x7f) return `"${c}"`;
	return code === 0x20 || code > 0x7f ? `"${c}" (${point})` : point;
}

/** What the left side's type may be compared with, and by which operators. */
const OPERATORS: Readonly<Record<"string" | "int" | "ip", readonly ComparisonOperator[]>> = {
	string: ["eq", "ne", "lt", "le", "gt", "ge", "contains", "matches", "in"],
	int: ["eq", "ne", "lt", "le", "gt", "ge", "in"],
	ip: ["eq", "ne", "in"],
};

function toComparison(op: ComparisonOperator, left: Typed, right: Literal | readonly Literal[], at: number): Typed {
	const type = left.type as FieldType;
	if (type === "array" || type === "map") {
		throw new RuleSyntaxError(
			`an ${type} cannot be compared: pick an element ([0], ["name"]) or each of them ([*])`,
			at,
		);
	}
	if (type === "bool") throw new RuleSyntaxError("true or false cannot be compared: use it as it is, or with not", at);
	if (!OPERATORS[type].includes(op)) {
		throw new RuleSyntaxError(
			`"${op}" does not apply to a${type === "int" ? "n integer" : type === "ip" ? "n IP address" : " string"}`,
			at,
		);
	}
	const test = toTest(op, type, right);
	const run = left.run;
	if (left.each) {
		return {
			type: "bool",
			each: true,
			run: (scope) => {
				const values = run(scope) as readonly RuleValue[] | undefined;
				return values?.map((value) => value !== undefined && test(value));
			},
		};
	}
	return {
		type: "bool",
		each: false,
		run: (scope) => {
			const value = run(scope) as RuleValue;
			return value !== undefined && test(value);
		},
	};
}

/** The comparison of one present value with the literal(s), built once. */
function toTest(
	op: ComparisonOperator,
	type: "string" | "int" | "ip",
	right: Literal | readonly Literal[],
): (value: RuleValue) => boolean {
	if (op === "in") return toSetTest(type, right as readonly Literal[]);
	const literal = right as Literal;
	if (type === "ip") {
		const range = toRangeLiteral(literal);
		return op === "eq"
			? (value) => isInRange(value as IpAddress, range)
			: (value) => !isInRange(value as IpAddress, range);
	}
	if (type === "int") {
		if (literal.kind !== "int") throw new RuleSyntaxError("an integer field is compared with an integer", literal.at);
		const n = literal.value;
		const compare: Record<string, (v: number) => boolean> = {
			eq: (v) => v === n,
			ne: (v) => v !== n,
			lt: (v) => v < n,
			le: (v) => v <= n,
			gt: (v) => v > n,
			ge: (v) => v >= n,
		};
		const fn = compare[op] as (v: number) => boolean;
		return (value) => fn(value as number);
	}
	if (literal.kind !== "string")
		throw new RuleSyntaxError('a string is compared with a string in quotes ("…")', literal.at);
	const s = literal.value;
	switch (op) {
		case "eq":
			return (value) => value === s;
		case "ne":
			return (value) => value !== s;
		case "lt":
			return (value) => (value as string) < s;
		case "le":
			return (value) => (value as string) <= s;
		case "gt":
			return (value) => (value as string) > s;
		case "ge":
			return (value) => (value as string) >= s;
		case "contains":
			return (value) => (value as string).includes(s);
		default: {
			const regex = toRegexLiteral(literal);
			return (value) => regex.test(value as string);
		}
	}
}

function toRegexLiteral(literal: Extract<Literal, { kind: "string" }>) {
	try {
		return toLinearRegex(literal.value);
	} catch (error) {
		if (error instanceof RegexError) {
			throw new RuleSyntaxError(`in the regular expression: ${error.message}`, literal.at + 1 + error.position);
		}
		throw error;
	}
}

function toRangeLiteral(literal: Literal): IpRange {
	const range = literal.kind === "ip" ? toIpRange(literal.text) : undefined;
	if (!range) throw new RuleSyntaxError("expected an IP address or CIDR range such as 192.0.2.0/24", literal.at);
	return range;
}

function toSetTest(type: "string" | "int" | "ip", items: readonly Literal[]): (value: RuleValue) => boolean {
	if (type === "ip") {
		const ranges = items.map(toRangeLiteral);
		return (value) => ranges.some((range) => isInRange(value as IpAddress, range));
	}
	if (type === "int") {
		const singles = new Set<number>();
		const spans: [number, number][] = [];
		for (const item of items) {
			if (item.kind === "int") singles.add(item.value);
			else if (item.kind === "range") spans.push([item.from, item.to]);
			else throw new RuleSyntaxError("a set for an integer field holds integers and ranges (80..90)", item.at);
		}
		return (value) =>
			singles.has(value as number) || spans.some(([from, to]) => (value as number) >= from && (value as number) <= to);
	}
	const strings = new Set<string>();
	for (const item of items) {
		if (item.kind !== "string")
			throw new RuleSyntaxError('a set for a string field holds strings in quotes ("…")', item.at);
		strings.add(item.value);
	}
	return (value) => strings.has(value as string);
}
