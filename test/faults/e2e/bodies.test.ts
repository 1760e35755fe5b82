/**
 * Fault suite, bodies (issue 15), black box against the real `wrangler dev` with real origins on
 * loopback in this process:
 *
 * - Clients that go away mid-upload (raw node:net sockets: a declared length streamed to the origin,
 *   a chunked body, and a small declared body the Worker keeps for a retry) and mid-download (fetch
 *   aborted, a raw socket destroyed, a gated and a flowing stream): the origin's request is cancelled
 *   (for uploads: the origin's request closes incomplete, seen on node's `http.server.request.start`
 *   diagnostics channel; for downloads: the demo origin's `stream-end` says `complete: false`);
 *   nothing is counted against the origin (`passive_failures` 0, not ejected, with a threshold low
 *   enough that counting them would eject it); no lease is left after 10 s.
 * - 90 MiB uploads (declared length, and chunked) and a 90 MiB download arrive byte for byte
 *   (SHA-256 on both sides; Cloudflare's Free and Pro plans cap request bodies at 100 MB).
 * - A body above `max_retry_body_bytes` is attempted once: its first origin answering 521 (the
 *   edge's "connection refused", after which even a POST is retried when its body was kept) or
 *   dead (nothing listening; a PUT is retried then when its body was kept). The same requests with a
 *   small body are retried: the size is what stops them. The other origins never receive it.
 */
import { createHash, randomBytes } from "node:crypto";
import diagnostics from "node:diagnostics_channel";
import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OriginEventMap, OriginServer } from "../../../demo/origin.ts";
import { recordFigures } from "../figures.ts";
import {
	type Balancer,
	leasesInFlight,
	leasesLeftAfter,
	poolConfig,
	putConfig,
	startBalancer,
	waitFor,
} from "./harness.ts";

const MiB = 1024 * 1024;
/** Cloudflare's Free and Pro plans take request bodies up to 100 MB; 90 MiB stays under it. */
const BIG = 90 * MiB;
/** proxy.max_retry_body_bytes (the default): bodies declared up to this are kept for a retry. */
const MAX_RETRY_BODY = 64 * 1024;
/** Passive health in the disconnect cases: failures in a row that would eject an origin. */
const THRESHOLD = 2;
/** Bound of every wait on the balancer or an origin (a test fails rather than hangs). */
const WAIT_MS = 10_000;
/** proxy.idle_timeout_ms in the disconnect cases: what bounds an origin request whose body is silent. */
const IDLE_MS = 2_000;
/** "At once": an origin request cut within this of its client going away. */
const PROMPT_MS = 1_000;

interface OriginState {
	name: string;
	healthy: boolean;
	pending: boolean;
	in_flight: number;
	passive_failures: number;
	ejected_until: string | null;
}
interface StatusReport {
	pools: { id: string; origins: OriginState[] }[];
}

/** A request an origin server (any of this process's) received, and how it ended. */
interface ServerSide {
	url: string;
	port: number;
	arrivedAt: number;
	/** When its connection closed (undefined: still open). */
	closedAt?: number;
	/** Whether the whole request body arrived. */
	complete?: boolean;
}

let balancer: Balancer;
const serverSide = new Map<string, ServerSide>();
const onRequestStart = (message: unknown) => {
	const { request } = message as { request: IncomingMessage };
	const url = request.url ?? "";
	if (!url.includes("cut=up-")) return;
	const entry: ServerSide = { url, port: request.socket.localPort ?? 0, arrivedAt: Date.now() };
	serverSide.set(url, entry);
	request.once("close", () => {
		entry.closedAt = Date.now();
		entry.complete = request.complete;
	});
};

beforeAll(async () => {
	diagnostics.subscribe("http.server.request.start", onRequestStart);
	balancer = await startBalancer(["east", "west", "bad"]);
});

afterAll(async () => {
	diagnostics.unsubscribe("http.server.request.start", onRequestStart);
	await balancer?.stop();
});

