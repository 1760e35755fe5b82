/**
 * scripts/check-layout.ts: import cycles, the folder rules, the layer order and the size limit, on
 * small trees in a temp directory. Files of the trees sit in folders of the layer order (mostly
 * routing/), so that only the rule a test is about reports.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeLayout, checkLayout, LAYERS, parseImports, type Violation } from "../../../scripts/check-layout.ts";

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
			"routing/a.ts": '// a\nimport { b } from "./b";\nexport const a = 1;\n',
			"routing/b.ts": 'import { a } from "./a";\nexport const b = 2;\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["cycle routing/a.ts:2"]);
		expect(violations[0]?.message).toBe("import cycle: routing/a.ts → routing/b.ts → routing/a.ts");
		expect(analyzeLayout(root).cycles).toEqual([["routing/a.ts", "routing/b.ts", "routing/a.ts"]]);
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
			"config/a.ts": 'export const load = () => import("./b");\n',
			"config/b.ts": 'import "./a";\nimport "./c";\n',
			"config/c.ts": 'export * from "./b";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["cycle config/a.ts:1"]);
		expect(violations[0]?.message).toBe(
			"import cycle: config/a.ts → config/b.ts → config/a.ts (3 files import each other: config/a.ts, config/b.ts, config/c.ts)",
		);
	});

	it("reports two separate cycles separately", () => {
		const root = tree({
			"edge/a.ts": 'import "./b";\n',
			"edge/b.ts": 'import "./a";\n',
			"health/x.ts": 'import "./y";\n',
			"health/y.ts": 'import "./x";\n',
			"health/self.ts": 'import "./self";\n',
		});
		expect(analyzeLayout(root).cycles).toEqual([
			["edge/a.ts", "edge/b.ts", "edge/a.ts"],
			["health/self.ts", "health/self.ts"],
			["health/x.ts", "health/y.ts", "health/x.ts"],
		]);
		expect(checkLayout(root).every((v) => v.rule === "cycle")).toBe(true);
	});

	it("resolves ./dir to dir/index.ts", () => {
		const root = tree({
			"routing/app.ts": 'import { lib } from "./lib";\nexport const app = lib;\n',
			"routing/lib/index.ts": 'export { lib } from "./impl";\n',
			"routing/lib/impl.ts": 'import { app } from "../app";\nexport const lib = 1;\n',
		});
		expect(checkLayout(root).map((v) => v.message)).toEqual([
			"import cycle: routing/app.ts → routing/lib/index.ts → routing/lib/impl.ts → routing/app.ts",
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

describe("check-layout: the layer order", () => {
	it("reports an import of a module in a higher layer, at its file and line", () => {
		const root = tree({
			"routing/snapshot.ts": "export type Snapshot = {};\n",
			"steering/index.ts": "export const steer = 1;\n",
			"health/probe.ts": '// probe\nimport type { Snapshot } from "../routing/snapshot";\n',
			"config/validate.ts": 'import { z } from "zod";\n\nimport { steer } from "../steering";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["order config/validate.ts:3", "order health/probe.ts:2"]);
		expect(violations.map((v) => v.message)).toEqual([
			'config/ imports steering/index.ts ("../steering"), which is above it (layer order: [steering/ balancing/] > config/)',
			'health/ imports routing/snapshot.ts ("../routing/snapshot"), which is above it (layer order: routing/ > health/)',
		]);
	});

	it("accepts imports down the order, within a folder, and of a folder's own subfolders", () => {
		const root = tree({
			"index.ts": 'import "./isolate";\nimport "./admin/router";\nimport "./registry/authority";\n',
			"isolate.ts": 'import "./edge/planner";\nimport "./env";\n',
			"admin/router.ts": 'import "../observe/metrics";\nimport "../config/schema";\n',
			"observe/metrics.ts": 'import "../edge/planner";\n',
			"edge/planner.ts": 'import "../routing/plan";\nimport "../deadline";\nimport "../proxy/proxy";\n',
			"proxy/proxy.ts": 'import "../routing/plan";\n',
			"registry/authority.ts": 'import "../routing/plan";\nimport "../seed/seed";\n',
			"routing/plan.ts": 'import "../health/probe";\nimport "../steering/geo";\nimport "./leases/lease";\n',
			"routing/leases/lease.ts": 'import "../plan-types";\n',
			"routing/plan-types.ts": 'import "../balancing/p2c";\n',
			"health/probe.ts": 'import "../config/schema";\nimport "../digest";\n',
			"steering/geo.ts": 'import "./distance";\nimport "../config/schema";\n',
			"steering/distance.ts": "export {};\n",
			"balancing/p2c.ts": 'import "../contract/route";\n',
			"config/schema.ts": 'import "../contract/route";\nimport "../env";\n',
			"contract/route.ts": 'import "./ids";\n',
			"contract/ids.ts": "export {};\n",
			"env.ts": "export {};\n",
			"deadline.ts": "export {};\n",
			"digest.ts": "export {};\n",
			"seed/seed.ts": 'import "./seed.generated";\n',
			"seed/seed.generated.ts": "export {};\n",
		});
		expect(checkLayout(root)).toEqual([]);
	});

	it("reports steering/ and balancing/ importing each other: one layer, independent members", () => {
		const root = tree({
			"steering/geo.ts": 'import "./distance";\nimport { pick } from "../balancing/p2c";\n',
			"steering/distance.ts": "export {};\n",
			"balancing/p2c.ts": "export const pick = 1;\n",
			"balancing/hash.ts": '\n\nexport * from "../steering/distance";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["order balancing/hash.ts:3", "order steering/geo.ts:2"]);
		expect(violations[1]?.message).toBe(
			'steering/ imports balancing/p2c.ts ("../balancing/p2c"), a sibling in its own layer [steering/ balancing/], whose members may not import one another',
		);
	});

	it("lets the bottom layer's members import contract/ only", () => {
		const root = tree({
			"contract/ids.ts": "export type Id = string;\n",
			"routing/plan.ts": "export const plan = 1;\n",
			"digest.ts": "export const digest = 1;\n",
			"env.ts": 'import type { Id } from "./contract/ids";\nimport { plan } from "./routing/plan";\n',
			"deadline.ts": 'import type { Id } from "./contract/ids";\nimport { digest } from "./digest";\n',
			"seed/seed.ts": 'import type { Id } from "../contract/ids";\nimport "../env";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["order deadline.ts:2", "order env.ts:2", "order seed/seed.ts:2"]);
		expect(violations[1]?.message).toBe(
			'env.ts imports routing/plan.ts ("./routing/plan"), which is above it (layer order: routing/ > health/ > [steering/ balancing/] > config/ > rules/ > [contract/ env.ts deadline.ts digest.ts seed/])',
		);
		expect(violations[0]?.message).toBe(
			'deadline.ts imports digest.ts ("./digest"), a sibling in its own layer [contract/ env.ts deadline.ts digest.ts seed/], whose members may import no other member but contract/',
		);
	});

	it("reports an import a folder rule forbids once, by that rule", () => {
		const root = tree({
			"env.ts": "export {};\n",
			"edge/planner.ts": "export {};\n",
			"proxy/outcome.ts": 'export * from "../edge/planner";\n',
			"registry/authority.ts": 'import "../proxy/outcome";\n',
			"contract/route.ts": 'import "../env";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual([
			"layer contract/route.ts:1",
			"layer proxy/outcome.ts:1",
			"layer registry/authority.ts:1",
		]);
		expect(violations[0]?.message).toContain("contract/ may not import anything but contract/");
	});

	it("reports every file no member of the order covers, and checks no import from or to it", () => {
		const root = tree({
			"index.ts": "export {};\n",
			"util.ts": 'import "./index";\n',
			"metrics/export.ts": '\nimport "../routing/plan";\n',
			"routing/plan.ts": 'import "../util";\n',
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["unplaced metrics/export.ts:1", "unplaced util.ts:1"]);
		expect(violations.find((v) => v.file === "util.ts")?.message).toBe(
			"not placed in the layer order: add util.ts to LAYERS in scripts/check-layout.ts, where DESIGN.md puts it",
		);
		expect(violations.find((v) => v.rule === "unplaced" && v.file.startsWith("metrics/"))?.message).toContain(
			"add metrics/ to LAYERS",
		);
	});

	it("places each path of the design document once, top to bottom", () => {
		const members = LAYERS.flatMap((layer) => layer.members);
		expect(new Set(members).size).toBe(members.length);
		expect(LAYERS.map((layer) => layer.members.join(" "))).toEqual([
			"index.ts",
			"isolate.ts",
			"admin/",
			"observe/",
			"edge/",
			"proxy/",
			"registry/",
			"routing/",
			"health/",
			"steering/ balancing/",
			"config/",
			"rules/",
			"contract/ env.ts deadline.ts digest.ts seed/",
		]);
	});
});

describe("check-layout: file size", () => {
	it("fails a file over 400 lines at line 401, and passes one of exactly 400", () => {
		const root = tree({
			"routing/big.ts": lines(401),
			"routing/ok.ts": lines(400),
			"routing/no-newline.ts": lines(400).trimEnd(),
		});
		const violations = checkLayout(root);
		expect(where(violations)).toEqual(["size routing/big.ts:401"]);
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
		const root = tree({ "index.ts": 'import "./routing/b";\n', "routing/b.ts": "export {};\n" });
		expect(run(root)).toEqual({ status: 0, stdout: "check-layout: 2 files, 0 cycles, all rules hold\n", stderr: "" });
	});

	it("reports the project's own src/ as it is: one file:line line per violation, then the count", () => {
		const result = run("src");
		const report = analyzeLayout(join(process.cwd(), "src"));
		const summary = `check-layout: ${report.files} files, ${report.cycles.length} cycle`;
		if (report.violations.length === 0) {
			expect(result).toMatchObject({ status: 0, stderr: "" });
			expect(result.stdout).toMatch(new RegExp(`^${summary}s?, all rules hold\n$`));
			return;
		}
		expect(result.status).toBe(1);
		expect(result.stderr.trimEnd().split("\n")).toEqual([
			...report.violations.map((v) => `src/${v.file}:${v.line}: ${v.message}`),
			expect.stringMatching(new RegExp(`^${summary}s?, ${report.violations.length} violations?$`)),
		]);
	});

	it("prints each violation as file:line and exits 1", () => {
		const root = tree({ "routing/a.ts": 'import "./b";\n', "routing/b.ts": '\nimport "./a";\n' });
		const result = run(root);
		expect(result.status).toBe(1);
		expect(result.stderr).toBe(
			`${root}/routing/a.ts:1: import cycle: routing/a.ts → routing/b.ts → routing/a.ts\ncheck-layout: 2 files, 1 cycle, 1 violation\n`,
		);
	});
});
