/**
 * The dashboard at /_lb/ on admin hostnames: a page, its stylesheet and its script, all bundled
 * with the Worker (no external scripts, fonts or CDNs). The page carries no data and needs no
 * token; its script asks the admin API with the token the user gives it. Content-Security-Policy
 * allows this origin's own files only (no inline script or style), no framing, no form posts.
 */
import { DASHBOARD_SCRIPT, DASHBOARD_SCRIPT_HASH } from "./dashboard-script.generated";

export const DASHBOARD_PATH = "/_lb/";
const SCRIPT_PATH = "/_lb/dashboard.js";
const STYLE_PATH = "/_lb/dashboard.css";

export const DASHBOARD_CSP =
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Switchyard</title>
<link rel="stylesheet" href="${STYLE_PATH}?v=${DASHBOARD_SCRIPT_HASH}">
<script type="module" src="${SCRIPT_PATH}?v=${DASHBOARD_SCRIPT_HASH}"></script>
</head>
<body>
<header>
<h1>Switchyard</h1>
<p id="status-line"><span id="message" role="status"></span></p>
</header>
<main>
<form id="login" hidden autocomplete="off">
<label for="token">Admin or read token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
<button type="submit">Open</button>
<p class="meta">The token stays in this page's memory only: reload the page and it is gone.</p>
</form>
<div id="dashboard" hidden>
<p class="meta">configuration version <span id="version">–</span> · updated <time id="updated">–</time> · <span id="role">–</span> · <button type="button" id="logout">Forget token</button></p>
<div id="view"></div>
</div>
</main>
<noscript>The dashboard needs JavaScript.</noscript>
</body>
</html>
`;

const STYLE = `:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781; --line: #d0d7de; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 16px 32px; }
header { display: flex; align-items: baseline; gap: 16px; border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 12px 0; }
h2 { font-size: 16px; margin: 20px 0 4px; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.pool th:nth-child(1) { width: 11%; } .pool th:nth-child(2) { width: 16%; } .pool th:nth-child(3) { width: 17%; }
.pool th:nth-child(4) { width: 11%; } .pool th.num { width: 7.5%; } .pool th:nth-child(10) { width: 72px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th.num { text-align: right; white-space: nowrap; }
td.num { white-space: nowrap; }
th { font-weight: 600; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: var(--muted); margin: 4px 0; }
.id { color: var(--muted); font-weight: normal; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; color: #fff; }
.badge.healthy { background: var(--ok); }
.badge.unhealthy { background: var(--bad); }
.badge.pending, .badge.disabled { background: var(--muted); }
.region { display: inline-block; margin: 2px 4px 0 0; font-size: 11px; padding: 0 4px; border: 1px solid var(--line); border-radius: 4px; }
.region[data-healthy="false"] { color: var(--bad); border-color: var(--bad); }
.reason { display: block; color: var(--muted); font-size: 12px; word-break: break-word; }
.warnings { color: var(--warn); }
#message[data-kind="error"] { color: var(--bad); }
#login { display: grid; gap: 8px; max-width: 420px; margin-top: 24px; }
#login[hidden], #dashboard[hidden] { display: none; }
#events ol { list-style: none; padding: 0; }
#events li { padding: 2px 0; border-bottom: 1px solid var(--line); word-break: break-word; }
#events time { color: var(--muted); font-variant-numeric: tabular-nums; }
button { font: inherit; cursor: pointer; }
`;

const SECURITY_HEADERS = {
	"content-security-policy": DASHBOARD_CSP,
	"x-content-type-options": "nosniff",
	"x-frame-options": "DENY",
	"referrer-policy": "no-referrer",
	"cross-origin-opener-policy": "same-origin",
	"cross-origin-resource-policy": "same-origin",
	"cache-control": "no-cache",
};

/** The dashboard's page or one of its files for `pathname` (under /_lb/), or undefined when it is none of them. */
export function serveDashboard(request: Request, pathname: string): Response | undefined {
	const file =
		pathname === DASHBOARD_PATH
			? { body: PAGE, type: "text/html; charset=utf-8" }
			: pathname === SCRIPT_PATH
				? { body: DASHBOARD_SCRIPT, type: "text/javascript; charset=utf-8" }
				: pathname === STYLE_PATH
					? { body: STYLE, type: "text/css; charset=utf-8" }
					: undefined;
	if (!file) return undefined;
	if (request.method !== "GET" && request.method !== "HEAD") {
		return new Response("GET only\n", { status: 405, headers: { allow: "GET, HEAD" } });
	}
	return new Response(request.method === "HEAD" ? null : file.body, {
		headers: { ...SECURITY_HEADERS, "content-type": file.type },
	});
}
