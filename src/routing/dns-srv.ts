/**
 * DNS SRV over HTTPS, pure: the request to ask a DoH resolver (RFC 8484: the wire format's GET with
 * `?dns=`, or the JSON API `application/dns-json` that Cloudflare and Google answer), the answer
 * read back into SRV records (RFC 2782), and the records turned into a pool's origins: target and
 * port become the origin, weight its weight, and each priority value a failover tier (the lowest
 * value takes the traffic; the next only while none of it can).
 * https://www.rfc-editor.org/rfc/rfc8484 · https://www.rfc-editor.org/rfc/rfc2782 ·
 * https://developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/
 */
import type { DiscoveredOrigin } from "../contract/discovery";

export const SRV_TYPE = 33;
const CLASS_IN = 1;

export interface SrvRecord {
	readonly priority: number;
	readonly weight: number;
	readonly port: number;
	/** Without the trailing dot; "." (no service) is never returned. */
	readonly target: string;
}

export interface DohRequest {
	readonly url: string;
	readonly headers: Record<string, string>;
}

/** The GET that asks `resolver` for the SRV records of `name`. */
export function toDohRequest(resolver: string, name: string, format: "json" | "wire"): DohRequest {
	const url = new URL(resolver);
	if (format === "json") {
		url.searchParams.set("name", name);
		url.searchParams.set("type", "SRV");
		return { url: url.href, headers: { accept: "application/dns-json" } };
	}
	url.searchParams.set("dns", toBase64Url(toDnsQuery(name, SRV_TYPE)));
	return { url: url.href, headers: { accept: "application/dns-message" } };
}

/** A DNS query message (RFC 1035 §4.1) for one name and type, id 0 as RFC 8484 §4.1 asks for caching. */
export function toDnsQuery(name: string, type: number): Uint8Array {
	const labels = name.replace(/\.$/, "").split(".");
	const bytes: number[] = [0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
	for (const label of labels) {
		const encoded = new TextEncoder().encode(label);
		if (encoded.length === 0 || encoded.length > 63)
			throw new Error(`"${name}" has a label of ${encoded.length} bytes`);
		bytes.push(encoded.length, ...encoded);
	}
	bytes.push(0, type >> 8, type & 0xff, 0, CLASS_IN);
	return Uint8Array.from(bytes);
}

function toBase64Url(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

function rcodeText(code: number): string {
	return RCODES[code] ?? `RCODE ${code}`;
}

/** The SRV records of a JSON answer (`application/dns-json`), or why there are none to take. */
export function fromDohJson(body: unknown): SrvRecord[] | string {
	if (body === null || typeof body !== "object") return "the answer is not a JSON object";
	const { Status, Answer } = body as { Status?: unknown; Answer?: unknown };
	if (typeof Status !== "number") return "the answer has no Status";
	if (Status !== 0) return `the resolver answered ${rcodeText(Status)}`;
	const records: SrvRecord[] = [];
	for (const answer of Array.isArray(Answer) ? Answer : []) {
		if (answer?.type !== SRV_TYPE || typeof answer.data !== "string") continue;
		const parts = answer.data.trim().split(/\s+/);
		if (parts.length !== 4) return `an SRV record reads "${answer.data}", not "priority weight port target"`;
		const [priority, weight, port] = parts.slice(0, 3).map(Number) as [number, number, number];
		const record = toRecord(priority, weight, port, parts[3] as string);
		if (typeof record === "string") return record;
		if (record) records.push(record);
	}
	return records;
}

/** The SRV records of a wire-format answer (`application/dns-message`), or why there are none to take. */
export function fromDnsMessage(message: Uint8Array): SrvRecord[] | string {
	const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
	try {
		if (message.length < 12) return "the answer is shorter than a DNS header";
		const rcode = view.getUint16(2) & 0x0f;
		if (rcode !== 0) return `the resolver answered ${rcodeText(rcode)}`;
		const questions = view.getUint16(4);
		const answers = view.getUint16(6);
		let at = 12;
		for (let i = 0; i < questions; i++) at = readName(message, at).next + 4;
		const records: SrvRecord[] = [];
		for (let i = 0; i < answers; i++) {
			at = readName(message, at).next;
			const type = view.getUint16(at);
			const length = view.getUint16(at + 8);
			const data = at + 10;
			at = data + length;
			if (at > message.length) return "an answer record runs past the end of the message";
			if (type !== SRV_TYPE) continue;
			const target = readName(message, data + 6).name;
			const record = toRecord(view.getUint16(data), view.getUint16(data + 2), view.getUint16(data + 4), target);
			if (typeof record === "string") return record;
			if (record) records.push(record);
		}
		return records;
	} catch (error) {
		return `the answer is not a DNS message (${error instanceof Error ? error.message : String(error)})`;
	}
}

/** A domain name at `offset` (RFC 1035 §4.1.4: labels, or a pointer to them), and where the record goes on. */
function readName(message: Uint8Array, offset: number): { name: string; next: number } {
	const labels: string[] = [];
	let at = offset;
	let next: number | undefined;
	for (let jumps = 0; ; ) {
		const length = message[at];
		if (length === undefined) throw new Error("a name runs past the end of the message");
		if (length === 0) {
			next ??= at + 1;
			break;
		}
		if ((length & 0xc0) === 0xc0) {
			const pointer = ((length & 0x3f) << 8) | (message[at + 1] ?? 0);
			next ??= at + 2;
			if (++jumps > 32) throw new Error("a name's pointers loop");
			at = pointer;
			continue;
		}
		labels.push(new TextDecoder().decode(message.subarray(at + 1, at + 1 + length)));
		at += 1 + length;
	}
	return { name: labels.join("."), next };
}

function toRecord(priority: number, weight: number, port: number, target: string): SrvRecord | undefined | string {
	const valid = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
	if (!valid(priority) || !valid(weight) || !valid(port)) return "an SRV record has a number out of range";
	const host = target.replace(/\.$/, "").toLowerCase();
	// "." says the service is not offered there (RFC 2782); port 0 cannot be reached.
	if (host === "" || port === 0) return undefined;
	return { priority, weight, port, target: host };
}

/**
 * A pool's origins from its SRV records: named "<target>:<port>", weight the SRV weight (0, "very
 * little" in RFC 2782, counts as 1 beside its weighted peers), one tier per priority value, lowest first.
 */
export function toSrvOrigins(poolId: string, records: readonly SrvRecord[]): DiscoveredOrigin[] {
	const priorities = [...new Set(records.map((record) => record.priority))].sort((a, b) => a - b);
	const seen = new Set<string>();
	const origins: DiscoveredOrigin[] = [];
	for (const record of [...records].sort((a, b) => a.priority - b.priority)) {
		const name = `${record.target}:${record.port}`;
		if (seen.has(name)) continue;
		seen.add(name);
		const tier = priorities.indexOf(record.priority);
		origins.push({
			pool: poolId,
			name,
			address: record.target,
			port: record.port,
			weight: Math.max(1, record.weight),
			source: "dns",
			...(tier > 0 ? { tier } : {}),
		});
	}
	return origins;
}
