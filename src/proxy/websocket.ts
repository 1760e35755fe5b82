/**
 * WebSocket upgrades: the origin's socket and the client's are joined through a WebSocketPair,
 * message for message, so the balancer sees the connection close — a WebSocket stays in flight
 * for as long as it is open, not just until the upgrade. Workers-only (WebSocketPair).
 * https://developers.cloudflare.com/workers/runtime-apis/websockets/
 */

/** The 101 response for the client, relaying to `origin`; `done` runs once either side closes. */
export function relayWebSocket(origin: WebSocket, headers: Headers, done: () => void): Response {
	const pair = new WebSocketPair();
	const client = pair[0];
	const server = pair[1];
	server.accept();
	origin.accept();
	// Binary frames stay binary: the default "blob" cannot be passed to send().
	server.binaryType = "arraybuffer";
	origin.binaryType = "arraybuffer";
	let closed = false;
	const close = (target: WebSocket, code: number, reason: string) => {
		if (!closed) {
			closed = true;
			done();
		}
		try {
			// 1005/1006 are reserved: they describe a close, they cannot be sent.
			target.close(code === 1005 || code === 1006 ? 1000 : code, reason);
		} catch {
			// Already closed.
		}
	};
	const relay = (to: WebSocket, from: WebSocket) => (event: MessageEvent) => {
		try {
			to.send(event.data);
		} catch {
			// The other side is closing: close this one too.
			close(from, 1011, "peer closed");
		}
	};
	server.addEventListener("message", relay(origin, server));
	origin.addEventListener("message", relay(server, origin));
	server.addEventListener("close", (event) => close(origin, event.code, event.reason));
	origin.addEventListener("close", (event) => close(server, event.code, event.reason));
	server.addEventListener("error", () => close(origin, 1011, "client error"));
	origin.addEventListener("error", () => close(server, 1011, "origin error"));
	return new Response(null, { status: 101, webSocket: client, headers });
}
