/**
 * The path and query of a request as the client sent them, to be appended to an origin's base:
 * sliced from the raw URL, since URL's own getters re-encode and normalise.
 */

/** The path and query exactly as the client sent them: no re-encoding, no normalisation of the query. */
export function toPathAndQuery(rawUrl: string): string {
	const url = rawUrl.replace(/#.*$/s, "");
	const afterScheme = url.indexOf("//");
	const slash = url.indexOf("/", afterScheme + 2);
	const question = url.indexOf("?", afterScheme + 2);
	if (slash === -1 && question === -1) return "/";
	if (slash === -1 || (question !== -1 && question < slash)) return `/${url.slice(question)}`;
	return url.slice(slash);
}
