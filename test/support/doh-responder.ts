/**
 * A DNS-over-HTTPS responder on loopback for the DNS SRV tests (issue 22): answers GET /dns-query in
 * the JSON API (`?name=…&type=SRV`, application/dns-json) and in RFC 8484's wire format (`?dns=…`),
 * with the SRV records it was told. Written here from RFC 1035 and RFC 8484, not a DNS library, so
 * what it sends is what the tests say. Control (plain HTTP, so workerd tests can use it too):
 *   PUT  /_doh/records   [{ priority, weight, port, target }, …]   the answer from now on
 *   POST /_doh/fail?status=500 | ?status=0                         fail every lookup with it (0: answer again)
 *   GET  /_doh/lookups                                              how many lookups it answered or failed
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SrvAnswer {
	readonly priority: number;
	readonly weight: number;
	readonly port: number;
	readonly target: string;
}

export interface DohResponder {
	/** The resolver URL to configure (…/dns-query). */
	readonly url: string;
	/** The control base (…/_doh). */
	readonly control: string;
	close(): Promise<void>;
}

function encodeName(name: string): number[] {
	const bytes: number[] = [];
	for (const label of name.replace(/\.$/, "").split(".")) {
		if (label === "") continue;
		const encoded = Buffer.from(label, "utf8");
		bytes.push(encoded.length, ...encoded);
	}
	bytes.push(0);
	return bytes;
}

/** The question section's end in a query message (after its one name, type and class). */
function questionEnd(query: Buffer): number {
	let at = 12;
	while (query[at] !== 0) at += 1 + (query[at] as number);
	return at + 5;
}

function toWireAnswer(query: Buffer, records: readonly SrvAnswer[]): Buffer {
	const question = query.subarray(12, questionEnd(query));
	const header = Buffer.alloc(12);
	header.writeUInt16BE(query.readUInt16BE(0), 0);
	header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, NOERROR
	header.writeUInt16BE(1, 4);
	header.writeUInt16BE(records.length, 6);
	const answers = records.map((record) => {
		const target = encodeName(record.target);
		const data = Buffer.alloc(6 + target.length);
		data.writeUInt16BE(record.priority, 0);
		data.writeUInt16BE(record.weight, 2);
		data.writeUInt16BE(record.port, 4);
		Buffer.from(target).copy(data, 6);
		const fixed = Buffer.alloc(12);
		fixed.writeUInt16BE(0xc00c, 0); // the question's name, by pointer
		fixed.writeUInt16BE(33, 2);
		fixed.writeUInt16BE(1, 4);
		fixed.writeUInt32BE(30, 6);
		fixed.writeUInt16BE(data.length, 10);
		return Buffer.concat([fixed, data]);
	});
	return Buffer.concat([header, question, ...answers]);
}

export async function startDohResponder(): Promise<DohResponder> {
	let records: SrvAnswer[] = [];
	let failStatus = 0;
	let lookups = 0;
	const server = createServer((request, response) => {
		const url = new URL(request.url ?? "/", "http://doh");
		const chunks: Buffer[] = [];
		request.on("data", (chunk: Buffer) => chunks.push(chunk));
		request.on("end", () => {
			if (url.pathname === "/_doh/records" && request.method === "PUT") {
				records = JSON.parse(Buffer.concat(chunks).toString("utf8")) as SrvAnswer[];
				response.writeHead(204).end();
				return;
			}
			if (url.pathname === "/_doh/fail") {
				failStatus = Number(url.searchParams.get("status") ?? 500);
				response.writeHead(204).end();
				return;
			}
			if (url.pathname === "/_doh/lookups") {
				response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ lookups }));
				return;
			}
			if (url.pathname !== "/dns-query") {
				response.writeHead(404).end();
				return;
			}
			lookups++;
			if (failStatus !== 0) {
				response.writeHead(failStatus, { "content-type": "text/plain" }).end("resolver failing on purpose");
				return;
			}
			const wire = url.searchParams.get("dns");
			if (wire !== null) {
				const answer = toWireAnswer(Buffer.from(wire, "base64url"), records);
				response.writeHead(200, { "content-type": "application/dns-message" }).end(answer);
				return;
			}
			const name = url.searchParams.get("name") ?? "";
			response.writeHead(200, { "content-type": "application/dns-json" }).end(
				JSON.stringify({
					Status: 0,
					Question: [{ name, type: 33 }],
					Answer: records.map((record) => ({
						name,
						type: 33,
						TTL: 30,
						data: `${record.priority} ${record.weight} ${record.port} ${record.target}.`,
					})),
				}),
			);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	const base = `http://127.0.0.1:${port}`;
	return {
		url: `${base}/dns-query`,
		control: `${base}/_doh`,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
