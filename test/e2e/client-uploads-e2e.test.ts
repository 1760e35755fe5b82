/**
 * End to end: a client's broken or stalled upload is the client's failure, never the origin's.
 * The real `wrangler dev`, two real origins on loopback in this process, and a raw TCP client
 * (node:net): only a raw socket can really cut an upload midway or leave it hanging, which an
 * HTTP client library will not do on purpose. The Workers-runtime layer (test/workers/client-bodies.test.ts)
 * checks the same in-process, with streams standing in for the client.
 *
 * Each upload declares `Content-Length: 100000` (more than max_retry_body_bytes, so it streams to
 * the origin) and sends ten bytes. More of them than passive health's threshold, spread over both
 * origins by round robin, leave both origins healthy, not ejected, with no failure counted and no
 * lease left in flight; the GETs after them still alternate between the two. A stalled upload is
 * answered 408 after about idle_timeout_ms, and wrangler dev then closes the connection. The last
 * test is the control: an origin that really answers 5xx is counted and ejected, and the GETs
 * after it show the gap.
 *
 * A rebuild of wrangler dev (a file under src/ changed) restarts the counter objects, whose
 * in-memory passive-health counts would then read 0 whatever happened: each test fails if one
 * happened while it ran, rather than passing on a reset.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OriginServer, startOrigin } from "../../demo/origin.ts";
import { startWranglerDev, type WranglerDev } from "../../demo/wrangler-dev.ts";
import { adminCall, adminResult } from "../support/admin-api.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "e2e-admin-token";
/** The load balancer's proxy.idle_timeout_ms: how long a stalled upload may wait for its client. */
const IDLE_MS = 1_500;
/** What wrangler dev may add on top of IDLE_MS before the 408 reaches the client. */
const MARGIN_MS = 3_000;
/** Passive health: failures in a row that would eject an origin. */
const THRESHOLD = 3;
/** Uploads per test: round robin gives each origin THRESHOLD of them, enough to eject either if they counted. */
const UPLOADS = 2 * THRESHOLD;
const DECLARED_LENGTH = 100_000;
const PARTIAL_BODY = "0123456789";
/** Bound of every wait on the balancer or an origin (the test fails rather than hangs). */
const WAIT_MS = 10_000;

/** The parts of GET /status these tests read (src/contract/status.ts). */
interface OriginStatus {
	name: string;
	healthy: boolean;
	in_flight: number;
	passive_failures: number;
	ejected_until: string | null;
}
interface StatusReport {
	pools: { id: string; origins: OriginStatus[] }[];
	counters: { name: string; in_flight: number; answered: boolean }[];
}

let wrangler: WranglerDev;
let origins: OriginServer[];
let stateDir: string;
let port: number;

beforeAll(async () => {
	origins = await Promise.all(["east", "west"].map((name) => startOrigin({ name })));
	stateDir = mkdtempSync(join(tmpdir(), "switchyard-client-uploads-e2e-"));
	port = await freePort();
	wrangler = await startWranglerDev({ port, vars: { ADMIN_TOKEN: TOKEN }, persistTo: stateDir });
	const response = await adminCall(wrangler.url, TOKEN, "PUT", "/config", {
		pools: [
			{
				id: "p",
				name: "p",
				origin_steering: { policy: "round_robin" },
				origins: origins.map((origin) => ({ name: origin.name, address: origin.url })),
			},
		],
		load_balancers: [
			{
				name: "localhost",
				default_pools: ["p"],
				// Exact shares: who plans must not depend on how busy the machine is (the latency budget, off).
				counter_rtt_budget_ms: 0,
				// 100%: passive health may eject either origin (one at most while the other is still there).
				outlier_detection: { consecutive_failures: THRESHOLD, base_ejection_s: 60, max_ejection_percent: 100 },
				proxy: { idle_timeout_ms: IDLE_MS, debug_headers: true },
			},
		],
	});
	expect(response.status).toBe(200);
	await response.arrayBuffer();
});

