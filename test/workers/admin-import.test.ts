/**
 * Importing a configuration exactly as Cloudflare's API returns it (test/fixtures/cloudflare-export.json):
 * accepted as it is, with `messages` for everything kept but not acted on, and every field (known,
 * not yet acted on, or unknown) returned unchanged by GET /config.
 */
import { beforeEach, describe, expect, it } from "vitest";
import fixture from "../fixtures/cloudflare-export.json";
import { envelopeOf, type PutConfigResult, readEvents, readStatus, readStored, versionOf } from "./admin-helpers";
import { admin, type Envelope, originUrl, received, send, startClean } from "./helpers";

beforeEach(startClean);

type Raw = Record<string, unknown>;
const original = structuredClone(fixture) as unknown as {
	monitors: Raw[];
	pools: (Raw & { origins: Raw[] })[];
	load_balancers: Raw[];
};

/** A document without the read-only timestamps, which the registry sets itself. */
function withoutTimestamps<T extends Record<string, Raw[]>>(document: T): T {
	const strip = ({ created_on: _c, modified_on: _m, ...rest }: Raw) => rest;
	return Object.fromEntries(Object.entries(document).map(([key, list]) => [key, list.map(strip)])) as T;
}

describe("Cloudflare import", () => {
	it("accepts the export unedited and reports what it keeps but does not act on", async () => {
		const response = await admin("PUT", "/config", fixture);
		const body = await envelopeOf<Envelope<PutConfigResult>>(response);
		expect(response.status, JSON.stringify(body.errors)).toBe(200);
		expect(body.success).toBe(true);
		expect(body.errors).toEqual([]);
		expect(versionOf(response)).toBe(1);
		expect(body.result).toMatchObject({ version: 1, changed: true, dry_run: false });
		expect(body.result.changes).toHaveLength(2 + 3 + 1);

		const messages = body.messages;
		const has = (pattern: RegExp) =>
			expect(
				messages.some((message) => pattern.test(message)),
				`a message matching ${pattern} in:\n${messages.join("\n")}`,
			).toBe(true);
		has(/^monitors\[0\]\.header\.Host: not acted on/);
		has(/^pools\[0\]\.origins\[0\]\.header\.Host: not acted on/);
		has(/^pools\[2\]\.origins\[1\]\.header\.Host: not acted on/);
		// Ids and timestamps are fields of the model (issue 17): not reported.
		expect(messages.filter((message) => /\.(id|created_on|modified_on):/.test(message))).toEqual([]);
		has(/^load_balancers\[0\]\.zone_name: unknown field/);
		has(/^pools\[0\]\.origins\[2\]\.disabled_at: unknown field/);
		has(/^pools\[1\]\.origins\[1\]\.address: "203\.0\.113\.24" is an IP address/);
		// Rules are acted on (issue 20); only a rule's DNS-only override (ttl) is kept and not acted on.
		expect(messages.filter((message) => message.startsWith("load_balancers[0].rules"))).toEqual([
			"load_balancers[0].rules[0].overrides.ttl: kept, but not acted on by this version",
		]);
		// Values that say nothing are not reported: the Frankfurt pool's notification_email is "".
		expect(messages.some((message) => message.startsWith("pools[1].notification_email"))).toBe(false);
		// Only origin policies this build cannot run are reported.
		expect(messages.some((message) => message.startsWith("pools[0].origin_steering"))).toBe(false);
		// Geo steering, its pool maps and session affinity run as they are: nothing to report.
		for (const field of ["region_pools", "country_pools", "pop_pools", "session_affinity", "steering_policy"]) {
			expect(messages.some((message) => message.startsWith(`load_balancers[0].${field}`))).toBe(false);
		}
		// location_strategy is about DNS resolvers, which a Worker never sees: kept, reported.
		has(/^load_balancers\[0\]\.location_strategy: kept, but not acted on/);
		// least_outstanding_requests (the Frankfurt pool) runs as it is: nothing to report.
		expect(messages.some((message) => message.startsWith("pools[1].origin_steering"))).toBe(false);
	});

	it("returns every imported field unchanged from GET /config", async () => {
		const put = await admin("PUT", "/config", fixture);
		expect(put.status).toBe(200);
		await put.body?.cancel();

		const stored = await readStored();
		expect(stored.version).toBe(1);
		const doc = stored.document;
		const lb = doc.load_balancers[0] as Raw;
		const source = original.load_balancers[0] as Raw;
		expect(lb.region_pools).toEqual(source.region_pools);
		expect(lb.country_pools).toEqual(source.country_pools);
		expect(lb.pop_pools).toEqual(source.pop_pools);
		expect(lb.session_affinity).toBe("cookie");
		expect(lb.session_affinity_attributes).toEqual(source.session_affinity_attributes);
		expect(lb.random_steering).toEqual(source.random_steering);
		expect(lb.steering_policy).toBe("geo");
		// The ids are kept; the timestamps are the registry's own (read-only, issue 17): when it took them in.
		expect(lb.id).toBe(source.id);
		const stampedAt = lb.created_on as string;
		expect(Date.parse(stampedAt)).toBeGreaterThan(Date.parse(source.created_on as string));
		for (const item of [lb, ...doc.monitors, ...doc.pools]) {
			expect(item).toMatchObject({ created_on: stampedAt, modified_on: stampedAt });
		}
		for (const [i, monitor] of original.monitors.entries()) {
			expect(doc.monitors[i]?.header).toEqual(monitor.header);
		}
		for (const [i, pool] of original.pools.entries()) {
			expect(doc.pools[i]?.notification_filter).toEqual(pool.notification_filter);
			expect(doc.pools[i]?.load_shedding).toEqual(pool.load_shedding);
			expect(doc.pools[i]?.origin_steering).toEqual(pool.origin_steering);
			expect(doc.pools[i]?.origins).toEqual(pool.origins);
		}
		// In fact every other field of the export comes back as it went in (nothing is added that was not a default).
		expect(doc).toMatchObject(withoutTimestamps(original));

		// Reading one object through its CRUD route gives the same.
		const one = await admin("GET", `/pools/${original.pools[2]?.id}`);
		expect((await envelopeOf<Envelope<Raw>>(one)).result).toEqual(doc.pools[2]);

		// PUT again unedited: nothing changes.
		const again = await admin("PUT", "/config", fixture);
		expect((await envelopeOf<Envelope<PutConfigResult>>(again)).result).toMatchObject({ version: 1, changed: false });
		expect((await readStored()).text).toBe(stored.text);
		expect(await readEvents()).toHaveLength(1);
	});

	it("runs the imported configuration: status lists its pools and the disabled origin", async () => {
		const put = await admin("PUT", "/config", fixture);
		expect(put.status).toBe(200);
		await put.body?.cancel();
		const status = await readStatus();
		expect(status.load_balancers).toEqual([
			{
				name: "www.example.com",
				enabled: true,
				default_pools: original.load_balancers[0]?.default_pools,
				fallback_pool: "95933d949421fcc2b9e8879c06b5561b",
				rules: [
					{ name: "route the path /testing to the Singapore pool", disabled: false, matched: 0 },
					{ name: "maintenance page", disabled: false, matched: 0 },
					{ name: "legacy API to Frankfurt", disabled: true, matched: 0 },
				],
			},
		]);
		expect(status.pools.map((pool) => pool.name)).toEqual([
			"us-east-ashburn",
			"eu-west-frankfurt",
			"ap-southeast_singapore",
		]);
		expect(status.pools[0]?.origins.map((origin) => [origin.name, origin.enabled])).toEqual([
			["us-east-1", true],
			["us-east-2", true],
			["us-east-3", false],
		]);
	});

	it("runs the export's rules as Cloudflare documents them (its origins moved to loopback)", async () => {
		// The export's origins are made up: each pool's are pointed at one loopback origin, debug headers on.
		const document = structuredClone(original) as typeof original & { load_balancers: Raw[] };
		const poolOrigin = ["a", "b", "c"];
		document.pools.forEach((pool, i) => {
			for (const origin of pool.origins) {
				origin.address = originUrl(poolOrigin[i] as string);
				delete origin.port;
				delete origin.header;
			}
			delete pool.monitor;
		});
		for (const lb of document.load_balancers) lb.proxy = { debug_headers: true };
		const put = await admin("PUT", "/config", document);
		expect(put.status, await put.clone().text()).toBe(200);
		await put.body?.cancel();
		const singapore = "9cc2648c334a19b7097c1e328ce9a3f5";
		const washington = "95933d949421fcc2b9e8879c06b5561b";
		// The first request warms this isolate's replica; rules run in the Worker from it.
		const first = await send("https://www.example.com/");
		expect(first.headers.get("x-switchyard-pool")).toBe(washington);

		// "/testing" goes to the Singapore pool: its overrides replace the default pools and turn geo steering off.
		const testing = await send("https://www.example.com/testing/page");
		expect(testing.status).toBe(200);
		expect(testing.headers.get("x-switchyard-pool")).toBe(singapore);
		// It also turns session affinity off: the load balancer's cookie is not issued.
		expect(testing.headers.get("set-cookie")).toBeNull();
		expect((await received("c")).map((request) => request.url)).toEqual(["/testing/page"]);

		// The maintenance rule answers itself, by path or by query.
		for (const path of ["/maintenance", "/shop?maintenance=1"]) {
			const maintenance = await send(`https://www.example.com${path}`);
			expect(maintenance.status).toBe(503);
			expect(maintenance.headers.get("content-type")).toBe("text/html");
			expect(await maintenance.text()).toBe("<h1>Down for maintenance</h1>");
		}
		// The disabled rule does nothing: /api/v1/ stays with the load balancer's own steering.
		expect((await send("https://www.example.com/api/v1/items")).headers.get("x-switchyard-pool")).toBe(washington);
		expect((await received("b")).map((request) => request.url)).toEqual([]);

		const status = await readStatus();
		expect(status.load_balancers[0]?.rules?.map((rule) => rule.matched)).toEqual([1, 2, 0]);
	});
});