function origin(name: string): OriginServer {
	const found = balancer.origins.get(name);
	if (!found) throw new Error(`no origin ${name}`);
	return found;
}

async function status(): Promise<OriginState[]> {
	const report = await balancer.result<StatusReport>("/status");
	return report.pools.find((pool) => pool.id === "main")?.origins ?? [];
}

async function originState(name: string): Promise<OriginState> {
	const found = (await status()).find((entry) => entry.name === name);
	if (!found) throw new Error(`no origin ${name} in /status`);
	return found;
}

function originsWhen(names: readonly string[], check: (origin: OriginState) => boolean, what: string) {
	return waitFor(
		what,
		async () => {
			const states = await Promise.all(names.map(originState));
			return states.every(check) ? states : undefined;
		},
		{ timeoutMs: WAIT_MS, intervalMs: 50 },
	);
}

/** Rejects after `ms` with `what`, so a wait that never ends fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
	});
	return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The next `event` for `url` at any origin: which origin, and what it said. */
function originEvent<K extends "upload-chunk" | "stream-end">(
	event: K,
	url: string,
	ms = WAIT_MS,
): Promise<{ origin: string; payload: OriginEventMap[K][0] }> {
	const servers = [...balancer.origins.values()];
	const listeners: ((payload: { url: string }) => void)[] = [];
	const found = new Promise<{ origin: string; payload: OriginEventMap[K][0] }>((resolve) => {
		for (const server of servers) {
			const listener = (payload: { url: string }) => {
				if (payload.url === url) resolve({ origin: server.name, payload: payload as OriginEventMap[K][0] });
			};
			listeners.push(listener);
			server.events.on(event, listener as never);
		}
	});
	return within(found, ms, `${event} for ${url} at an origin`).finally(() => {
		servers.forEach((server, i) => {
			server.events.off(event, listeners[i] as never);
		});
	});
}

/** Fails when wrangler dev rebuilt since `mark` (passive counts would have reset): rerun then. */
function outputSince(mark: number): string {
	const output = balancer.wrangler.output().slice(mark);
	expect(output, "wrangler dev reloaded during the test (a file under src/ changed): rerun").not.toMatch(
		/changed, restarting build|Reloading local server/,
	);
	return output;
}

/** A raw HTTP/1.1 client connection to the balancer. */
interface RawClient {
	readonly socket: Socket;
	/** Bytes received after the response head. */
	bodyBytes(): number;
	/** Everything received (latin1), head included; bodies are counted, not kept, past 4 KiB. */
	received(): string;
	readonly closed: Promise<void>;
}

async function rawClient(): Promise<RawClient> {
	const socket = connect({ host: "127.0.0.1", port: balancer.port });
	socket.on("error", () => {});
	let text = "";
	let headEnd = -1;
	let total = 0;
	socket.on("data", (chunk: Buffer) => {
		total += chunk.length;
		if (text.length < 4096) text += chunk.toString("latin1");
		if (headEnd < 0 && text.includes("\r\n\r\n")) headEnd = text.indexOf("\r\n\r\n") + 4;
	});
	const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
	await within(once(socket, "connect"), WAIT_MS, "connecting to wrangler dev");
	return { socket, bodyBytes: () => (headEnd < 0 ? 0 : total - headEnd), received: () => text, closed };
}

