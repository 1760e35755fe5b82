/**
 * Issue 13, item 5: names that are not valid header values. Cloudflare accepts an origin named with
 * a newline or non-ASCII letters, and so do we (exports load unedited); where a name is emitted in a
 * header (debug_headers), it is percent-encoded, so the request that origin served still reaches its
 * client.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { originUrl, putConfig, send, startClean } from "./helpers";

beforeEach(startClean);

describe("origin names in debug headers", () => {
	it("are percent-encoded when they are not valid header values; the client gets the origin's answer", async () => {
		const name = "eu west\n1 – Zürich %";
		await putConfig({
			monitors: [],
			pools: [{ id: "main", name: "main", origins: [{ name, address: originUrl("a") }] }],
			load_balancers: [{ name: "app.test", default_pools: ["main"], proxy: { debug_headers: true } }],
		});
		const response = await send("https://app.test/named");
		expect(response.status).toBe(200);
		const header = response.headers.get("x-switchyard-origin");
		expect(header).toBe("eu west%0A1 %E2%80%93 Z%C3%BCrich %25");
		expect(decodeURIComponent(header as string)).toBe(name);
		expect(response.headers.get("x-switchyard-pool")).toBe("main");
	});
});
