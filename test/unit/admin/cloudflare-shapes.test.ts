/** admin/cloudflare-shapes.ts: paging and the reading of a check's status code (issue 17). */
import { describe, expect, it } from "vitest";
import { toPage, toResponseCode } from "../../../src/admin/cloudflare-shapes";
import { AdminError } from "../../../src/admin/envelope";

describe("toPage", () => {
	const items = ["a", "b", "c", "d", "e"];
	it.each([
		[{}, items, { page: 1, per_page: 5, count: 5, total_count: 5 }],
		[{ per_page: "2" }, ["a", "b"], { page: 1, per_page: 2, count: 2, total_count: 5 }],
		[{ page: "3", per_page: "2" }, ["e"], { page: 3, per_page: 2, count: 1, total_count: 5 }],
		[{ page: "2" }, [], { page: 2, per_page: 20, count: 0, total_count: 5 }],
	])("%j", (query, page, info) => {
		expect(toPage(items, query)).toEqual({ items: page, result_info: info });
	});

	it.each([{ page: "0" }, { per_page: "1001" }, { page: "-1" }, { per_page: "2e1" }, { page: ["1", "2"] }])(
		"refuses %j",
		(query) => {
			expect(() => toPage(items, query)).toThrow(AdminError);
		},
	);
});

describe("toResponseCode", () => {
	it.each([
		["200", 200],
		["status 503, expected 2xx", 503],
		["origin refused (status 502)", 502],
		["timeout after 2000 ms", null],
		[null, null],
	])("%s → %s", (reason, code) => {
		expect(toResponseCode(reason)).toBe(code);
	});
});
