/**
 * The dashboard page's script (bundled into the Worker by scripts/build-dashboard.mjs, served at
 * /_lb/dashboard.js). The token comes from the form or once from the URL fragment (#token=…, which
 * never reaches a server, removed from the address bar at once); it lives in this script's memory
 * only, never in a cookie or storage, and rides every call as a bearer token. The page reads
 * GET /_lb/api/dashboard every POLL_MS while it is visible, and re-renders.
 */
import type { DashboardData } from "../../contract/dashboard";
import { TrafficWindow, toFragmentToken } from "./model";
import { type OriginAction, renderDashboard } from "./render";

const API = "/_lb/api";
const POLL_MS = 2_000;

let token: string | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
/** Bumped whenever polling restarts, so an answer to an older poll is dropped. */
let generation = 0;
const traffic = new TrafficWindow();

function byId<T extends HTMLElement>(id: string): T {
	const element = document.getElementById(id);
	if (!element) throw new Error(`the page has no #${id}`);
	return element as T;
}

function say(message: string, kind: "info" | "error" = "info"): void {
	const line = byId("message");
	line.textContent = message;
	line.dataset.kind = kind;
}

/** Reads #token=… from the fragment once, and takes it out of the address bar and the history. */
function takeTokenFromFragment(): string | undefined {
	if (!/(^#|&)token=/.test(location.hash)) return undefined;
	const { token: given, rest } = toFragmentToken(location.hash);
	history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
	return given;
}

function showLogin(message?: string): void {
	token = undefined;
	stopPolling();
	traffic.clear();
	byId("login").hidden = false;
	byId("dashboard").hidden = true;
	if (message) say(message, "error");
	byId<HTMLInputElement>("token").focus();
}

function start(given: string): void {
	token = given;
	traffic.clear();
	byId("login").hidden = true;
	byId("dashboard").hidden = false;
	say("loading…");
	void poll();
}

function stopPolling(): void {
	generation++;
	if (timer !== undefined) clearTimeout(timer);
	timer = undefined;
}

async function call(method: string, path: string): Promise<Response> {
	return fetch(`${API}${path}`, {
		method,
		headers: { authorization: `Bearer ${token}` },
		cache: "no-store",
		credentials: "omit",
	});
}

async function poll(): Promise<void> {
	stopPolling();
	const mine = generation;
	if (!token) return;
	try {
		const response = await call("GET", "/dashboard");
		if (mine !== generation) return;
		if (response.status === 401 || response.status === 403) {
			showLogin("the token was refused; type it again");
			return;
		}
		const body = (await response.json()) as {
			success: boolean;
			result?: DashboardData;
			errors?: { message: string }[];
		};
		if (mine !== generation) return;
		if (!response.ok || !body.result) throw new Error(body.errors?.[0]?.message ?? `HTTP ${response.status}`);
		show(body.result);
	} catch (error) {
		if (mine !== generation) return;
		say(`could not read the registry: ${error instanceof Error ? error.message : String(error)}`, "error");
	}
	if (mine === generation && !document.hidden) timer = setTimeout(() => void poll(), POLL_MS);
}

function show(data: DashboardData): void {
	traffic.add(data);
	const view = renderDashboard({ data, rates: traffic.rates(), nowMs: Date.parse(data.at), act });
	byId("view").replaceWith(view);
	byId("role").textContent = data.role === "admin" ? "admin" : "read-only";
	byId("version").textContent = String(data.version);
	const at = byId("updated");
	at.textContent = data.at.slice(11, 19);
	at.setAttribute("datetime", data.at);
	say("");
}

async function act({ action, pool, origin }: OriginAction): Promise<void> {
	if (!token) return;
	const path = `/pools/${encodeURIComponent(pool)}/origins/${encodeURIComponent(origin)}/${action}`;
	try {
		const response = await call("POST", path);
		const body = (await response.json()) as { errors?: { message: string }[] };
		if (!response.ok) throw new Error(body.errors?.[0]?.message ?? `HTTP ${response.status}`);
		say(`${pool}/${origin}: ${action === "drain" ? "drained" : "enabled"}`);
	} catch (error) {
		say(`${action} ${pool}/${origin} failed: ${error instanceof Error ? error.message : String(error)}`, "error");
	}
	void poll();
}

byId<HTMLFormElement>("login").addEventListener("submit", (event) => {
	event.preventDefault();
	const input = byId<HTMLInputElement>("token");
	const given = input.value.trim();
	input.value = "";
	if (given) start(given);
});
byId("logout").addEventListener("click", () => showLogin());
document.addEventListener("visibilitychange", () => {
	if (!token) return;
	if (document.hidden) stopPolling();
	else void poll();
});

const fromFragment = takeTokenFromFragment();
if (fromFragment) start(fromFragment);
else showLogin();
