/**
 * Issue 21: TCP monitors, the probe's decision with cloudflare:sockets' connect stood in for (the
 * workers layer, test/workers/health-tcp.test.ts, runs the real one against a listening port on
 * 127.0.0.1 and a closed one).
 */
import { describe, expect, it } from "vitest";
import { toOriginBase } from "../../../src/config/origin-address";
import { type Connect, type ProbeTarget, probe } from "../../../src/health/probe";
import { toProbeTarget } from "../../../src/health/targets";
import { aValidConfig } from "../../fixtures/config";

/** A connect whose sockets open (or fail to) as told; counts what it was asked and what was closed. */
function standIn(opens: (port: number) => Promise<unknown>, log: { asked: string[]; closed: number }): Connect {
	return ({ hostname, port }) => {
		log.asked.push(`${hostname}:${port}`);
		const opened = opens(port);
		return {
			opened,
			close: async () => {
				log.closed++;
			},
		};
	};
}

function aTcpTarget(port: number, overrides: Partial<ProbeTarget> = {}): ProbeTarget {
	return {
		key: "pool/origin",
		url: `tcp://127.0.0.1:${port}`,
		method: "GET",
		headers: {},
		timeoutMs: 2000,
		retries: 0,
		expectedCodes: "200",
		expectedBody: "",
		followRedirects: false,
		tcp: { hostname: "127.0.0.1", port },
		...overrides,
	};
}

const noFetch = (() => {
	throw new Error("a TCP check must not fetch");
}) as unknown as typeof fetch;

describe("probe: TCP", () => {
	it("is healthy when the connection opens, and closes it", async () => {
		const log = { asked: [] as string[], closed: 0 };
		const result = await probe(
			aTcpTarget(5432),
			noFetch,
			Date.now,
			standIn(async () => ({}), log),
		);
		expect(result).toMatchObject({ ok: true, key: "pool/origin", reason: "connection established to port 5432" });
		expect(log).toEqual({ asked: ["127.0.0.1:5432"], closed: 1 });
	});

	it("is unhealthy when the connection fails, after retries + 1 attempts", async () => {
		const log = { asked: [] as string[], closed: 0 };
		const refused = standIn(() => Promise.reject(new Error("connect ECONNREFUSED")), log);
		const result = await probe(aTcpTarget(5432, { retries: 2 }), noFetch, Date.now, refused);
		expect(result).toMatchObject({ ok: false, failure: "unreachable", reason: "unreachable: connect ECONNREFUSED" });
		expect(log.asked).toHaveLength(3);
		expect(log.closed).toBe(3);
	});

	it("passes on a retry when a later attempt opens", async () => {
		let attempts = 0;
		const log = { asked: [] as string[], closed: 0 };
		const flaky = standIn(() => (++attempts < 2 ? Promise.reject(new Error("reset")) : Promise.resolve({})), log);
		expect(await probe(aTcpTarget(5432, { retries: 1 }), noFetch, Date.now, flaky)).toMatchObject({ ok: true });
		expect(log.asked).toHaveLength(2);
	});

	it("times out when the connection does not open within the timeout", async () => {
		const log = { asked: [] as string[], closed: 0 };
		const hanging = standIn(() => new Promise(() => undefined), log);
		const result = await probe(aTcpTarget(1, { timeoutMs: 50 }), noFetch, Date.now, hanging);
		expect(result).toMatchObject({ ok: false, failure: "timeout", reason: "timeout after 50 ms" });
		expect(log.closed).toBe(1);
	});

	it("fails, saying why, where no socket support is passed", async () => {
		const result = await probe(aTcpTarget(5432), noFetch);
		expect(result).toMatchObject({ ok: false, failure: "unreachable" });
		expect(result.reason).toContain("no socket support");
	});
});

describe("toProbeTarget: TCP", () => {
	const monitor = (port: number) =>
		aValidConfig({ monitors: [{ id: "m", type: "tcp", port, method: "connection_established" }] }).monitors[0];
	const originAt = (address: string) => {
		const base = toOriginBase(address);
		if (typeof base === "string") throw new Error(base);
		return { key: "p/o", enabled: true, base };
	};

	it.each([
		{ address: "http://127.0.0.1:9001", port: 0, expected: { hostname: "127.0.0.1", port: 9001 } },
		{ address: "http://127.0.0.1:9001", port: 5432, expected: { hostname: "127.0.0.1", port: 5432 } },
		{ address: "db.example.com", port: 0, expected: { hostname: "db.example.com", port: 80 } },
		{ address: "https://db.example.com", port: 0, expected: { hostname: "db.example.com", port: 443 } },
		{ address: "http://[::1]:8080", port: 0, expected: { hostname: "::1", port: 8080 } },
	])(
		"$address with monitor port $port connects to $expected.hostname:$expected.port",
		({ address, port, expected }) => {
			const target = toProbeTarget(originAt(address), monitor(port) as NonNullable<ReturnType<typeof monitor>>);
			expect(target.tcp).toEqual(expected);
		},
	);
});
