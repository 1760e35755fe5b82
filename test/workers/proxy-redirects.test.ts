/**
 * Issue 14, item 8: an origin's absolute redirect must not send the client around the balancer. A
 * real loopback origin sees its own address as Host and builds its redirect and its cookie's Domain
 * from it, as an application does; the client must get the balancer's scheme and host instead.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { onePoolConfig, originUrl, putConfig, type Received, received, send, startClean } from "./helpers";

beforeEach(startClean);

/** The demo origin's redirect: `to` made absolute on the Host it was asked for, and a cookie for that host. */
const SELF_REDIRECT = "/redirect?to=%2Fnext%3Fstep%3D2&absolute=1&cookie=sid%3D7";

describe("an origin's redirect to its own address (issue 14, item 8)", () => {
	it("reaches the client with the client's scheme and host, and the cookie without the origin's Domain", async () => {
		await putConfig(onePoolConfig(["a"]));
		const response = await send(`https://app.test${SELF_REDIRECT}`, { redirect: "manual" });
		expect(response.status).toBe(302);
		expect(response.headers.get("location")).toBe("https://app.test/next?step=2");
		expect(response.headers.getSetCookie()).toEqual(["sid=7; Path=/"]);
		// What the origin meant: it said its own address.
		const [asked] = await received("a");
		expect(asked?.headers.host).toBe(new URL(originUrl("a")).host);
	});

	it("sends the client that follows it through the balancer to the origin", async () => {
		await putConfig(onePoolConfig(["a"]));
		const redirect = await send(`https://app.test${SELF_REDIRECT}`, { redirect: "manual" });
		const location = redirect.headers.get("location") as string;
		const followed = await send(location);
		expect(followed.status).toBe(200);
		const requests = await received("a");
		const next = requests.find((request: Received) => request.url.startsWith("/next"));
		expect(next?.url).toBe("/next?step=2");
		expect(next?.headers["x-forwarded-host"]).toBe("app.test");
		expect(next?.headers["x-forwarded-proto"]).toBe("https");
	});

	it("leaves a redirect to a third party, and a relative one, as the origin sent them", async () => {
		await putConfig(onePoolConfig(["a"]));
		const away = await send("https://app.test/redirect?to=https%3A%2F%2Fexample.com%2Felsewhere", {
			redirect: "manual",
		});
		expect(away.headers.get("location")).toBe("https://example.com/elsewhere");
		const relative = await send("https://app.test/redirect?to=%2Fnext", { redirect: "manual" });
		expect(relative.headers.get("location")).toBe("/next");
	});

	it("leaves the origin's own address and cookie Domain alone when the settings are off", async () => {
		await putConfig(onePoolConfig(["a"], { proxy: { rewrite_redirects: false, rewrite_cookie_domain: false } }));
		const response = await send(`https://app.test${SELF_REDIRECT}`, { redirect: "manual" });
		expect(response.headers.get("location")).toBe(`${originUrl("a")}/next?step=2`);
		expect(response.headers.getSetCookie()).toEqual(["sid=7; Path=/; Domain=127.0.0.1"]);
	});
});
