/**
 * What may be sent as an HTTP header's value (RFC 9110 §5.5): visible characters, spaces and tabs,
 * and obs-text (0x80–0xFF). A line break would split the header, and `Headers.set` throws on it
 * and on any character above 0xFF, so a fixed response's content type or Location is checked
 * here when the configuration is written, and again before it is sent. Pure.
 */

const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function isHeaderValue(value: string): boolean {
	return HEADER_VALUE.test(value);
}

/** Why `value` is not a header value, for a validation error; undefined when it is one. */
export function toHeaderValueProblem(value: string): string | undefined {
	for (let i = 0; i < value.length; i++) {
		const code = value.charCodeAt(i);
		if (code === 9 || (code >= 0x20 && code !== 0x7f && code <= 0xff)) continue;
		const point = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
		return code === 10 || code === 13
			? `a header value cannot hold a line break (${point} at character ${i + 1})`
			: code > 0xff
				? `a header value holds characters up to U+00FF only (${point} at character ${i + 1}); percent-encode a URL`
				: `a header value cannot hold the control character ${point} (at character ${i + 1})`;
	}
	return undefined;
}
