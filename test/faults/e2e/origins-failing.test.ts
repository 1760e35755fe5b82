/**
 * Fault suite, end to end (issue 15): origins that fail under load, against the real `wrangler dev`
 * and real origins on loopback. One of three killed; one hanging; one answering 503, one flapping;
 * all of them down. Every case has its own three origins (fresh names: no health, ejection or
 * counter carried over from another case) behind the one load balancer on `localhost`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordFigures } from "../figures.ts";
import {
	type Balancer,
	configure as configureAndCheck,
	leasesLeftAfter,
	load,
	originsOf as originsOfPool,
	percentile,
	poolConfig,
	putConfig,
	reportReloads,
	type Sent,
	startBalancer,
	traffic as trafficOf,
	waitFor,
} from "./harness.ts";

const KILLED = ["k1", "k2", "k3"];
const HANGING = ["h1", "h2", "h3"];

let balancer: Balancer;

beforeAll(async () => {
	balancer = await startBalancer([...KILLED, ...HANGING]);
});

afterAll(async () => {
	await balancer?.stop();
});

reportReloads(() => balancer);

const originsOf = (names: readonly string[]) => originsOfPool(balancer, names);
const configure = (names: readonly string[], options: Parameters<typeof poolConfig>[2] = {}) =>
	configureAndCheck(balancer, names, options);
const traffic = (name: string) => trafficOf(balancer, name);

/** The slowest answered request of `sent`, in ms: what the request path alone costs the machine now. */
function pathMs(sent: readonly Sent[]): number {
	return Math.max(0, ...sent.filter((s) => s.status === 200).map((s) => s.ms));
}

function idOf(url: string): string | null {
	return new URL(url, "http://x").searchParams.get("id");
}

