// Issue 12: the data center of a request names Durable Objects (lb:<name>@<colo>, colo:<colo>).
import { describe, expect, it } from "vitest";
import { toColo } from "../../../src/proxy/location";

const headers = (colo?: string) => new Headers(colo === undefined ? {} : { "x-switchyard-dev-colo": colo });

describe("toColo", () => {
	it.each([
		{ cf: { colo: "FRA" }, header: undefined, dev: false, colo: "FRA" },
		{ cf: undefined, header: undefined, dev: false, colo: "local" },
		{ cf: { colo: "" }, header: undefined, dev: false, colo: "local" },
		// A client header never names a data center in production.
		{ cf: { colo: "FRA" }, header: "SJC", dev: false, colo: "FRA" },
		{ cf: undefined, header: "SJC", dev: false, colo: "local" },
		// With DEV_GEO_HEADERS, the header stands in for request.cf, but only as a data center code.
		{ cf: { colo: "FRA" }, header: "SJC", dev: true, colo: "SJC" },
		{ cf: { colo: "FRA" }, header: "a@b~c", dev: true, colo: "FRA" },
		{ cf: undefined, header: "x".repeat(17), dev: true, colo: "local" },
	])("cf $cf, header $header, dev $dev: $colo", ({ cf, header, dev, colo }) => {
		expect(toColo(cf, headers(header), dev)).toBe(colo);
	});
});
