/**
 * GET /_lb/metrics when a counter object restarts (issue 18 item 1): its counters live in memory,
 * so its series start again from 0, which Prometheus reads as the counter reset it is (a sum across
 * objects would have dropped instead). A file of its own: the object is aborted
 * (`state.abort()` inside runInDurableObject), and nothing else runs after it here.
 */
import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { parseMetrics, samplesOf } from "../support/prometheus";
import { ADMIN, counterOf, live, orderedPool, putConfig, send, startClean, TOKEN } from "./helpers";

beforeEach(startClean);

async function requestsTotal(): Promise<string[]> {
	const response = await send(`${ADMIN}/_lb/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
	expect(response.status).toBe(200);
	return samplesOf(parseMetrics(await response.text()), "switchyard_requests_total").map(
		(sample) => `${sample.labels?.colo} ${sample.labels?.origin} ${sample.labels?.code_class} ${sample.value}`,
	);
}

describe("GET /_lb/metrics and a restarted counter object", () => {
	it("starts the object's series again from 0", async () => {
		await putConfig(orderedPool([live("a")]));
		for (let i = 0; i < 3; i++) expect((await send(`https://app.test/before/${i}`)).status).toBe(200);
		expect(await requestsTotal()).toEqual(["local a 2xx 3"]);

		// The instance and its memory gone; the call that does it fails by design.
		await runInDurableObject(counterOf("app.test"), (_, state) => state.abort("restart")).catch(() => undefined);

		for (let i = 0; i < 2; i++) expect((await send(`https://app.test/after/${i}`)).status).toBe(200);
		expect(await requestsTotal()).toEqual(["local a 2xx 2"]);
	});
});
