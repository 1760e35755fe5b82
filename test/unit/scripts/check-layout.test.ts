/** scripts/check-layout.ts: import cycles, the layer rules and the size limit, on small trees in a temp directory. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeLayout, checkLayout, parseImports, type Violation } from "../../../scripts/check-layout.ts";

const roots: string[] = [];
afterAll(() => {
	for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A source root holding these files (path relative to the root → text). */
function tree(files: Record<string, string>): string {
	const root = mkdtempSync(join(tmpdir(), "switchyard-layout-"));
	roots.push(root);
	for (const [path, text] of Object.entries(files)) {
		mkdirSync(dirname(join(root, path)), { recursive: true });
		writeFileSync(join(root, path), text);
	}
	return root;
}

/** `rule file:line`, the violations' essentials, in report order. */
const where = (violations: Violation[]) => violations.map((v) => `${v.rule} ${v.file}:${v.line}`);

const lines = (count: number) => Array.from({ length: count }, (_, i) => `export const v${i} = ${i};\n`).join("");

describe("check-layout: a clean tree", () => {
	it("reports nothing when every rule holds", () => {
		const root = tree({
			"index.ts": 'import { handle } from "./proxy/proxy";\nimport { Registry } from "./registry/registry";\n',
			"contract/route.ts": 'import type { Id } from "./ids";\nexport interface Route { id: Id }\n',
			"contract/ids.ts": "export type Id = string;\n",
			"config/schema.ts": 'import { z } from "zod";\nimport type { Id } from "../contract/ids";\n',
			"routing/plan.ts": 'import type { Route } from "../contract/route";\nimport { pick } from "../balancing";\n',
			"balancing/index.ts": 'export { pick } from "./policy";\n',
			"balancing/policy.ts": "export const pick = () => 0;\n",
			"proxy/proxy.ts":
				'import { DurableObject } from "cloudflare:workers";\nimport type { Route } from "../contract/route";\nimport { plan } from "../routing/plan";\n',
			"registry/registry.ts":
				'import { DurableObject } from "cloudflare:workers";\nimport { plan } from "../routing/plan";\n',
		});
		expect(checkLayout(root)).toEqual([]);
		expect(analyzeLayout(root)).toMatchObject({ files: 9, cycles: [] });
	});
});

