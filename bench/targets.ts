/**
 * Starts everything that is measured, each in its own process: the reference Workers (bare,
 * bare+RPC, floor, floor+RPC) and Switchyard (one workerd per policy, each configured once through the admin API) under workerd,
 * and nginx when it is installed.
 */
import { randomBytes } from "node:crypto";
import { bundleReference, bundleSwitchyard, compatibilityDate, compatibilityFlags, PROJECT_ROOT } from "./bundle.ts";
import { startNginx } from "./nginx.ts";
import type { Origin } from "./origins.ts";
import { configureSwitchyard, inFlight } from "./switchyard.ts";
import { durableObjectsOf, startWorkerd } from "./workerd.ts";

export interface Target {
	/** Stable id: bare, bare-rpc, floor, floor-rpc, switchyard-rr, -lc, -p2c, -rr-global, -rr-isolate, nginx. */
	readonly id: string;
	/** What the table shows; says so when a policy runs as another. */
	readonly label: string;
	readonly url: string;
	/** The serving process (workerd; nginx's master only, so not its workers): its CPU time is reported. */
	readonly pid?: number;
	/** Switchyard only: requests its registry counts in flight now. */
	readonly inFlight?: () => Promise<number>;
}

/** Switchyard's rows: origin policies in the default colo scope, and round robin in the other two scopes. */
export const POLICIES = [
	{ id: "switchyard-rr", policy: "round_robin", scope: "colo" },
	{ id: "switchyard-lc", policy: "least_connections", scope: "colo" },
	{ id: "switchyard-p2c", policy: "p2c", scope: "colo" },
	{ id: "switchyard-rr-global", policy: "round_robin", scope: "global" },
	{ id: "switchyard-rr-isolate", policy: "round_robin", scope: "isolate" },
] as const;

export async function startTargets(
	origins: readonly Origin[],
	nginxPath: string | undefined,
	log: (line: string) => void,
): Promise<Target[]> {
	const date = compatibilityDate();
	const flags = compatibilityFlags();
	log("bundling the Workers (wrangler deploy --dry-run)…");
	const [bare, bareRpc, floor, switchyard] = await Promise.all([
		bundleReference("bare.ts"),
		bundleReference("bare-rpc.ts"),
		bundleReference("floor.ts"),
		bundleSwitchyard(),
	]);
	const targets: Target[] = [];

	// Every reference Worker takes the origins Switchyard balances over in turn (bench/next-origin.ts).
	log(`starting workerd: bare, bare+RPC (forwarding to ${origins.map((o) => o.name).join(", ")} in turn)…`);
	const origin = { ORIGIN: origins.map((o) => o.url).join(",") };
	const bareServer = await startWorkerd({
		name: "bare",
		modulePath: bare.modulePath,
		compatibilityDate: date,
		compatibilityFlags: flags,
		text: origin,
	});
	targets.push({ id: "bare", label: "bare", url: bareServer.url, pid: bareServer.child.process.pid });
	const rpcServer = await startWorkerd({
		name: "bare-rpc",
		modulePath: bareRpc.modulePath,
		compatibilityDate: date,
		compatibilityFlags: flags,
		text: origin,
		durableObjects: [{ className: "Noop", binding: "NOOP" }],
	});
	targets.push({ id: "bare-rpc", label: "bare+RPC", url: rpcServer.url, pid: rpcServer.child.process.pid });

	log("starting workerd: floor, floor+RPC (the proxy rules alone, the same origins in turn)…");
	for (const [id, label, rpc] of [
		["floor", "floor", false],
		["floor-rpc", "floor+RPC", true],
	] as const) {
		const server = await startWorkerd({
			name: id,
			modulePath: floor.modulePath,
			compatibilityDate: date,
			compatibilityFlags: flags,
			text: origin,
			...(rpc ? { durableObjects: [{ className: "Noop", binding: "NOOP" }] } : {}),
		});
		targets.push({ id, label, url: server.url, pid: server.child.process.pid });
	}

	const token = randomBytes(24).toString("hex");
	for (const { id, policy, scope } of POLICIES) {
		const server = await startWorkerd({
			name: id,
			modulePath: switchyard.modulePath,
			compatibilityDate: date,
			compatibilityFlags: flags,
			text: { ADMIN_TOKEN: token, ADMIN_HOSTNAMES: "localhost,127.0.0.1" },
			durableObjects: durableObjectsOf(PROJECT_ROOT),
		});
		const configured = await configureSwitchyard(server.url, token, policy, origins, scope);
		for (const message of configured.policyMessages) log(`${id}: admin API says: ${message}`);
		const label = configured.runs === policy ? id : `${id} (runs ${configured.runs})`;
		targets.push({
			id,
			label,
			url: server.url,
			pid: server.child.process.pid,
			inFlight: () => inFlight(server.url, token),
		});
	}

	if (nginxPath) {
		log("starting nginx (round robin, upstream keepalive)…");
		const nginx = await startNginx(nginxPath, origins);
		targets.push({ id: "nginx", label: "nginx rr", url: nginx.url });
	} else {
		log("nginx is not installed: no nginx row (apt-get install -y nginx)");
	}
	return targets;
}
