/**
 * The declarative configuration bundled with the Worker (switchyard.config.json, see
 * scripts/build-seed.mjs). The registry applies it whenever its content hash differs from the
 * last one applied, so editing the file and redeploying takes effect, while changes made through
 * the admin API stay until the file changes again.
 */
export interface Seed {
	/** SHA-256 of the file's text, hex. */
	readonly hash: string;
	/** Where it came from, for the audit log. */
	readonly source: string;
	readonly json: string;
}