afterAll(async () => {
	await wrangler?.stop();
	await Promise.all((origins ?? []).map((origin) => origin.close()));
	if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** Rejects after `ms` with `what`, so a wait that never ends fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
	});
	return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Which origin receives the first chunk of the upload to `url` (registered before the upload starts). */
function firstChunkAt(url: string): Promise<string> {
	return within(
		new Promise<string>((resolve) => {
			const listeners = origins.map((origin) => {
				const listener = (event: { url: string }) => {
					if (event.url !== url) return;
					origins.forEach((other, i) => {
						other.events.off("upload-chunk", listeners[i] as never);
					});
					resolve(origin.name);
				};
				origin.events.on("upload-chunk", listener);
				return listener;
			});
		}),
		WAIT_MS,
		`the first chunk of ${url} at an origin`,
	);
}

/** A raw HTTP/1.1 upload in progress: headers declaring DECLARED_LENGTH bytes, then only PARTIAL_BODY. */
interface RawUpload {
	readonly socket: Socket;
	/** `Date.now()` when the partial body was written. */
	readonly sentAt: number;
	/** Everything the server sent so far (latin1). */
	received(): string;
	/** `Date.now()` when the response head (status line and headers) was complete. */
	readonly head: Promise<number>;
	/** Resolves when the socket closed; `endedByServer` when the server ended it (FIN) first. */
	readonly closed: Promise<{ endedByServer: boolean; at: number }>;
}

async function startUpload(path: string): Promise<RawUpload> {
	const socket = connect({ host: "127.0.0.1", port });
	socket.on("error", () => {}); // a destroyed or reset socket; `closed` reports it
	let text = "";
	let endedByServer = false;
	const closed = new Promise<{ endedByServer: boolean; at: number }>((resolve) => {
		socket.once("end", () => {
			endedByServer = true;
		});
		socket.once("close", () => resolve({ endedByServer, at: Date.now() }));
	});
	const head = new Promise<number>((resolve, reject) => {
		socket.on("data", (chunk: Buffer) => {
			text += chunk.toString("latin1");
			if (text.includes("\r\n\r\n")) resolve(Date.now());
		});
		void closed.then(() =>
			reject(new Error(`the connection closed before a response head; got ${JSON.stringify(text)}`)),
		);
	});
	head.catch(() => {}); // awaited (or not) by the test
	await within(
		new Promise<void>((resolve, reject) => {
			socket.once("connect", resolve);
			socket.once("error", reject);
		}),
		WAIT_MS,
		"connecting to wrangler dev",
	);
	socket.write(
		`POST ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/octet-stream\r\n` +
			`Content-Length: ${DECLARED_LENGTH}\r\n\r\n${PARTIAL_BODY}`,
	);
	return { socket, sentAt: Date.now(), received: () => text, head, closed };
}

function status(): Promise<StatusReport> {
	return adminResult<StatusReport>(wrangler.url, TOKEN, "/status");
}

function originStatus(report: StatusReport, name: string): OriginStatus | undefined {
	return report.pools[0]?.origins.find((origin) => origin.name === name);
}

