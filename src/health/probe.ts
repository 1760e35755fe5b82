/**
 * One active health check of one origin, as its pool's monitor describes it: for HTTP(S) method,
 * path, headers, expected codes and body; for TCP a connection that must open (nothing is sent);
 * a timeout, and `retries` extra attempts before the check counts as failed. Every failure becomes
 * a result with a reason, never an exception. The platform's calls (fetch, a socket's connect) are
 * passed in.
 */

import { classifyError, classifyStatus, describeEdgeStatus } from "../contract/failure";
import type { ProbeFailure, ProbeResult, ProbeTarget } from "../contract/probe";
import { DeadlineTimer } from "../deadline";
import { toStatusMatcher } from "./expected-codes";

export type { ProbeFailure, ProbeResult, ProbeTarget };

/**
 * Opens a TCP connection: `connect` from `cloudflare:sockets` in the Workers runtime (the shape of
 * its Socket this module uses), a stand-in in tests.
 */
export type Connect = (address: { hostname: string; port: number }) => {
	readonly opened: Promise<unknown>;
	close(): Promise<void>;
};

/** Bytes of a response body searched for `expected_body`. */
const BODY_LIMIT_BYTES = 64 * 1024;

export async function probe(
	target: ProbeTarget,
	fetcher: typeof fetch = fetch,
	now: () => number = Date.now,
	/** For TCP checks; without it a TCP check fails, saying so. */
	connect?: Connect,
): Promise<ProbeResult> {
	const once = target.tcp ? () => probeTcpOnce(target, connect, now) : () => probeOnce(target, fetcher, now);
	let result = await once();
	for (let attempt = 0; !result.ok && attempt < target.retries; attempt++) {
		result = await once();
	}
	return result;
}

/**
 * A TCP check: healthy when the connection opens within the timeout (Cloudflare's TCP monitor,
 * method "connection_established"). The socket is closed at once; nothing is sent.
 */
async function probeTcpOnce(
	target: ProbeTarget,
	connect: Connect | undefined,
	now: () => number,
): Promise<ProbeResult> {
	const started = now();
	const done = (ok: boolean, reason: string, failure?: ProbeFailure): ProbeResult => {
		const at = now();
		return {
			key: target.key,
			...(target.identity !== undefined ? { identity: target.identity } : {}),
			ok,
			at,
			rttMs: at - started,
			...(failure ? { failure } : {}),
			reason,
		};
	};
	const address = target.tcp as { hostname: string; port: number };
	if (!connect) return done(false, "unreachable: TCP checks cannot run here (no socket support)", "unreachable");
	const timer = new DeadlineTimer();
	let socket: ReturnType<Connect> | undefined;
	try {
		const timedOut = new Promise<{ timeout: true }>((resolve) =>
			timer.start(target.timeoutMs, () => resolve({ timeout: true })),
		);
		socket = connect(address);
		// Settled either way, so a connection failing after the timeout is no unhandled rejection.
		const opened = socket.opened.then(
			() => ({ error: undefined }),
			(error: unknown) => ({ error: error ?? "connection failed" }),
		);
		const outcome = await Promise.race([opened, timedOut]);
		if ("timeout" in outcome) return done(false, `timeout after ${target.timeoutMs} ms`, "timeout");
		if (outcome.error !== undefined) return done(false, `unreachable: ${errorMessage(outcome.error)}`, "unreachable");
		return done(true, `connection established to port ${address.port}`);
	} catch (error) {
		return done(false, `unreachable: ${errorMessage(error)}`, "unreachable");
	} finally {
		timer.dispose();
		// Closing a socket that never opened rejects too: nothing to learn from it.
		socket?.close().catch(() => undefined);
	}
}

async function probeOnce(target: ProbeTarget, fetcher: typeof fetch, now: () => number): Promise<ProbeResult> {
	const started = now();
	const controller = new AbortController();
	let timedOut = false;
	const timer = new DeadlineTimer();
	timer.start(target.timeoutMs, () => {
		timedOut = true;
		controller.abort();
	});
	const done = (fields: Omit<ProbeResult, "key" | "at" | "rttMs">): ProbeResult => {
		const at = now();
		return {
			key: target.key,
			...(target.identity !== undefined ? { identity: target.identity } : {}),
			at,
			rttMs: at - started,
			...fields,
		};
	};
	try {
		const response = await fetcher(target.url, {
			method: target.method,
			headers: target.headers,
			redirect: target.followRedirects ? "follow" : "manual",
			signal: controller.signal,
		});
		const status = response.status;
		const classified = classifyStatus(status);
		const edgeFailure = classified === "refused" ? "unreachable" : classified;
		if (edgeFailure !== undefined) {
			await response.body?.cancel();
			const meaning = describeEdgeStatus(status) ?? `origin ${edgeFailure}`;
			return done({ ok: false, status, failure: edgeFailure, reason: `${meaning} (status ${status})` });
		}
		if (!toStatusMatcher(target.expectedCodes)(status)) {
			await response.body?.cancel();
			const redirect = status >= 300 && status < 400 && !target.followRedirects ? " (redirect not followed)" : "";
			return done({
				ok: false,
				status,
				failure: "status",
				reason: `status ${status}, expected ${target.expectedCodes}${redirect}`,
			});
		}
		if (target.expectedBody !== "") {
			const body = await readPrefix(response, BODY_LIMIT_BYTES);
			if (!body.includes(target.expectedBody)) {
				return done({
					ok: false,
					status,
					failure: "body",
					reason: `body does not contain "${target.expectedBody}" (first ${BODY_LIMIT_BYTES} bytes searched)`,
				});
			}
		} else {
			await response.body?.cancel();
		}
		return done({ ok: true, status, reason: String(status) });
	} catch (error) {
		const failure = classifyError(timedOut);
		const reason =
			failure === "timeout" ? `timeout after ${target.timeoutMs} ms` : `unreachable: ${errorMessage(error)}`;
		return done({ ok: false, failure, reason });
	} finally {
		timer.dispose();
	}
}

async function readPrefix(response: Response, limitBytes: number): Promise<string> {
	if (!response.body) return "";
	const reader = response.body.getReader();
	const decoder = new TextDecoder();
	let text = "";
	let bytes = 0;
	while (bytes < limitBytes) {
		const { done, value } = await reader.read();
		if (done) return text + decoder.decode();
		bytes += value.byteLength;
		text += decoder.decode(value, { stream: true });
	}
	await reader.cancel();
	return text;
}

function errorMessage(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