describe("origins failing under load (issue 15)", () => {
	it("one of three origins killed under steady load: no GET fails, no POST is replayed", async ({ task }) => {
		await configure(KILLED, { proxy: { retries: 2, timeout_ms: 5_000 } });
		const [dead, ...alive] = KILLED as [string, ...string[]];
		let stop = false;
		// A quarter of the requests, spread so that round robin cannot line them up with one origin.
		const isPost = (i: number) => Math.imul(i + 1, 2654435761) >>> 30 === 0;
		const running = load(balancer, {
			count: 20_000,
			concurrency: 6,
			until: () => stop,
			request: (i) =>
				isPost(i)
					? { path: `/respond?delayms=10&id=p${i}`, init: { method: "POST", body: `payload ${i}` } }
					: { path: `/respond?delayms=10&id=g${i}` },
		});
		await new Promise((resolve) => setTimeout(resolve, 1_500));
		const killedAt = Date.now();
		await balancer.kill(dead);
		// Recovered: /status (the counter object that plans) no longer routes to it: ejected or unhealthy.
		const recoveredAt = await waitFor(
			`${dead} ejected`,
			async () => {
				const origin = (await originsOf([dead])).get(dead);
				return origin && (origin.ejected_until !== null || !origin.healthy) ? Date.now() : undefined;
			},
			{ timeoutMs: 20_000, intervalMs: 50 },
		);
		await new Promise((resolve) => setTimeout(resolve, 3_000));
		stop = true;
		const sent = await running;
		const leasesLeft = await leasesLeftAfter(balancer, 10_000);

		const received = new Map<string, string[]>();
		for (const name of KILLED)
			for (const request of traffic(name)) {
				const id = idOf(request.url);
				if (id) received.set(id, [...(received.get(id) ?? []), `${name} ${request.method}`]);
			}
		const gets = sent.filter((s) => !isPost(s.i));
		const posts = sent.filter((s) => isPost(s.i));
		const failedGets = gets.filter((s) => s.status !== 200);
		// A POST reaches at most one origin; one answered 200 reached exactly one; one that failed
		// reached none or the dead one only (the kill cut it, or its connection was refused).
		const badPosts = posts.filter((s) => {
			const at = received.get(`p${s.i}`) ?? [];
			if (at.length > 1) return true;
			if (s.status === 200) return at.length !== 1;
			return at.length === 1 && !at[0]?.startsWith(dead);
		});
		const failedPosts = posts.filter((s) => s.status !== 200);
		// Once /status says it is out, no request picks it: a POST that did would fail (never retried).
		const postsFailedAfterRecovery = failedPosts.filter((s) => s.startedAt > recoveredAt);
		const replayed = [...received].filter(([id, at]) => id.startsWith("p") && at.length > 1).length;
		const postsAt = KILLED.map((name) => `${name} ${traffic(name).filter((r) => r.method === "POST").length}`);
		const lastPick =
			failedPosts.length > 0
				? `the last POST lost to it started ${Math.max(...failedPosts.map((s) => s.startedAt)) - killedAt} ms from the kill`
				: "no POST picked it after the kill";
		recordFigures(task, {
			case: "One of three origins killed under steady load",
			requests: sent.length,
			failed: failedGets.length + badPosts.length + postsFailedAfterRecovery.length,
			leasesLeft,
			recoveryMs: recoveredAt - killedAt,
			passing:
				"every GET 200 (small bodies, retries 2); no POST reached two origins; only POSTs sent to the killed origin before its ejection failed",
			notes: `${gets.length} GETs, ${posts.length} POSTs: ${failedPosts.length} failed (${[
				...new Set(failedPosts.map((s) => s.status)),
			].join(
				"/",
			)}), ${replayed} reached two origins, received ${postsAt.join(", ")}; recovery: kill → ejected in /status (${lastPick}); p99 GET ${percentile(
				gets.map((s) => s.ms),
				99,
			)} ms`,
		});
		expect(failedGets.map((s) => `${s.i}: ${s.status} ${s.error ?? ""}`)).toEqual([]);
		expect(badPosts.map((s) => `${s.i}: ${s.status} at ${received.get(`p${s.i}`)}`)).toEqual([]);
		expect(postsFailedAfterRecovery.map((s) => s.i)).toEqual([]);
		expect(leasesLeft).toBe(0);
		// The load was steady and reached every origin (a busy machine sends fewer: a floor, not a rate).
		for (const name of alive) expect(traffic(name).length).toBeGreaterThan(20);
		expect(traffic(dead).length).toBeGreaterThan(5);
		expect(gets.length).toBeGreaterThan(50);
	});

	it("a hanging origin: another answers within timeout_ms + 10%, or 504 within it; avoided once ejected", async ({
		task,
	}) => {
		const timeoutMs = 2_000;
		const budgetMs = timeoutMs * 1.1;
		const [hung, ...others] = HANGING as [string, ...string[]];
		const settings = (retries: number) => ({
			proxy: { retries, timeout_ms: timeoutMs },
			lb: { outlier_detection: { consecutive_failures: 3 } },
		});
		await configure(HANGING, settings(0));
		const knob = await fetch(`${balancer.origins.get(hung)?.url}/_origin/traffic-delay?ms=30000`, { method: "POST" });
		expect(knob.status).toBe(204);
		/** Rounds of three requests at once (one per origin, round robin) until `done()`; at most `rounds`. */
		const rounds = async (tag: string, rounds: number, done: () => Promise<boolean>) => {
			const sent: Sent[] = [];
			for (let round = 0; round < rounds && !(await done()); round++) {
				const batch = await load(balancer, {
					count: 3,
					concurrency: 3,
					request: (i) => ({ path: `/respond?id=${tag}${round}-${i}` }),
					timeoutMs: 15_000,
				});
				sent.push(...batch.map((s) => ({ ...s, i: round * 3 + s.i })));
			}
			return sent;
		};
		const hungIds = () => new Set(traffic(hung).map((request) => idOf(request.url)));
		const sentTo = (sent: Sent[], tag: string) => {
			const ids = hungIds();
			return sent.filter((s) => ids.has(`${tag}${Math.floor(s.i / 3)}-${s.i % 3}`));
		};

		// retries 0: the request the hanging origin holds is answered 504 by the deadline.
		const noRetry = await rounds("a", 4, async () => traffic(hung).length >= 1);
		const timedOut = sentTo(noRetry, "a");
		// The deadline is held to 10% of timeout_ms beyond what any request costs the machine at that
		// moment (the slowest of the same rounds' others): a client's time includes wrangler dev's own
		// request path, which under CI load has reached 230 ms by itself (docs/reliability.md).
		const budgetA = budgetMs + pathMs(noRetry.filter((s) => !timedOut.includes(s)));
		const slow504 = timedOut.filter((s) => s.status !== 504 || s.ms > budgetA || s.ms < timeoutMs);
		const othersA = noRetry.filter((s) => !timedOut.includes(s) && s.status !== 200);
		recordFigures(task, {
			case: "A hanging origin, retries 0",
			requests: noRetry.length,
			failed: slow504.length + othersA.length,
			passing: `the request it holds answered 504 within timeout_ms + 10% (${budgetMs} ms) + the slowest other request of its rounds, the others 200`,
			notes: `timeout_ms ${timeoutMs}; ${timedOut.length} held: ${timedOut.map((s) => `${s.status} in ${s.ms} ms`).join(", ")}; slowest other ${budgetA - budgetMs} ms`,
		});

		// retries 1: the held request goes on to another origin, and the client has its answer in time.
		await putConfig(balancer, poolConfig(balancer, HANGING, settings(1)));
		await new Promise((resolve) => setTimeout(resolve, 1_500)); // a new version reaches counter objects within 1 s
		const before = traffic(hung).length;
		const isEjected = async () => (await originsOf([hung])).get(hung)?.ejected_until != null;
		const retried = await rounds("b", 8, async () => traffic(hung).length >= before + 2 && (await isEjected()));
		const failedOver = sentTo(retried, "b");
		const budgetB = budgetMs + pathMs(retried.filter((s) => !failedOver.includes(s)));
		const lateB = failedOver.filter((s) => s.status !== 200 || s.origin === hung || s.ms > budgetB);
		const othersB = retried.filter((s) => !failedOver.includes(s) && s.status !== 200);
		const ejected = await waitFor(`${hung} ejected`, async () => ((await isEjected()) ? true : undefined));
		recordFigures(task, {
			case: "A hanging origin, retries 1",
			requests: retried.length,
			failed: lateB.length + othersB.length,
			passing: `the request it holds answered 200 by another origin within timeout_ms + 10% (${budgetMs} ms) + the slowest other request of its rounds`,
			notes: `timeout_ms ${timeoutMs}; ${failedOver.length} held: ${failedOver.map((s) => `${s.status} from ${s.origin} in ${s.ms} ms`).join(", ")}; slowest other ${budgetB - budgetMs} ms; ejected after 3 in a row (outlier_detection.consecutive_failures 3)`,
		});

		// Ejected: later requests avoid it.
		const reached = traffic(hung).length;
		const after = await load(balancer, {
			count: 60,
			concurrency: 3,
			request: (i) => ({ path: `/respond?id=c${i}` }),
			timeoutMs: 15_000,
		});
		const reachedAfter = traffic(hung).length - reached;
		const badAfter = after.filter((s) => s.status !== 200 || s.ms > budgetMs);
		const leasesLeft = await leasesLeftAfter(balancer, 10_000);
		recordFigures(task, {
			case: "A hanging origin, once ejected",
			requests: after.length,
			failed: reachedAfter + badAfter.length,
			leasesLeft,
			passing: "no request reaches it; every answer 200",
			notes: `${reachedAfter} reached it; p99 ${percentile(
				after.map((s) => s.ms),
				99,
			)} ms; served by ${others.join(", ")}`,
		});
		expect(timedOut.length).toBeGreaterThanOrEqual(1);
		expect(slow504.map((s) => `${s.status} in ${s.ms} ms`)).toEqual([]);
		expect(othersA.map((s) => s.status)).toEqual([]);
		expect(failedOver.length).toBeGreaterThanOrEqual(2);
		expect(lateB.map((s) => `${s.status} from ${s.origin} in ${s.ms} ms`)).toEqual([]);
		expect(othersB.map((s) => s.status)).toEqual([]);
		expect(ejected).toBe(true);
		expect(reachedAfter).toBe(0);
		expect(badAfter.map((s) => `${s.status} in ${s.ms} ms`)).toEqual([]);
		expect(leasesLeft).toBe(0);
	});
});
