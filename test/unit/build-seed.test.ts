/** scripts/build-seed.mjs: the bundled declarative configuration, with and without the file. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "switchyard-seed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function build(input: string, output: string): { status: number; stderr: string } {
	try {
		execFileSync(process.execPath, ["scripts/build-seed.mjs", "--input", input, "--output", output], { stdio: "pipe" });
		return { status: 0, stderr: "" };
	} catch (error) {
		const failed = error as { status: number; stderr: Buffer };
		return { status: failed.status, stderr: failed.stderr.toString() };
	}
}

describe("build-seed", () => {
	it("embeds the file's text and its SHA-256", () => {
		const text = '{ "pools": [], "load_balancers": [] }\n';
		writeFileSync(join(dir, "config.json"), text);
		expect(build(join(dir, "config.json"), join(dir, "out.ts")).status).toBe(0);
		const module = readFileSync(join(dir, "out.ts"), "utf8");
		expect(module).toContain(`hash: "${createHash("sha256").update(text).digest("hex")}"`);
		expect(module).toContain(`json: ${JSON.stringify(text)}`);
	});

	it("leaves the read-only timestamps out of the hash (issue 17): files differing only in them are the same seed", () => {
		const hashOf = (name: string, document: unknown) => {
			writeFileSync(join(dir, `${name}.json`), JSON.stringify(document, null, 2));
			expect(build(join(dir, `${name}.json`), join(dir, `${name}.ts`)).status).toBe(0);
			return /hash: "([0-9a-f]{64})"/.exec(readFileSync(join(dir, `${name}.ts`), "utf8"))?.[1];
		};
		const pool = { id: "p", name: "p", origins: [] };
		const first = hashOf("stamped-1", { pools: [{ ...pool, created_on: "2026-01-01T00:00:00.000Z" }] });
		const second = hashOf("stamped-2", {
			pools: [{ ...pool, created_on: "2026-02-02T00:00:00.000Z", modified_on: "2026-03-03T00:00:00.000Z" }],
		});
		const changed = hashOf("stamped-3", { pools: [{ ...pool, name: "q", created_on: "2026-01-01T00:00:00.000Z" }] });
		expect(first).toBeDefined();
		expect(second).toBe(first);
		expect(changed).not.toBe(first);
	});

	it("writes an empty seed when there is no file, so the build works without one", () => {
		expect(build(join(dir, "absent.json"), join(dir, "empty.ts")).status).toBe(0);
		expect(readFileSync(join(dir, "empty.ts"), "utf8")).toContain("export const SEED: Seed | undefined = undefined;");
	});

	it("fails the build on a file that is not JSON, naming it", () => {
		writeFileSync(join(dir, "broken.json"), "{ nope");
		const result = build(join(dir, "broken.json"), join(dir, "broken.ts"));
		expect(result.status).toBe(1);
		expect(result.stderr).toContain("broken.json is not valid JSON");
	});
});
