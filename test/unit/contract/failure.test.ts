import { describe, expect, it } from "vitest";
import { classifyError, classifyStatus } from "../../../src/contract/failure";

describe("classifyStatus", () => {
	it.each([
		{ status: 521, kind: "refused" },
		{ status: 522, kind: "refused" },
		{ status: 523, kind: "refused" },
		{ status: 525, kind: "refused" },
		{ status: 526, kind: "refused" },
		{ status: 530, kind: "refused" },
		{ status: 524, kind: "timeout" },
		{ status: 200, kind: undefined },
		{ status: 404, kind: undefined },
		{ status: 500, kind: undefined },
		{ status: 502, kind: undefined },
		{ status: 503, kind: undefined },
		{ status: 504, kind: undefined },
		{ status: 520, kind: undefined },
	])("$status → $kind", ({ status, kind }) => {
		expect(classifyStatus(status)).toBe(kind);
	});
});

describe("classifyError", () => {
	it.each([
		{ timedOut: true, kind: "timeout" },
		{ timedOut: false, kind: "unreachable" },
	])("timedOut $timedOut → $kind", ({ timedOut, kind }) => {
		expect(classifyError(timedOut)).toBe(kind);
	});
});
