/**
 * The Workers-runtime pool both test configurations use (vitest.config.ts's `workers` layer and
 * vitest.faults.config.ts's `faults-workers`): the Worker and its Durable Objects from wrangler.toml,
 * with the admin tokens and hostnames the tests send.
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";

export function workersPool() {
	return cloudflareTest({
		wrangler: { configPath: "./wrangler.toml" },
		miniflare: {
			bindings: {
				ADMIN_TOKEN: "test-admin-token",
				ADMIN_READ_TOKEN: "test-read-token",
				// Issue 22: the token that may only register and deregister origins.
				REGISTRATION_TOKEN: "test-registration-token",
				ADMIN_HOSTNAMES: "admin.test,localhost",
				// The secret the alert tests' notifications name (secret_name).
				ALERT_TEST_SECRET: "test-alert-secret",
			},
		},
	});
}
