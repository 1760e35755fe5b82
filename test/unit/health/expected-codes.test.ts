import { describe, expect, it } from "vitest";
import { toStatusMatcher } from "../../../src/health/expected-codes";

describe("toStatusMatcher", () => {
	it.each([
		{ codes: "200", matches: [200], rejects: [201, 204, 299, 500, 100] },
		{ codes: "2xx", matches: [200, 201, 204, 299], rejects: [199, 300, 404, 500] },
		{ codes: "2XX", matches: [200, 250], rejects: [300] },
		{ codes: "200,204", matches: [200, 204], rejects: [201, 202, 304] },
		{ codes: "2xx, 301", matches: [200, 204, 301], rejects: [302, 304, 404] },
		{ codes: " 301 , 302 ", matches: [301, 302], rejects: [200, 303] },
		{ codes: "4xx,503", matches: [400, 404, 499, 503], rejects: [200, 500, 502] },
	])('"$codes"', ({ codes, matches, rejects }) => {
		const matcher = toStatusMatcher(codes);
		for (const status of matches) expect(matcher(status), `${status}`).toBe(true);
		for (const status of rejects) expect(matcher(status), `${status}`).toBe(false);
	});
});