describe("check-layout: import cycles", () => {
	it("finds a two-file cycle, once, at the first file's import of the second", () => {
		const root = tree({
			"a.ts": '// a\nimport { b } from "./b";\nexport const a = 1;\n',
			"b.ts": 'import { a } from "./a";\nexport const b = 2;\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["cycle a.ts:2"]);
		expect(violations[0]?.message).toBe("import cycle: a.ts → b.ts → a.ts");
		expect(analyzeLayout(root).cycles).toEqual([["a.ts", "b.ts", "a.ts"]]);
	});

	it("finds a three-file cycle made only of type imports and type re-exports", () => {
		const root = tree({
			"routing/x.ts": 'import type { Y } from "./y";\nexport interface X { y: Y }\n',
			"routing/y.ts": '\n\nexport type { Z as Y } from "./z";\n',
			"routing/z.ts": 'import type { X } from "./x";\nexport type Z = X[];\n',
			"routing/leaf.ts": 'import type { X } from "./x";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["cycle routing/x.ts:1"]);
		expect(violations[0]?.message).toBe("import cycle: routing/x.ts → routing/y.ts → routing/z.ts → routing/x.ts");
	});

	it("counts dynamic import() and side-effect imports, and names every file of a larger component", () => {
		const root = tree({
			"a.ts": 'export const load = () => import("./b");\n',
			"b.ts": 'import "./a";\nimport "./c";\n',
			"c.ts": 'export * from "./b";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["cycle a.ts:1"]);
		expect(violations[0]?.message).toBe(
			"import cycle: a.ts → b.ts → a.ts (3 files import each other: a.ts, b.ts, c.ts)",
		);
	});

	it("reports two separate cycles separately", () => {
		const root = tree({
			"a.ts": 'import "./b";\n',
			"b.ts": 'import "./a";\n',
			"m/x.ts": 'import "./y";\n',
			"m/y.ts": 'import "./x";\n',
			"m/self.ts": 'import "./self";\n',
		});
		expect(analyzeLayout(root).cycles).toEqual([
			["a.ts", "b.ts", "a.ts"],
			["m/self.ts", "m/self.ts"],
			["m/x.ts", "m/y.ts", "m/x.ts"],
		]);
	});

	it("resolves ./dir to dir/index.ts", () => {
		const root = tree({
			"app.ts": 'import { lib } from "./lib";\nexport const app = lib;\n',
			"lib/index.ts": 'export { lib } from "./impl";\n',
			"lib/impl.ts": 'import { app } from "../app";\nexport const lib = 1;\n',
		});
		expect(checkLayout(root).map((v) => v.message)).toEqual([
			"import cycle: app.ts → lib/index.ts → lib/impl.ts → app.ts",
		]);
	});
});

describe("check-layout: layer rules", () => {
	const registry = {
		"registry/plan.ts": "export const plan = 1;\n",
		"registry/index.ts": 'export * from "./plan";\n',
		"edge/worker.ts": "export const worker = 1;\n",
	};

	it("proxy/ may not import registry/ (a file or the folder's index) or edge/", () => {
		const root = tree({
			...registry,
			"proxy/a.ts": 'import { plan } from "../registry/plan";\n',
			"proxy/b.ts": '\nimport type { plan } from "../registry";\n',
			"proxy/c.ts": '\n\nexport { worker } from "../edge/worker";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["layer proxy/a.ts:1", "layer proxy/b.ts:2", "layer proxy/c.ts:3"]);
		expect(violations[0]?.message).toContain('proxy/ imports registry/plan.ts ("../registry/plan")');
		expect(violations[1]?.message).toContain('registry/index.ts ("../registry")');
		expect(violations[2]?.message).toContain("edge/worker.ts");
	});

	it("registry/ may not import proxy/", () => {
		const root = tree({
			"proxy/outcome.ts": "export type Outcome = 1;\n",
			"registry/registry.ts": 'import { x } from "./local";\nimport type { Outcome } from "../proxy/outcome";\n',
			"registry/local.ts": "export const x = 1;\n",
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["layer registry/registry.ts:2"]);
		expect(violations[0]?.message).toMatch(/^registry\/ imports proxy\/outcome\.ts .*may not import proxy\//);
	});

	it("the pure folders may not import cloudflare:*, the others may", () => {
		const root = tree({
			"routing/plan.ts": 'import { z } from "zod";\nimport { env } from "cloudflare:workers";\n',
			"balancing/p2c.ts": 'const sockets = await import("cloudflare:sockets");\n',
			"steering/geo.ts": 'import type { DurableObject } from "cloudflare:workers";\n',
			"config/schema.ts": 'export type { DurableObject } from "cloudflare:workers";\n',
			"proxy/proxy.ts": 'import { env } from "cloudflare:workers";\n',
			"registry/registry.ts": 'import { DurableObject } from "cloudflare:workers";\n',
			"index.ts": 'import { env } from "cloudflare:workers";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual([
			"layer balancing/p2c.ts:1",
			"layer config/schema.ts:1",
			"layer routing/plan.ts:2",
			"layer steering/geo.ts:1",
		]);
		expect(violations[2]?.message).toContain("routing/ imports cloudflare:workers");
	});

	it("contract/ may import only contract/", () => {
		const root = tree({
			"config/schema.ts": "export type Config = {};\n",
			"contract/ids.ts": "export type Id = string;\n",
			"contract/route.ts":
				'import type { Id } from "./ids";\nimport type { Config } from "../config/schema";\nimport { z } from "zod";\nimport { env } from "cloudflare:workers";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual([
			"layer contract/route.ts:2",
			"layer contract/route.ts:3",
			"layer contract/route.ts:4",
		]);
		expect(violations[0]?.message).toContain("contract/ imports config/schema.ts");
		expect(violations[0]?.message).toContain("may not import anything but contract/");
	});

	it("does not count imports that are commented out or only quoted", () => {
		const root = tree({
			...registry,
			"proxy/quiet.ts": [
				'// import { plan } from "../registry/plan";',
				'/* import { plan } from "../registry/plan";',
				'   export * from "../edge/worker"; */',
				"/**",
				' * import "../registry";',
				" */",
				"const single = 'import { plan } from \"../registry/plan\";';",
				'const double = "import \\"../registry\\"; // not a comment";',
				'const template = `import { plan } from "../registry/plan";`;',
				// biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
				'const nested = `${single} import("../registry") ${`export * from "../edge/worker"`}`;',
				"const quote = /[\"'`]/g; // a regex holding every quote",
				'const half = 4 / 2; const ratio = half / 1; // "import("../registry")"',
				"const meta = import.meta.url;",
				'const method = loader.import("../registry");',
				"",
			].join("\n"),
		});
		expect(checkLayout(root)).toEqual([]);
	});

	it("counts a multi-line import list, at the line of its import keyword", () => {
		const root = tree({
			...registry,
			"proxy/multi.ts": [
				"const before = 1;",
				"import {",
				"\tplan,",
				"\ttype Plan, // a comment inside the list",
				"\t/* another */ other,",
				'} from "../registry/plan";',
				"export {",
				"\tworker,",
				'} from "../edge/worker";',
				"",
			].join("\n"),
		});
		expect(where(checkLayout(root))).toEqual(["layer proxy/multi.ts:2", "layer proxy/multi.ts:7"]);
	});
});

describe("check-layout: file size", () => {
	it("fails a file over 400 lines at line 401, and passes one of exactly 400", () => {
		const root = tree({ "big.ts": lines(401), "ok.ts": lines(400), "no-newline.ts": lines(400).trimEnd() });
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["size big.ts:401"]);
		expect(violations[0]?.message).toContain("401 lines");
	});
});

describe("check-layout: imports it cannot follow", () => {
	it("reports a relative import that resolves to no file of the root", () => {
		const root = tree({ "proxy/a.ts": '\nimport { gone } from "../registry/moved";\n' });
		expect(where(checkLayout(root))).toEqual(["unresolved proxy/a.ts:2", "layer proxy/a.ts:2"]);
	});
});

describe("parseImports", () => {
	it("finds every form of import and export-from", () => {
		const source = [
			'import "./side-effect";',
			'import def from "./default";',
			'import * as ns from "./namespace";',
			'import def2, { a as b, "quoted name" as c } from "./mixed";',
			'import type { T } from "./types";',
			'import type from "./default-named-type";',
			"export type { U } from './single-quoted';",
			'export * from "./star";',
			'export * as star from "./star-as";',
			'export { x } from "./named";',
			"export { local };",
			"export const y = 1;",
			'const lazy = await import("./lazy");',
			'type Lazy = typeof import("./type-import");',
			"const t = await import(`./template`);",
			// biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
			"const dynamic = await import(`./${name}`); // not literal: skipped",
			'import data from "./data.json" with { type: "json" };',
		].join("\n");
		expect(parseImports(source).map((ref) => `${ref.line} ${ref.specifier}`)).toEqual([
			"1 ./side-effect",
			"2 ./default",
			"3 ./namespace",
			"4 ./mixed",
			"5 ./types",
			"6 ./default-named-type",
			"7 ./single-quoted",
			"8 ./star",
			"9 ./star-as",
			"10 ./named",
			"13 ./lazy",
			"14 ./type-import",
			"15 ./template",
			"17 ./data.json",
		]);
	});
});

describe("check-layout: the command", () => {
	// The project's Node 22, which runs .ts files; the system Node may be older.
	const node = join(process.cwd(), "node_modules", ".bin", "node");
	const run = (root: string) => {
		try {
			const stdout = execFileSync(node, ["scripts/check-layout.ts", root], { stdio: "pipe", encoding: "utf8" });
			return { status: 0, stdout, stderr: "" };
		} catch (error) {
			const failed = error as { status: number; stdout: string; stderr: string };
			return { status: failed.status, stdout: failed.stdout, stderr: failed.stderr };
		}
	};

	it("prints one line and exits 0 when the layout holds", () => {
		const root = tree({ "a.ts": 'import "./b";\n', "b.ts": "export {};\n" });
		expect(run(root)).toEqual({ status: 0, stdout: "check-layout: 2 files, 0 cycles, all rules hold\n", stderr: "" });
	});

	it("prints each violation as file:line and exits 1", () => {
		const root = tree({ "a.ts": 'import "./b";\n', "b.ts": '\nimport "./a";\n' });
		const result = run(root);
		expect(result.status).toBe(1);
		expect(result.stderr).toBe(
			`${root}/a.ts:1: import cycle: a.ts → b.ts → a.ts\ncheck-layout: 2 files, 1 cycle, 1 violation\n`,
		);
	});
});
