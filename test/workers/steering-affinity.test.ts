import { beforeEach, describe, expect, it } from "vitest";
import { originUrl, putConfig, received, runCron, send, setOriginHealthy, startClean } from "./helpers";

const FRANKFURT = { colo: "FRA", country: "DE", continent: "EU", latitude: "50.11", longitude: "8.68" };
const NEW_YORK = {
	colo: "EWR",
	country: "US",
	regionCode: "NY",
	continent: "NA",
	latitude: "40.71",
	longitude: "-74.0",
};
const SAN_FRANCISCO = {
	colo: "SJC",
	country: "US",
	regionCode: "CA",
	continent: "NA",
	latitude: "37.77",
	longitude: "-122.4",
};
const SINGAPORE = { colo: "SIN", country: "SG", continent: "AS", latitude: "1.35", longitude: "103.8" };

beforeEach(startClean);

/** Three regional pools (one origin each: us-east a, eu b, ap c) plus a fallback pool (d). */
function regionalConfig(steering: string, extra: Record<string, unknown> = {}) {
	const pool = (id: string, origin: string, latitude: number, longitude: number) => ({
		id,
		name: id,
		monitor: "health",
		latitude,
		longitude,
		origins: [{ name: origin, address: originUrl(origin) }],
	});
	return {
		monitors: [{ id: "health", path: "/health", expected_codes: "2xx", retries: 0, timeout: 2 }],
		pools: [
			pool("us-east", "a", 39.0, -77.5),
			pool("eu", "b", 50.1, 8.7),
			pool("ap", "c", 1.35, 103.8),
			pool("spare", "d", 0, 0),
		],
		load_balancers: [
			{
				name: "app.test",
				default_pools: ["us-east", "eu", "ap"],
				fallback_pool: "spare",
				steering_policy: steering,
				region_pools: { ENAM: ["us-east"], WNAM: ["us-east"], WEU: ["eu"], SEAS: ["ap"] },
				country_pools: { SG: ["ap"] },
				proxy: { debug_headers: true },
				...extra,
			},
		],
	};
}

async function poolFor(cf: Record<string, string>, init: RequestInit = {}): Promise<string | null> {
	const response = await send("https://app.test/where", { ...init, cf } as RequestInit);
	expect(response.status).toBe(200);
	return response.headers.get("x-switchyard-pool");
}

describe("pool steering with real cf objects", () => {
	it.each(["geo", "proximity"])("%s: each visitor lands in the nearest region", async (steering) => {
		await putConfig(regionalConfig(steering));
		expect(await poolFor(FRANKFURT)).toBe("eu");
		expect(await poolFor(NEW_YORK)).toBe("us-east");
		expect(await poolFor(SAN_FRANCISCO)).toBe("us-east");
		expect(await poolFor(SINGAPORE)).toBe("ap");
	});

	it("geo: a Frankfurt visitor goes to the US when the EU pool is down, and to the fallback when all are", async () => {
		await putConfig(regionalConfig("geo"));
		const t0 = Date.now();
		await setOriginHealthy("b", false);
		await runCron(t0);
		expect(await poolFor(FRANKFURT)).toBe("us-east");

		await setOriginHealthy("a", false);
		await setOriginHealthy("c", false);
		await runCron(t0 + 60_000);
		expect(await poolFor(FRANKFURT)).toBe("spare");
	});

	it("places the first request right after a load balancer switches to location steering", async () => {
		// The isolate learns that app.test does not steer by location…
		await putConfig(regionalConfig("off"));
		expect(await poolFor(FRANKFURT)).toBe("us-east");
		// …then the configuration changes: the very next request must still reach its region.
		await putConfig(regionalConfig("geo"));
		expect(await poolFor(FRANKFURT)).toBe("eu");
		expect(await poolFor(SINGAPORE)).toBe("ap");
	});

	it("fails over across pools within one request when every origin of the chosen pool fails", async () => {
		const config = regionalConfig("geo", { adaptive_routing: { failover_across_pools: true } });
		// The EU pool's only origin refuses connections, and no health check has noticed yet.
		const eu = config.pools[1] as { origins: { name: string; address: string }[] };
		eu.origins = [{ name: "dead", address: "http://127.0.0.1:9" }];
		await putConfig(config);
		const response = await send("https://app.test/failover", { cf: FRANKFURT } as RequestInit);
		expect(response.status).toBe(200);
		expect(response.headers.get("x-switchyard-pool")).not.toBe("eu");
		const servedBy = response.headers.get("x-switchyard-origin") as string;
		expect((await received(servedBy)).some((request) => request.url === "/failover")).toBe(true);
	});

	it("without failover_across_pools the same request fails", async () => {
		const config = regionalConfig("geo");
		const eu = config.pools[1] as { origins: { name: string; address: string }[] };
		eu.origins = [{ name: "dead", address: "http://127.0.0.1:9" }];
		await putConfig(config);
		const response = await send("https://app.test/failover", { cf: FRANKFURT } as RequestInit);
		expect(response.status).toBe(502);
	});
});

