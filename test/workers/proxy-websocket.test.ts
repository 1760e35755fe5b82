/**
 * WebSocket upgrades through the Worker inside workerd, to a real WebSocket origin on loopback
 * (the demo origin's /ws echo): messages both ways, and the socket counted in flight for as long
 * as it is open. The same with a real client over HTTP is in test/e2e/websocket-e2e.test.ts.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { adminResult, onePoolConfig, putConfig, received, startClean } from "./helpers";

beforeEach(startClean);

/** Opens a WebSocket through the Worker; `settled` waits for the invocation's background work as it is then. */
async function connect(url: string, headers: Record<string, string> = {}) {
	const ctx = createExecutionContext();
	const response = await worker.fetch(
		new Request(url, { headers: { upgrade: "websocket", ...headers } }) as Request<
			unknown,
			IncomingRequestCfProperties
		>,
		env,
		ctx,
	);
	return { response, settled: () => waitOnExecutionContext(ctx) };
}

/** The next `count` messages on `socket`, as text. */
function nextMessages(socket: WebSocket, count: number): Promise<string[]> {
	return new Promise((resolve) => {
		const got: string[] = [];
		const onMessage = (event: MessageEvent) => {
			got.push(typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer));
			if (got.length === count) {
				socket.removeEventListener("message", onMessage);
				resolve(got);
			}
		};
		socket.addEventListener("message", onMessage);
	});
}

async function inFlightByOrigin(): Promise<Record<string, number>> {
	const status = await adminResult<{ pools: { origins: { name: string; in_flight: number }[] }[] }>("/status");
	return Object.fromEntries(status.pools.flatMap((pool) => pool.origins.map((o) => [o.name, o.in_flight])));
}

describe("WebSocket through the balancer", () => {
	it("relays messages to the chosen origin and back, and counts the socket in flight until it closes", async () => {
		await putConfig(onePoolConfig(["a", "b"], { policy: "round_robin" }));
		const { response, settled } = await connect("https://app.test/ws?room=1", {
			"cf-connecting-ip": "203.0.113.5",
			"x-switchyard-origin": "b",
		});
		expect(response.status).toBe(101);
		const origin = response.headers.get("x-switchyard-origin") as string;
		expect(["a", "b"]).toContain(origin);
		const socket = response.webSocket as WebSocket;
		expect(socket).toBeTruthy();
		socket.accept();

		const echoes = nextMessages(socket, 3);
		for (const text of ["hello", "second", "third ✓"]) socket.send(text);
		expect(await echoes).toEqual([`${origin}: hello`, `${origin}: second`, `${origin}: third ✓`]);

		// The origin saw one upgrade request, with our forwarding headers and not the client's spoof.
		const [upgrade] = await received(origin);
		expect(upgrade?.url).toBe("/ws?room=1");
		expect(upgrade?.headers.upgrade).toBe("websocket");
		expect(upgrade?.headers["x-forwarded-for"]).toBe("203.0.113.5");
		expect(upgrade?.headers["x-switchyard-origin"]).toBeUndefined();

		expect(await inFlightByOrigin()).toEqual({ a: origin === "a" ? 1 : 0, b: origin === "b" ? 1 : 0 });

		const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
		socket.close(1000, "done");
		expect((await closed).code).toBe(1000);
		await settled(); // the release of the lease is the invocation's background work
		expect(await inFlightByOrigin()).toEqual({ a: 0, b: 0 });
	});

	it("relays binary messages as binary, byte for byte", async () => {
		// At this compatibility date a Worker's WebSocket hands binary messages over as Blobs
		// (binaryType "blob"), and send() does not take a Blob: a relay that passes event.data on
		// unchanged sends the text "[object Blob]" instead of the bytes.
		await putConfig(onePoolConfig(["c"]));
		const { response, settled } = await connect("https://app.test/ws");
		expect(response.status).toBe(101);
		const socket = response.webSocket as WebSocket;
		socket.accept();
		socket.binaryType = "arraybuffer";
		const echo = new Promise<unknown>((resolve) =>
			socket.addEventListener("message", (event) => resolve(event.data), { once: true }),
		);
		socket.send(new Uint8Array([0, 1, 2, 255]));
		const data = await echo;
		expect(Object.prototype.toString.call(data), `the echo came back as text: ${String(data)}`).toBe(
			"[object ArrayBuffer]",
		);
		expect([...new Uint8Array(data as ArrayBuffer)]).toEqual([...new TextEncoder().encode("c: "), 0, 1, 2, 255]);
		const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
		socket.close(1000, "done");
		await closed;
		await settled();
		expect(await inFlightByOrigin()).toEqual({ c: 0 });
	});

	it("answers the origin's refusal as it is, and does not count it in flight", async () => {
		await putConfig(onePoolConfig(["a"]));
		const { response, settled } = await connect("https://app.test/not-a-socket");
		expect(response.status).toBe(404);
		expect(response.webSocket).toBeNull();
		await response.body?.cancel();
		await settled();
		expect(await inFlightByOrigin()).toEqual({ a: 0 });
	});
});
