/** What global-setup.ts provides to the Workers-runtime tests (vitest provide/inject). */
declare module "vitest" {
	export interface ProvidedContext {
		/** Origin name → base URL, e.g. { a: "http://127.0.0.1:41234" }. */
		origins: Record<string, string>;
		/** A loopback URL where nothing listens: connections are refused. */
		deadOrigin: string;
		/** A webhook receiver on loopback (test/support/alert-receiver.ts). */
		alertReceiver: string;
		/** A DNS-over-HTTPS responder on loopback (test/support/doh-responder.ts): resolver URL and control base. */
		doh: { url: string; control: string };
	}
}

export {};