describe("cookie session affinity", () => {
	function affinityConfig() {
		return {
			monitors: [{ id: "health", path: "/health", expected_codes: "2xx", retries: 0, timeout: 2 }],
			pools: [
				{
					id: "main",
					name: "main",
					monitor: "health",
					origin_steering: { policy: "round_robin" },
					origins: ["a", "b", "c"].map((name) => ({ name, address: originUrl(name) })),
				},
			],
			load_balancers: [
				{
					name: "app.test",
					default_pools: ["main"],
					session_affinity: "cookie",
					session_affinity_ttl: 3600,
					session_affinity_attributes: { samesite: "Lax", secure: "Always" },
					proxy: { debug_headers: true },
				},
			],
		};
	}

	function cookieOf(response: Response): string {
		const header = response.headers.get("set-cookie") ?? "";
		return header.split(";")[0] as string;
	}

	it("keeps 100 requests carrying the cookie on one origin, and sets the cookie only once", async () => {
		await putConfig(affinityConfig());
		const first = await send("https://app.test/");
		const cookie = cookieOf(first);
		expect(cookie).toMatch(/^__switchyard_affinity=[\w-]+$/);
		expect(first.headers.get("set-cookie")).toMatch(/Max-Age=3600.*HttpOnly.*SameSite=Lax.*Secure/);
		const pinned = first.headers.get("x-switchyard-origin");
		const servedBy = new Set<string | null>();
		let cookiesSet = 0;
		for (let i = 0; i < 100; i++) {
			const response = await send("https://app.test/", { headers: { cookie } });
			servedBy.add(response.headers.get("x-switchyard-origin"));
			if (response.headers.has("set-cookie")) cookiesSet++;
		}
		expect([...servedBy]).toEqual([pinned]);
		expect(cookiesSet).toBe(0);
	});

	it("moves the session once when its origin goes down, and re-issues the cookie", async () => {
		await putConfig(affinityConfig());
		const first = await send("https://app.test/");
		const pinned = first.headers.get("x-switchyard-origin") as string;
		await setOriginHealthy(pinned, false);
		await runCron(Date.now());

		const moved = await send("https://app.test/", { headers: { cookie: cookieOf(first) } });
		const newOrigin = moved.headers.get("x-switchyard-origin");
		expect(newOrigin).not.toBe(pinned);
		const reissued = cookieOf(moved);
		expect(reissued).toMatch(/^__switchyard_affinity=/);
		expect(reissued).not.toBe(cookieOf(first));
		for (let i = 0; i < 10; i++) {
			const response = await send("https://app.test/", { headers: { cookie: reissued } });
			expect(response.headers.get("x-switchyard-origin")).toBe(newOrigin);
			expect(response.headers.has("set-cookie")).toBe(false);
		}
	});

	it("ignores a tampered or foreign cookie (never an error) and issues a fresh one", async () => {
		await putConfig(affinityConfig());
		const first = await send("https://app.test/");
		// The cookie is sealed (issue 13): a client can only change bytes, and a changed cookie does not open.
		const value = cookieOf(first).split("=")[1] ?? "";
		const forged = `${value.slice(0, 16)}${value[16] === "A" ? "B" : "A"}${value.slice(17)}`;
		const statuses = new Set<number>();
		const servedBy = new Set<string | null>();
		for (let i = 0; i < 6; i++) {
			const response = await send("https://app.test/", {
				headers: { cookie: `__switchyard_affinity=${forged}` },
			});
			statuses.add(response.status);
			servedBy.add(response.headers.get("x-switchyard-origin"));
			expect(response.headers.get("set-cookie")).toMatch(/^__switchyard_affinity=/);
		}
		expect([...statuses]).toEqual([200]);
		expect(servedBy.size).toBeGreaterThan(1); // round robin, as without a cookie: the forged one pins nothing
		const garbage = await send("https://app.test/", { headers: { cookie: "__switchyard_affinity=%%%garbage" } });
		expect(garbage.status).toBe(200);
	});

	it("keeps pinned sessions on a draining origin during drain_duration, new visitors elsewhere", async () => {
		const config = affinityConfig();
		(config.load_balancers[0] as Record<string, unknown>).session_affinity_attributes = { drain_duration: 600 };
		await putConfig(config);
		const first = await send("https://app.test/");
		const pinned = first.headers.get("x-switchyard-origin") as string;
		const { admin } = await import("./helpers");
		expect((await admin("POST", `/pools/main/origins/${pinned}/drain`)).status).toBe(200);
		for (let i = 0; i < 5; i++) {
			const pinnedResponse = await send("https://app.test/", { headers: { cookie: cookieOf(first) } });
			expect(pinnedResponse.headers.get("x-switchyard-origin")).toBe(pinned);
			const newcomer = await send("https://app.test/");
			expect(newcomer.headers.get("x-switchyard-origin")).not.toBe(pinned);
		}
	});
});