function head(method: string, path: string, headers: Record<string, string>): string {
	const lines = Object.entries({ host: `localhost:${balancer.port}`, ...headers }).map(([k, v]) => `${k}: ${v}`);
	return `${method} ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

/** The origin whose port a server-side request arrived on. */
function originAtPort(port: number): string | undefined {
	return [...balancer.origins.values()].find((server) => server.port === port)?.name;
}

describe("faults: bodies (wrangler dev, real origins)", () => {
	it("clients gone mid-upload and mid-download: origin request cancelled, nothing counted, no lease left", async ({
		task,
	}) => {
		await putConfig(
			balancer,
			poolConfig(balancer, ["east", "west"], {
				lb: {
					// 100%: passive health may eject either origin, had a disconnect counted against it.
					outlier_detection: { consecutive_failures: THRESHOLD, base_ejection_s: 60, max_ejection_percent: 100 },
				},
				// A client gone while the origin's body is silent is noticed by nobody (measured): only the
				// idle watch ends that origin request. Short here, so the case measures it.
				proxy: { idle_timeout_ms: IDLE_MS },
			}),
		);
		await originsWhen(["east", "west"], (o) => o.healthy && !o.pending, "east and west checked healthy");
		const mark = balancer.wrangler.output().length;
		let sawInFlight = 0;

		// --- Uploads: the client goes away with the body half sent.
		const uploads: { url: string; kind: string; origin?: string; goneAt: number }[] = [];
		const streamed: { kind: string; headers: Record<string, string>; first: Buffer }[] = [
			{ kind: "declared 1 MiB", headers: { "content-length": String(MiB) }, first: randomBytes(64 * 1024) },
			{ kind: "chunked", headers: { "transfer-encoding": "chunked" }, first: randomBytes(64 * 1024) },
		];
		for (let i = 0; i < 4; i++) {
			const { kind, headers, first } = streamed[i % 2] as (typeof streamed)[number];
			const url = `/upload?cut=up-${i}`;
			const arrived = originEvent("upload-chunk", url);
			const client = await rawClient();
			const payload = kind === "chunked" ? `${first.length.toString(16)}\r\n${first.toString("latin1")}\r\n` : first;
			client.socket.write(head("POST", url, { "content-type": "application/octet-stream", ...headers }));
			client.socket.write(typeof payload === "string" ? Buffer.from(payload, "latin1") : payload);
			const at = await arrived;
			if (i === 0)
				sawInFlight = await waitFor(
					"the upload counted in flight",
					async () => (await leasesInFlight(balancer)) || undefined,
				);
			client.socket.destroy();
			uploads.push({ url, kind, origin: at.origin, goneAt: Date.now() });
			await within(client.closed, WAIT_MS, "closing the client socket");
		}
		// A small declared body is kept for a retry: the Worker reads it before any origin sees it.
		for (let i = 4; i < 6; i++) {
			const url = `/upload?cut=up-${i}`;
			const client = await rawClient();
			client.socket.write(
				head("POST", url, { "content-type": "application/octet-stream", "content-length": String(MAX_RETRY_BODY / 2) }),
			);
			client.socket.write(randomBytes(1024));
			await waitFor("the small upload counted in flight", async () =>
				(await leasesInFlight(balancer)) > 0 ? true : undefined,
			);
			client.socket.destroy();
			uploads.push({ url, kind: "declared 32 KiB (kept for a retry)", goneAt: Date.now() });
			await within(client.closed, WAIT_MS, "closing the client socket");
		}

		// --- Downloads: the client goes away with the body half read.
		const downloads: {
			url: string;
			kind: string;
			/** The origin sends nothing after the first chunk (a gate that never opens). */
			silent: boolean;
			origin?: string;
			read: number;
			goneAt: number;
			/** What the origin said when its stream ended: bytes sent, complete, when. */
			ended?: { bytes: number; complete: boolean; at: number };
		}[] = [];
		for (let i = 0; i < 6; i++) {
			const kind = [
				"fetch aborted, gated stream",
				"fetch aborted, flowing stream",
				"raw socket destroyed, flowing stream",
			][i % 3] as string;
			const gated = i % 3 === 0;
			const url = gated
				? `/stream?bytes=${8 * MiB}&chunk=16384&seed=${i}&gate=cut-${i}`
				: `/stream?bytes=${1024 * MiB}&chunk=65536&seed=${i}`;
			const wanted = gated ? 1 : 4 * MiB;
			const ended = originEvent("stream-end", url);
			ended.catch(() => {});
			let read = 0;
			if (i % 3 === 2) {
				const client = await rawClient();
				client.socket.write(head("GET", url, {}));
				await waitFor("the download under way", async () => (client.bodyBytes() >= wanted ? true : undefined), {
					timeoutMs: WAIT_MS,
					intervalMs: 5,
				});
				read = client.bodyBytes();
				client.socket.destroy();
			} else {
				const controller = new AbortController();
				const response = await fetch(`${balancer.url}${url}`, { signal: controller.signal });
				expect(response.status).toBe(200);
				const reader = (response.body as ReadableStream<Uint8Array>).getReader();
				while (read < wanted) {
					const chunk = await within(reader.read(), WAIT_MS, `reading ${url}`);
					if (chunk.done) break;
					read += chunk.value.byteLength;
				}
				if (i === 0) sawInFlight = Math.max(sawInFlight, await leasesInFlight(balancer));
				controller.abort();
				await reader.cancel().catch(() => {});
			}
			const goneAt = Date.now();
			const end = await ended.then(
				(event) => ({ origin: event.origin, ended: { ...event.payload, at: Date.now() } }),
				() => ({ origin: undefined, ended: undefined }),
			);
			downloads.push({
				url,
				kind,
				silent: gated,
				read,
				goneAt,
				...(end.origin ? { origin: end.origin } : {}),
				...(end.ended ? { ended: { bytes: end.ended.bytes, complete: end.ended.complete, at: end.ended.at } } : {}),
			});
		}

		const leftover = await leasesLeftAfter(balancer);
		const states = await status();
		// Neither origin ejected: the next GETs alternate between them.
		const after: (string | null)[] = [];
		for (let i = 0; i < 2 * THRESHOLD; i++) {
			const response = await fetch(`${balancer.url}/after-cut/${i}`);
			await response.arrayBuffer();
			after.push(response.status === 200 ? response.headers.get("x-switchyard-origin") : `status ${response.status}`);
		}
		const output = outputSince(mark);

		const cancelled = (url: string) => {
			const side = serverSide.get(url);
			return side?.closedAt !== undefined && side.complete === false;
		};
		const uploadCancelMs = (upload: (typeof uploads)[number]) =>
			(serverSide.get(upload.url)?.closedAt ?? Number.NaN) - upload.goneAt;
		const downloadCancelMs = (download: (typeof downloads)[number]) =>
			(download.ended?.at ?? Number.NaN) - download.goneAt;
		const uploadBroken = uploads.filter((upload, i) =>
			i < 4
				? !cancelled(upload.url) ||
					originAtPort(serverSide.get(upload.url)?.port ?? 0) !== upload.origin ||
					!(uploadCancelMs(upload) <= PROMPT_MS)
				: serverSide.has(upload.url),
		);
		const downloadBroken = downloads.filter(
			(download) =>
				download.ended?.complete !== false ||
				!(downloadCancelMs(download) <= (download.silent ? IDLE_MS + PROMPT_MS : PROMPT_MS)),
		);
		const slowest = (values: number[]) => Math.max(...values);
		const harmed = states.filter(
			(state) => !state.healthy || state.passive_failures !== 0 || state.ejected_until !== null,
		);
		const notAlternating = ["east", "west"].filter((name) => after.filter((o) => o === name).length !== THRESHOLD);

		recordFigures(task, {
			case: "client gone mid-upload",
			requests: uploads.length,
			failed: uploadBroken.length + harmed.length + notAlternating.length,
			leasesLeft: leftover,
			passing: `origin's request cut (≤ ${PROMPT_MS} ms), never ended as complete; nothing counted; no lease`,
			notes:
				`declared 1 MiB ×2, chunked ×2 (cut ≤ ${slowest(uploads.slice(0, 4).map(uploadCancelMs))} ms after the ` +
				"client), declared 32 KiB ×2 (kept for a retry: never sent); chunked ones reached the origin as complete before the issue-15 fix",
		});
		recordFigures(task, {
			case: "client gone mid-download",
			requests: downloads.length,
			failed: downloadBroken.length + harmed.length + notAlternating.length,
			leasesLeft: leftover,
			passing: `origin's stream cut (≤ ${PROMPT_MS} ms; silent body: ≤ idle_timeout_ms + ${PROMPT_MS} ms); nothing counted; no lease`,
			notes:
				`fetch abort ×4, raw socket ×2; flowing body cut ≤ ${slowest(downloads.filter((d) => !d.silent).map(downloadCancelMs))} ms ` +
				`after the client; silent body (×2) only by the idle watch: ${downloads
					.filter((d) => d.silent)
					.map(downloadCancelMs)
					.join(", ")} ms (idle_timeout_ms ${IDLE_MS})`,
		});
		console.info(
			`disconnects: uploads ${JSON.stringify(uploads.map((u) => ({ ...u, ...serverSide.get(u.url) })))}\n` +
				`downloads ${JSON.stringify(downloads)}\n` +
				`in flight while under way ${sawInFlight}; leases left ${leftover}; after: ${after.join(",")}`,
		);

		expect(sawInFlight).toBeGreaterThan(0);
		expect(uploadBroken).toEqual([]);
		expect(downloadBroken).toEqual([]);
		expect(harmed).toEqual([]);
		expect(after.filter((o) => o !== "east" && o !== "west")).toEqual([]);
		expect(notAlternating).toEqual([]);
		expect(leftover).toBe(0);
		for (const name of ["east", "west"]) {
			// No upload that was cut reached an origin's handler as a whole body.
			expect(origin(name).received.filter((request) => request.url.includes("cut=up-"))).toEqual([]);
		}
		expect(output).not.toMatch(/ejected for/);
	});

	it("90 MiB uploads and downloads arrive byte-identical", async ({ task }) => {
		const mark = balancer.wrangler.output().length;
		const timings: string[] = [];
		// Download.
		const url = `/stream?bytes=${BIG}&chunk=65536&seed=90`;
		const sent = originEvent("stream-end", url, 60_000);
		let started = Date.now();
		const response = await fetch(`${balancer.url}${url}`);
		const downloadHash = createHash("sha256");
		let downloaded = 0;
		for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
			downloadHash.update(chunk);
			downloaded += chunk.byteLength;
		}
		const fromOrigin = await sent;
		timings.push(`down ${Date.now() - started} ms`);
		const downloadOk =
			response.status === 200 &&
			downloaded === BIG &&
			fromOrigin.payload.complete &&
			fromOrigin.payload.bytes === BIG &&
			downloadHash.digest("hex") === fromOrigin.payload.sha256;

		// Uploads: a declared length (POST) and chunked (PUT).
		const uploads: { kind: string; ok: boolean; detail: string }[] = [];
		for (const [method, headers] of [
			["POST", { "content-length": String(BIG) }],
			["PUT", { "transfer-encoding": "chunked" }],
		] as const) {
			started = Date.now();
			const { status, json, clientHash } = await upload(method, `/upload?big=${method}`, headers, BIG);
			timings.push(`${method} ${Date.now() - started} ms`);
			uploads.push({
				kind: `${method} ${headers["content-length"] ? "declared" : "chunked"}`,
				ok: status === 200 && json.bytes === BIG && json.sha256 === clientHash,
				detail: `${status} ${JSON.stringify({ bytes: json.bytes, sha256: json.sha256, clientHash })}`,
			});
		}
		const leftover = await leasesLeftAfter(balancer);
		outputSince(mark);

		const failed = (downloadOk ? 0 : 1) + uploads.filter((entry) => !entry.ok).length;
		recordFigures(task, {
			case: "90 MiB uploads and download",
			requests: 1 + uploads.length,
			failed,
			bytesCompared: downloaded + uploads.length * BIG,
			leasesLeft: leftover,
			passing: "SHA-256 and length equal on both sides",
			notes: `download, POST with Content-Length, PUT chunked; ${timings.join(", ")}`,
		});
		console.info(`90 MiB: ${timings.join(", ")}; leases left ${leftover}`);
		expect(response.status).toBe(200);
		expect(downloaded).toBe(BIG);
		expect(downloadOk).toBe(true);
		expect(uploads.filter((entry) => !entry.ok)).toEqual([]);
		expect(leftover).toBe(0);
	});

	it("a body above max_retry_body_bytes is attempted once; the other origins never receive it", async ({ task }) => {
		const bad = origin("bad");
		const others = [origin("east"), origin("west")];
		await putConfig(
			balancer,
			poolConfig(balancer, ["bad", "east", "west"], {
				proxy: { retries: 2, max_retry_body_bytes: MAX_RETRY_BODY },
				// Passive health must not take "bad" out meanwhile: it would hide what is measured.
				lb: { outlier_detection: { consecutive_failures: 100 } },
			}),
		);
		await originsWhen(["bad", "east", "west"], (o) => o.healthy && !o.pending, "all three checked healthy");
		const mark = balancer.wrangler.output().length;
		const knob = await fetch(`${bad.url}/_origin/traffic-status?status=521`, { method: "POST" });
		expect(knob.status).toBe(204);

		interface Outcome {
			kind: string;
			url: string;
			status: number;
			servedBy: string | null;
			triedFirst: string | undefined;
			atBad: number;
			atOthers: number;
			tried?: string[];
			hashOk?: boolean;
		}
		const outcomes: Outcome[] = [];
		const count = (server: OriginServer, url: string) =>
			server.received.filter((request) => request.url === url).length;
		/** Three in a row, round robin over three origins: the first attempt of one of them is "bad". */
		const send = async (kind: string, method: string, path: string, bytes: number) => {
			for (let i = 0; i < 3; i++) {
				const url = `${path}${path.includes("?") ? "&" : "?"}kind=${encodeURIComponent(kind)}&i=${i}`;
				const body = randomBytes(bytes);
				const response = await fetch(`${balancer.url}${url}`, { method, body });
				const text = await response.text();
				const json = (() => {
					try {
						return JSON.parse(text) as { sha256?: string; origins_tried?: string[] };
					} catch {
						return {};
					}
				})();
				const atBad = count(bad, url);
				outcomes.push({
					kind,
					url,
					status: response.status,
					servedBy: response.headers.get("x-switchyard-origin"),
					triedFirst: atBad > 0 ? "bad" : json.origins_tried?.[0],
					atBad,
					atOthers: others.reduce((n, server) => n + count(server, url), 0),
					...(json.origins_tried ? { tried: json.origins_tried } : {}),
					...(json.sha256 ? { hashOk: json.sha256 === createHash("sha256").update(body).digest("hex") } : {}),
				});
			}
		};
		const failuresBefore = (await originState("bad")).passive_failures;
		try {
			// "bad" answers 521, the edge's "connection refused": the request surely never reached an
			// application, so even a POST moves on to the next origin — when its body was kept.
			await send("POST 4 KiB, first origin 521", "POST", "/echo", 4 * 1024);
			await send("POST 1 MiB, first origin 521", "POST", "/echo", MiB);
		} finally {
			await fetch(`${bad.url}/_origin/traffic-status`, { method: "DELETE" });
		}
		// "bad" killed: nothing listens at its address, which health has not noticed yet (interval 60 s).
		await balancer.kill("bad");
		await send("PUT 4 KiB, first origin dead", "PUT", "/upload", 4 * 1024);
		await send("PUT 1 MiB, first origin dead", "PUT", "/upload", MiB);
		await send("POST 1 MiB, first origin dead", "POST", "/upload", MiB);
		const failuresAfter = (await originState("bad")).passive_failures;
		const leftover = await leasesLeftAfter(balancer);
		await balancer.revive("bad");
		outputSince(mark);

		const large = outcomes.filter((outcome) => outcome.kind.includes("1 MiB"));
		const small = outcomes.filter((outcome) => outcome.kind.includes("4 KiB"));
		const hitBad = (outcome: Outcome) => outcome.triedFirst === "bad";
		// Large: at "bad", attempted once there (when it listened) and nowhere else, the client told; elsewhere, served once.
		const largeBroken = large.filter((outcome) =>
			hitBad(outcome)
				? outcome.status !== 502 ||
					outcome.atOthers !== 0 ||
					(outcome.kind.includes("521") ? outcome.atBad !== 1 : outcome.tried?.join() !== "bad")
				: outcome.status !== 200 || outcome.atOthers !== 1 || outcome.atBad !== 0 || outcome.hashOk === false,
		);
		// Small (the control): every one answered 200 by one of the others, once.
		const smallBroken = small.filter(
			(outcome) => outcome.status !== 200 || outcome.atOthers !== 1 || outcome.hashOk === false,
		);
		const kinds = [...new Set(large.map((outcome) => outcome.kind))];
		const kindsWithoutBadHit = kinds.filter(
			(kind) => !large.some((outcome) => outcome.kind === kind && hitBad(outcome)),
		);
		const smallRetried = small.filter((outcome) => outcome.kind.includes("521") && hitBad(outcome)).length;

		recordFigures(task, {
			case: "body above max_retry_body_bytes, first origin fails",
			requests: outcomes.length,
			failed: largeBroken.length + smallBroken.length + kindsWithoutBadHit.length,
			leasesLeft: leftover,
			passing: "1 MiB POST/PUT at a 521 or dead origin: one attempt, 502, no other origin sees it",
			notes:
				`${large.filter(hitBad).length} large bodies hit the failing origin, none retried; control: 4 KiB bodies ` +
				`all 200 (${smallRetried} retried after a 521; dead-origin PUT retried, bad's passive failures ` +
				`${failuresBefore} → ${failuresAfter})`,
		});
		console.info(`max_retry_body_bytes: ${JSON.stringify(outcomes)}`);

		expect(kindsWithoutBadHit).toEqual([]);
		expect(largeBroken).toEqual([]);
		expect(smallBroken).toEqual([]);
		expect(smallRetried).toBeGreaterThan(0);
		// The dead origin's failed first attempts of the small PUTs count (they were retried elsewhere).
		expect(failuresAfter).toBeGreaterThan(failuresBefore);
		expect(leftover).toBe(0);
	});
});

