/**
 * Issue 21: TCP monitors. The probe against a real listening port on 127.0.0.1 and a closed one,
 * through Node's sockets in the shape of cloudflare:sockets' connect (the workers layer runs the real one).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toOriginBase } from "../../../src/config/origin-address";
import { type Connect, type ProbeTarget, probe } from "../../../src/health/probe";
import { toProbeTarget } from "../../../src/health/targets";
import { aValidConfig } from "../../fixtures/config";
import { freePort } from "../../support/ports";

/** cloudflare:sockets' connect, as far as the probe uses it, over Node's net; counts what it opened. */
function nodeConnect(log: { opened: number; closed: number }): Connect {
	return ({ hostname, port }) => {
		const socket: Socket = createConnection({ host: hostname, port });
		const opened = new Promise<void>((resolve, reject) => {
			socket.once("connect", () => {
				log.opened++;
				resolve();
			});
			socket.once("error", reject);
		});
		return {
			opened,
			close: async () => {
				log.closed++;
				socket.destroy();
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

let server: Server;
let openPort: number;
let accepted = 0;

beforeAll(async () => {
	server = createServer((socket) => {
		accepted++;
		socket.on("error", () => undefined);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	openPort = (server.address() as { port: number }).port;
});

afterAll(async () => {
	await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("probe: TCP", () => {
	it("is healthy when the connection opens, and closes it", async () => {
		const log = { opened: 0, closed: 0 };
		const before = accepted;
		const result = await probe(aTcpTarget(openPort), noFetch, Date.now, nodeConnect(log));
		expect(result).toMatchObject({ ok: true, key: "pool/origin" });
		expect(result.reason).toBe(`connection established to port ${openPort}`);
		expect(accepted - before).toBe(1);
		expect(log).toEqual({ opened: 1, closed: 1 });
	});

	it("is unhealthy on a closed port, after retries + 1 attempts", async () => {
		const log = { opened: 0, closed: 0 };
		const closed = await freePort();
		const result = await probe(aTcpTarget(closed, { retries: 2 }), noFetch, Date.now, nodeConnect(log));
		expect(result).toMatchObject({ ok: false, failure: "unreachable" });
		expect(result.reason).toMatch(/^unreachable: .*ECONNREFUSED/);
		expect(log).toEqual({ opened: 0, closed: 3 });
	});

	it("times out when the connection does not open within the timeout", async () => {
		const hanging: Connect = () => ({ opened: new Promise(() => undefined), close: async () => undefined });
		const result = await probe(aTcpTarget(1, { timeoutMs: 50 }), noFetch, Date.now, hanging);
		expect(result).toMatchObject({ ok: false, failure: "timeout", reason: "timeout after 50 ms" });
	});

	it("fails, saying why, where no socket support is passed", async () => {
		const result = await probe(aTcpTarget(openPort), noFetch);
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