/** Polls /status until `check` holds (bounded by WAIT_MS); returns that report. */
async function statusWhen(check: (report: StatusReport) => boolean, what: string): Promise<StatusReport> {
	const deadline = Date.now() + WAIT_MS;
	let report = await status();
	while (!check(report)) {
		if (Date.now() > deadline) throw new Error(`/status: ${what}, not within ${WAIT_MS} ms: ${JSON.stringify(report)}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
		report = await status();
	}
	return report;
}

/** Nothing counted in flight: no origin, no counter object (each of which answered). */
function settled(report: StatusReport): boolean {
	const originsIdle = report.pools.every((pool) => pool.origins.every((origin) => origin.in_flight === 0));
	const countersIdle = report.counters.every((counter) => counter.answered && counter.in_flight === 0);
	return report.counters.length > 0 && originsIdle && countersIdle;
}

/** Sends `count` GETs one after another; returns each response's status and serving origin. */
async function getMany(label: string, count: number): Promise<{ status: number; origin: string | null }[]> {
	const results: { status: number; origin: string | null }[] = [];
	for (let i = 0; i < count; i++) {
		const response = await fetch(`http://localhost:${port}/${label}?i=${i}`);
		results.push({ status: response.status, origin: response.headers.get("x-switchyard-origin") });
		await response.arrayBuffer();
	}
	return results;
}

/** Both origins healthy, nothing counted against them, not ejected; nothing left in flight. */
async function expectUnharmed(): Promise<void> {
	const report = await statusWhen(settled, "nothing in flight");
	for (const origin of origins) {
		expect(originStatus(report, origin.name), origin.name).toMatchObject({
			healthy: true,
			in_flight: 0,
			passive_failures: 0,
			ejected_until: null,
		});
	}
}

/** GETs still alternate between the two origins: neither was ejected (no gap in what either received). */
async function expectBothServe(label: string): Promise<void> {
	const results = await getMany(label, 2 * THRESHOLD);
	expect(results.filter((result) => result.status !== 200)).toEqual([]);
	for (const origin of origins) {
		expect(results.filter((result) => result.origin === origin.name)).toHaveLength(THRESHOLD);
		expect(origin.received.filter((request) => request.url.startsWith(`/${label}?`))).toHaveLength(THRESHOLD);
	}
}

/** What wrangler printed since `mark`; fails when it rebuilt meanwhile (the counters' state would have reset). */
function outputSince(mark: number): string {
	const output = wrangler.output().slice(mark);
	expect(
		output,
		"wrangler dev rebuilt during the test (a file under src/ changed): passive health restarted",
	).not.toMatch(/restarting build|Reloading local server/);
	return output;
}

describe("client uploads through wrangler dev (raw sockets)", () => {
	it(`${UPLOADS} uploads cut midway: no origin is blamed or ejected, no lease is left in flight`, async () => {
		const mark = wrangler.output().length;
		const servedBy: string[] = [];
		for (let i = 0; i < UPLOADS; i++) {
			const url = `/upload?aborted=${i}`;
			const chunkAt = firstChunkAt(url);
			const upload = await startUpload(url);
			// The upload is under way at the origin (and counted in flight) before the client goes away.
			const origin = await chunkAt;
			servedBy.push(origin);
			if (i === 0) await statusWhen((report) => originStatus(report, origin)?.in_flight === 1, `${origin} in flight`);
			upload.socket.destroy();
			await within(upload.closed, WAIT_MS, "closing the socket");
			expect(upload.received(), `upload ${i}: nothing came back before the client went away`).toBe("");
		}
		// Round robin: each origin got THRESHOLD of them, enough to eject it had they counted.
		for (const origin of origins) expect(servedBy.filter((name) => name === origin.name)).toHaveLength(THRESHOLD);

		await expectUnharmed();
		// No origin took a truncated body for a whole one (its /upload records a request once the body ended).
		for (const origin of origins) {
			expect(origin.received.filter((request) => request.url.startsWith("/upload?aborted="))).toEqual([]);
		}
		await expectBothServe("after-aborted");
		const output = outputSince(mark);
		expect(output).toMatch(/the client's body could not be read/);
		expect(output).not.toMatch(/ejected for/);
	});

	it(`${UPLOADS} uploads that stall: 408 within idle_timeout_ms + ${MARGIN_MS} ms, no origin is blamed or ejected`, async () => {
		const mark = wrangler.output().length;
		const servedBy: string[] = [];
		const timings: number[] = [];
		for (let i = 0; i < UPLOADS; i++) {
			const url = `/upload?stalled=${i}`;
			const chunkAt = firstChunkAt(url);
			const upload = await startUpload(url);
			try {
				const origin = await chunkAt;
				servedBy.push(origin);
				if (i === 0) await statusWhen((report) => originStatus(report, origin)?.in_flight === 1, `${origin} in flight`);
				const headAt = await within(upload.head, IDLE_MS + MARGIN_MS, `upload ${i}: the 408`);
				const ms = headAt - upload.sentAt;
				timings.push(ms);
				const text = upload.received();
				expect(text, `upload ${i}`).toMatch(/^HTTP\/1\.1 408 /);
				expect(text.toLowerCase()).toContain("content-type: application/problem+json");
				expect(ms, `upload ${i}: answered after ${ms} ms`).toBeGreaterThanOrEqual(IDLE_MS - 100);
				expect(ms, `upload ${i}: answered after ${ms} ms`).toBeLessThan(IDLE_MS + MARGIN_MS);
				// The rest of the declared body never came: the server closes the connection after the answer.
				const closed = await within(upload.closed, WAIT_MS, `upload ${i}: the server closing the connection`);
				expect(closed.endedByServer).toBe(true);
				const whole = upload.received();
				const body = JSON.parse(whole.slice(whole.indexOf("\r\n\r\n") + 4)) as { status: number; type: string };
				expect(body).toMatchObject({ status: 408, type: expect.stringMatching(/request-timeout$/) });
			} finally {
				upload.socket.destroy();
			}
		}
		console.info(`client-uploads e2e: 408 after ${timings.join(", ")} ms (idle_timeout_ms ${IDLE_MS})`);
		for (const origin of origins) expect(servedBy.filter((name) => name === origin.name)).toHaveLength(THRESHOLD);

		await expectUnharmed();
		for (const origin of origins) {
			expect(origin.received.filter((request) => request.url.startsWith("/upload?stalled="))).toEqual([]);
		}
		await expectBothServe("after-stalled");
		const output = outputSince(mark);
		expect(output).toMatch(/the client sent nothing for/);
		expect(output).not.toMatch(/ejected for/);
	});

	it("control: an origin that answers uploads with 503 is counted and ejected, and the GETs after it show the gap", async () => {
		const mark = wrangler.output().length;
		const [failing, healthy] = origins as [OriginServer, OriginServer];
		const knob = await fetch(`${failing.url}/_origin/traffic-status?status=503`, { method: "POST" });
		expect(knob.status).toBe(204);
		try {
			const statuses: Record<string, number[]> = {};
			for (let i = 0; i < UPLOADS; i++) {
				const response = await fetch(`http://localhost:${port}/echo?failing=${i}`, {
					method: "POST",
					body: new Uint8Array(DECLARED_LENGTH),
				});
				const origin = response.headers.get("x-switchyard-origin") ?? "?";
				statuses[origin] = [...(statuses[origin] ?? []), response.status];
				await response.arrayBuffer();
			}
			// Not idempotent, so not retried: the client sees the failing origin's own answers.
			expect(statuses).toEqual({
				[failing.name]: Array(THRESHOLD).fill(503),
				[healthy.name]: Array(THRESHOLD).fill(200),
			});
			const report = await statusWhen(
				(next) => settled(next) && originStatus(next, failing.name)?.ejected_until != null,
				`${failing.name} ejected`,
			);
			expect(originStatus(report, healthy.name)).toMatchObject({ passive_failures: 0, ejected_until: null });
		} finally {
			await fetch(`${failing.url}/_origin/traffic-status`, { method: "DELETE" });
		}
		const after = await getMany("after-failing", 2 * THRESHOLD);
		expect(after).toEqual(Array(2 * THRESHOLD).fill({ status: 200, origin: healthy.name }));
		expect(failing.received.filter((request) => request.url.startsWith("/after-failing?"))).toEqual([]);
		expect(outputSince(mark)).toMatch(/ejected for/);
	});
});