describe("header and ip_cookie affinity", () => {
	it("header: the same header value always reaches the same origin, different values spread", async () => {
		await putConfig({
			pools: [
				{
					id: "main",
					name: "main",
					origins: ["a", "b", "c"].map((name) => ({ name, address: originUrl(name) })),
				},
			],
			load_balancers: [
				{
					name: "app.test",
					default_pools: ["main"],
					session_affinity: "header",
					session_affinity_attributes: { headers: ["x-session"] },
					proxy: { debug_headers: true },
				},
			],
		});
		const origins = new Map<string, string | null>();
		for (let round = 0; round < 3; round++) {
			for (let user = 0; user < 30; user++) {
				const response = await send("https://app.test/", { headers: { "x-session": `user-${user}` } });
				const origin = response.headers.get("x-switchyard-origin");
				if (round === 0) origins.set(`user-${user}`, origin);
				else expect(origin).toBe(origins.get(`user-${user}`));
				expect(response.headers.has("set-cookie")).toBe(false);
			}
		}
		expect(new Set(origins.values()).size).toBeGreaterThan(1);
	});

	it("ip_cookie: the same client IP reaches the same origin and gets a cookie", async () => {
		await putConfig({
			pools: [
				{ id: "main", name: "main", origins: ["a", "b", "c"].map((name) => ({ name, address: originUrl(name) })) },
			],
			load_balancers: [
				{ name: "app.test", default_pools: ["main"], session_affinity: "ip_cookie", proxy: { debug_headers: true } },
			],
		});
		for (const ip of ["198.51.100.1", "198.51.100.2", "203.0.113.9"]) {
			const first = await send("https://app.test/", { headers: { "cf-connecting-ip": ip } });
			expect(first.headers.get("set-cookie")).toMatch(/^__switchyard_affinity=/);
			for (let i = 0; i < 5; i++) {
				const again = await send("https://app.test/", { headers: { "cf-connecting-ip": ip } });
				expect(again.headers.get("x-switchyard-origin")).toBe(first.headers.get("x-switchyard-origin"));
			}
		}
	});
});
