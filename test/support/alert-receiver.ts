/**
 * A real webhook receiver on loopback for the alert tests: records every POST (path, headers, the
 * exact body text) and can be told to answer the next N with a status (a receiver that fails
 * first). Control: GET /_receiver/received, DELETE /_receiver/received, POST /_receiver/fail?times=N&status=S.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ReceivedAlert } from "./alert-types.ts";

export interface AlertReceiver {
	readonly url: string;
	close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
	let received: ReceivedAlert[] = [];
	let failures = { times: 0, status: 503 };
	const server = createServer((request, response) => {
		const url = new URL(request.url ?? "/", "http://receiver");
		const chunks: Buffer[] = [];
		request.on("data", (chunk: Buffer) => chunks.push(chunk));
		request.on("end", () => {
			if (url.pathname === "/_receiver/received") {
				if (request.method === "DELETE") {
					received = [];
					failures = { times: 0, status: 503 };
					response.writeHead(204).end();
					return;
				}
				response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received));
				return;
			}
			if (url.pathname === "/_receiver/fail") {
				failures = {
					times: Number(url.searchParams.get("times") ?? 1),
					status: Number(url.searchParams.get("status") ?? 503),
				};
				response.writeHead(204).end();
				return;
			}
			const status = failures.times > 0 ? failures.status : 200;
			if (failures.times > 0) failures.times--;
			received.push({
				path: url.pathname,
				headers: request.headers,
				body: Buffer.concat(chunks).toString("utf8"),
				status,
			});
			response.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "unavailable");
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
