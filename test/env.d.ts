// Types of `env` from cloudflare:workers and cloudflare:test in the Workers-runtime tests.
type SwitchyardEnv = import("../src/env").Env;
declare namespace Cloudflare {
	interface Env extends SwitchyardEnv {}
}
