/**
 * The reference Workers' one concession to the testbed: ORIGIN may list several addresses,
 * comma-separated, taken in turn, so that they reach the same origins as Switchyard's rows. At one
 * connection, going round three origins costs any Worker on the benchmark machine about 0.07 ms
 * of p50 by itself (docs/benchmarks.md): the testbed's, not the balancer's. Parsed once per isolate.
 */
let parsed: { list: string; origins: string[]; next: number } | undefined;

export function nextOrigin(list: string): string {
	if (parsed?.list !== list) parsed = { list, origins: list.split(",").map((one) => one.trim()), next: 0 };
	const origin = parsed.origins[parsed.next] as string;
	parsed.next = (parsed.next + 1) % parsed.origins.length;
	return origin;
}
