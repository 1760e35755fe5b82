/**
 * IP addresses and CIDR ranges for the `ip.src` field: `ip.src eq 192.0.2.1`, `ip.src in
 * { 10.0.0.0/8 2001:db8::/32 }`. Addresses become one number per family (IPv4 in 32 bits, IPv6 in
 * 128, as a bigint), so a range test is a mask and a compare. An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1) counts as the IPv4 one. Pure.
 */

export interface IpAddress {
	readonly family: 4 | 6;
	readonly value: bigint;
}

export interface IpRange {
	readonly family: 4 | 6;
	/** The network's bits (host bits cleared). */
	readonly network: bigint;
	readonly mask: bigint;
}

function parseV4(text: string): bigint | undefined {
	const parts = text.split(".");
	if (parts.length !== 4) return undefined;
	let value = 0n;
	for (const part of parts) {
		if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
		value = (value << 8n) | BigInt(Number(part));
	}
	return value;
}

function parseV6(text: string): bigint | undefined {
	let body = text;
	// A trailing dotted IPv4 part stands for the last two groups.
	const dotted = /(\d{1,3}(\.\d{1,3}){3})$/.exec(text);
	if (dotted) {
		const v4 = parseV4(dotted[1] as string);
		if (v4 === undefined) return undefined;
		body = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
	}
	const halves = body.split("::");
	if (halves.length > 2) return undefined;
	const groups = (half: string) => (half === "" ? [] : half.split(":"));
	const head = groups(halves[0] as string);
	const rest = halves.length === 2 ? groups(halves[1] as string) : [];
	const given = head.length + rest.length;
	if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
	const all = [...head, ...Array(8 - given).fill("0"), ...rest];
	let value = 0n;
	for (const group of all) {
		if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return undefined;
		value = (value << 16n) | BigInt(Number.parseInt(group, 16));
	}
	return value;
}

/** An address as text (a client's CF-Connecting-IP, or a literal); undefined when it is not one. */
export function toIpAddress(text: string): IpAddress | undefined {
	if (text.includes(":")) {
		const value = parseV6(text);
		if (value === undefined) return undefined;
		if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
		return { family: 6, value };
	}
	const value = parseV4(text);
	return value === undefined ? undefined : { family: 4, value };
}

/** "10.0.0.0/8", "2001:db8::/32", or one address (a range of one); undefined when it is neither. */
export function toIpRange(text: string): IpRange | undefined {
	const slash = text.indexOf("/");
	const address = toIpAddress(slash === -1 ? text : text.slice(0, slash));
	if (!address) return undefined;
	const bits = address.family === 4 ? 32 : 128;
	const prefixText = slash === -1 ? String(bits) : text.slice(slash + 1);
	if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
	const prefix = BigInt(Number(prefixText));
	const all = (1n << BigInt(bits)) - 1n;
	const mask = all ^ ((1n << (BigInt(bits) - prefix)) - 1n);
	return { family: address.family, network: address.value & mask, mask };
}

export function isInRange(address: IpAddress, range: IpRange): boolean {
	return address.family === range.family && (address.value & range.mask) === range.network;
}
