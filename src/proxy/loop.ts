/**
 * Loop protection with CDN-Loop (RFC 8586): every request we forward carries our entry, and a
 * request that already carries it too many times is answered 508 instead of going round again —
 * say, when an origin address points back at the balancer. Pure.
 * https://www.rfc-editor.org/rfc/rfc8586
 */

/** Our cdn-id in CDN-Loop. */
export const CDN_LOOP_ID = "switchyard";
/** A request that has passed through us this many times already is a loop. */
export const MAX_LOOP_HOPS = 2;

/** How many times `id` already appears in a CDN-Loop header value (entries are comma-separated, parameters after ";"). */
export function countLoopHops(cdnLoop: string | null, id = CDN_LOOP_ID): number {
	if (!cdnLoop) return 0;
	let hops = 0;
	for (const entry of cdnLoop.split(",")) {
		if (entry.split(";")[0]?.trim().toLowerCase() === id) hops++;
	}
	return hops;
}

/** The CDN-Loop value to send on: the incoming entries plus ours. */
export function withLoopEntry(cdnLoop: string | null, id = CDN_LOOP_ID): string {
	return cdnLoop?.trim() ? `${cdnLoop}, ${id}` : id;
}
