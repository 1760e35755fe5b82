/** The README's "Using Cloudflare's SDK" shows exactly the client lines the SDK end-to-end test runs (issue 17, item 5). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const readme = readFileSync("README.md", "utf8");
const e2e = readFileSync("test/e2e/cloudflare-sdk-e2e.test.ts", "utf8");

/** Lines without the indentation they share. */
function dedent(lines: string[]): string {
	const indent = Math.min(...lines.filter((line) => line.trim()).map((line) => /^\t*/.exec(line)?.[0].length ?? 0));
	return lines.map((line) => line.slice(indent)).join("\n");
}

describe("README: Using Cloudflare's SDK", () => {
	it("shows the import and the client the end-to-end test makes, line for line", () => {
		const section = readme.slice(readme.indexOf("### Using Cloudflare's SDK"));
		const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
		const lines = e2e.split("\n");
		const start = lines.findIndex((line) => line.includes("// README: Using Cloudflare's SDK"));
		const end = lines.findIndex((line) => line.includes("// end of the README's lines"));
		expect(start).toBeGreaterThan(0);
		expect(end).toBeGreaterThan(start + 1);
		const client = dedent(lines.slice(start + 1, end));
		expect(block).toContain('import Cloudflare from "cloudflare";');
		expect(e2e).toContain('import Cloudflare from "cloudflare";');
		expect(block).toContain(client);
		expect(client).toMatch(/baseURL: `\$\{SWITCHYARD_URL\}\/_lb\/api`/);
	});
});
