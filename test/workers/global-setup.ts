/**
 * Runs in Node before the Workers-runtime tests: starts real origin servers on loopback (the demo
 * origin, which records what it receives) and a port with nothing listening, and hands their URLs
 * to the tests with provide/inject.
 */
import type { TestProject } from "vitest/node";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";

import "./provided-context.ts";
import { startAlertReceiver } from "../support/alert-receiver.ts";
import { startDohResponder } from "../support/doh-responder.ts";
import { freePort } from "../support/ports.ts";

export const ORIGIN_NAMES = ["a", "b", "c", "d", "e"] as const;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
	const servers: OriginServer[] = await Promise.all(ORIGIN_NAMES.map((name) => startOrigin({ name })));
	project.provide("origins", Object.fromEntries(servers.map((server) => [server.name, server.url])));
	project.provide("deadOrigin", `http://127.0.0.1:${await freePort()}`);
	const receiver = await startAlertReceiver();
	project.provide("alertReceiver", receiver.url);
	const doh = await startDohResponder();
	project.provide("doh", { url: doh.url, control: doh.control });
	return async () => {
		await Promise.all([...servers.map((server) => server.close()), receiver.close(), doh.close()]);
	};
}
