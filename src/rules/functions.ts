/**
 * The Rules language's functions that load balancing rules may call: `any`, `all` (fold the
 * results of a `[*]` comparison), `lower`, `upper`, `len`, `starts_with`, `ends_with`, `concat`.
 * Each checks its arguments' types when the condition is compiled and returns a typed closure;
 * functions of one string apply to each element after `[*]`. A missing argument makes the result
 * missing (so the comparison around it is false). Pure.
 *
 * Reference: https://developers.cloudflare.com/ruleset-engine/rules-language/functions/
 */
import type { FieldType, RuleScope, RuleValue } from "./fields";
import { RuleSyntaxError } from "./parse";

/** A checked expression: its type, whether it is "each of" ([*]), and how to compute it. */
export interface Typed {
	readonly type: FieldType;
	readonly each: boolean;
	readonly run: (scope: RuleScope) => RuleValue | readonly RuleValue[];
	/** Set for a string literal (starts_with and ends_with want one). */
	readonly constant?: string;
}

type RuleFunction = (args: readonly Typed[], at: number) => Typed;

function arity(name: string, args: readonly Typed[], count: number, at: number): void {
	if (args.length !== count) {
		throw new RuleSyntaxError(`${name}() takes ${count} argument${count === 1 ? "" : "s"}, not ${args.length}`, at);
	}
}

/** any / all: over the true-or-false results of a comparison with [*]. */
function fold(name: "any" | "all"): RuleFunction {
	return (args, at) => {
		arity(name, args, 1, at);
		const [arg] = args as [Typed];
		if (arg.type !== "bool" || !arg.each) {
			throw new RuleSyntaxError(
				`${name}() takes a comparison with [*], such as ${name}(http.request.headers["accept"][*] contains "json")`,
				at,
			);
		}
		const run = arg.run;
		const run2 =
			name === "any"
				? (scope: RuleScope) => (run(scope) as readonly boolean[] | undefined)?.some((value) => value) ?? false
				: (scope: RuleScope) => {
						const values = run(scope) as readonly boolean[] | undefined;
						return values !== undefined && values.length > 0 && values.every((value) => value);
					};
		return { type: "bool", each: false, run: run2 };
	};
}

/** A function of one string (lower, upper), applied to each element after [*]. */
function ofString(name: string, map: (value: string) => string): RuleFunction {
	return (args, at) => {
		arity(name, args, 1, at);
		const [arg] = args as [Typed];
		if (arg.type !== "string") throw new RuleSyntaxError(`${name}() takes a string, not a ${arg.type}`, at);
		const run = arg.run;
		if (arg.each) {
			return {
				type: "string",
				each: true,
				run: (scope) =>
					(run(scope) as readonly (string | undefined)[] | undefined)?.map((value) =>
						value === undefined ? undefined : map(value),
					),
			};
		}
		return {
			type: "string",
			each: false,
			run: (scope) => {
				const value = run(scope) as string | undefined;
				return value === undefined ? undefined : map(value);
			},
		};
	};
}

const encoder = new TextEncoder();
/** Bytes, as the Rules language counts a string's length (ASCII: its characters). */
function byteLength(value: string): number {
	// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is the range \u0000–\u007f
	return /^[\u0000-\u007f]*$/.test(value) ? value.length : encoder.encode(value).length;
}

const len: RuleFunction = (args, at) => {
	arity("len", args, 1, at);
	const [arg] = args as [Typed];
	const run = arg.run;
	if (arg.type === "string" && arg.each) {
		return {
			type: "int",
			each: true,
			run: (scope) =>
				(run(scope) as readonly (string | undefined)[] | undefined)?.map((value) =>
					value === undefined ? undefined : byteLength(value),
				),
		};
	}
	if (arg.type === "string") {
		return {
			type: "int",
			each: false,
			run: (scope) => {
				const value = run(scope) as string | undefined;
				return value === undefined ? undefined : byteLength(value);
			},
		};
	}
	if (arg.type === "array" && !arg.each) {
		return { type: "int", each: false, run: (scope) => (run(scope) as readonly string[] | undefined)?.length };
	}
	throw new RuleSyntaxError(`len() takes a string or an array, not a ${arg.type}`, at);
};

/** starts_with / ends_with: a string (each element after [*]) and a literal string. */
function affix(name: "starts_with" | "ends_with"): RuleFunction {
	return (args, at) => {
		arity(name, args, 2, at);
		const [subject, affixArg] = args as [Typed, Typed];
		if (subject.type !== "string")
			throw new RuleSyntaxError(`${name}() takes a string first, not a ${subject.type}`, at);
		if (affixArg.constant === undefined) throw new RuleSyntaxError(`${name}() takes a string in quotes second`, at);
		const text = affixArg.constant;
		const test =
			name === "starts_with" ? (value: string) => value.startsWith(text) : (value: string) => value.endsWith(text);
		const run = subject.run;
		if (subject.each) {
			return {
				type: "bool",
				each: true,
				run: (scope) =>
					(run(scope) as readonly (string | undefined)[] | undefined)?.map(
						(value) => value !== undefined && test(value),
					),
			};
		}
		return {
			type: "bool",
			each: false,
			run: (scope) => {
				const value = run(scope) as string | undefined;
				return value !== undefined && test(value);
			},
		};
	};
}

/** concat: strings into one string, or arrays into one array (not mixed, not after [*]). */
const concat: RuleFunction = (args, at) => {
	if (args.length < 2) throw new RuleSyntaxError("concat() takes two arguments or more", at);
	const type = args[0]?.type;
	if ((type !== "string" && type !== "array") || args.some((arg) => arg.type !== type || arg.each)) {
		throw new RuleSyntaxError("concat() takes strings, or arrays, all of one kind", at);
	}
	const runs = args.map((arg) => arg.run);
	if (type === "array") {
		return {
			type: "array",
			each: false,
			run: (scope) => {
				const out: string[] = [];
				for (const run of runs) {
					const value = run(scope) as readonly string[] | undefined;
					if (value === undefined) return undefined;
					out.push(...value);
				}
				return out;
			},
		};
	}
	return {
		type: "string",
		each: false,
		run: (scope) => {
			let out = "";
			for (const run of runs) {
				const value = run(scope) as string | undefined;
				if (value === undefined) return undefined;
				out += value;
			}
			return out;
		},
	};
};

export const FUNCTIONS: ReadonlyMap<string, RuleFunction> = new Map<string, RuleFunction>([
	["any", fold("any")],
	["all", fold("all")],
	["lower", ofString("lower", (value) => value.toLowerCase())],
	["upper", ofString("upper", (value) => value.toUpperCase())],
	["len", len],
	["starts_with", affix("starts_with")],
	["ends_with", affix("ends_with")],
	["concat", concat],
]);
