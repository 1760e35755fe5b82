/**
 * Which client addresses are proxies we trust (proxy.trusted_proxies, as CIDRs): for those, the
 * X-Forwarded-For chain they send is kept and the address appended; for everyone else it is
 * replaced. IPv4 and IPv6, pure.
 */

/** An address as a bigint and its bit length, or undefined when it does not parse. */
function toBits(address: string): { value: bigint; bits: 32 | 128 } | undefined {
	const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
	if (ipv4) {
		const parts = ipv4.slice(1).map(Number);
		if (parts.some((part) => part > 255)) return undefined;
		return { value: parts.reduce((sum, part) => (sum << 8n) | BigInt(part), 0n), bits: 32 };
	}
	if (!address.includes(":")) return undefined;
	const [head = "", tail, extra] = address.toLowerCase().split("::");
	if (extra !== undefined) return undefined;
	const headGroups = head ? head.split(":") : [];
	const tailGroups = tail ? tail.split(":") : [];
	const missing = 8 - headGroups.length - tailGroups.length;
	if ((tail === undefined && missing !== 0) || missing < 0) return undefined;
	const groups = [...headGroups, ...Array(tail === undefined ? 0 : missing).fill("0"), ...tailGroups];
	if (groups.length !== 8 || groups.some((group) => !/^[0-9a-f]{1,4}$/.test(group))) return undefined;
	return { value: groups.reduce((sum, group) => (sum << 16n) | BigInt(`0x${group}`), 0n), bits: 128 };
}

export function isInCidr(address: string, cidr: string): boolean {
	const [network = "", prefixText] = cidr.split("/");
	const ip = toBits(address);
	const net = toBits(network);
	const prefix = Number(prefixText);
	if (!ip || !net || ip.bits !== net.bits || !Number.isInteger(prefix) || prefix < 0 || prefix > ip.bits) return false;
	const shift = BigInt(ip.bits - prefix);
	return ip.value >> shift === net.value >> shift;
}

export function isTrustedProxy(address: string | undefined, cidrs: readonly string[]): boolean {
	return address !== undefined && cidrs.some((cidr) => isInCidr(address, cidr));
}
