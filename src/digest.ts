/** SHA-256 digests of text, shared by the admin API (who made a change) and affinity (which key signed). Pure. */

export function sha256(text: string): Promise<ArrayBuffer> {
	return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** The first 4 bytes of the text's SHA-256 in hex: names a secret in logs and cookies without revealing it. */
export async function shortDigest(text: string): Promise<string> {
	const digest = new Uint8Array(await sha256(text));
	return [...digest.slice(0, 4)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