/** An upload of `total` random bytes (1 MiB writes, with backpressure); the origin's answer and the client's hash. */
async function upload(
	method: string,
	path: string,
	headers: Record<string, string>,
	total: number,
): Promise<{ status: number; json: { bytes?: number; sha256?: string }; clientHash: string }> {
	const hash = createHash("sha256");
	const req = httpRequest({
		host: "127.0.0.1",
		port: balancer.port,
		method,
		path,
		headers: { host: `localhost:${balancer.port}`, "content-type": "application/octet-stream", ...headers },
	});
	const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
		req.on("error", reject);
		req.on("response", (res) => {
			const chunks: Buffer[] = [];
			res.on("data", (chunk: Buffer) => chunks.push(chunk));
			res.on("error", reject);
			res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
		});
	});
	for (let sent = 0; sent < total; ) {
		const chunk = randomBytes(Math.min(MiB, total - sent));
		hash.update(chunk);
		sent += chunk.length;
		if (!req.write(chunk)) await once(req, "drain");
	}
	req.end();
	const { status, text } = await within(answered, 60_000, `${method} ${path}`);
	let json: { bytes?: number; sha256?: string } = {};
	try {
		json = JSON.parse(text);
	} catch {
		json = {};
	}
	return { status, json, clientHash: hash.digest("hex") };
}
