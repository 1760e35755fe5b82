/**
 * nginx as the equivalent round-robin load balancer over the same origins, for comparison: one
 * worker process per CPU, an upstream with keepalive, daemon off, its own pid and log paths in a
 * temp dir.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Origin } from "./origins.ts";
import { freePort, makeTempDir, startChild, stopChild, waitForPort } from "./processes.ts";

export interface Nginx {
	readonly url: string;
	stop(): Promise<void>;
}

export function toNginxConf(dir: string, port: number, origins: readonly Origin[]): string {
	const servers = origins.map((origin) => `    server ${new URL(origin.url).host};`).join("\n");
	return `daemon off;
worker_processes auto;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "tmp", "body")};
  proxy_temp_path ${join(dir, "tmp", "proxy")};
  fastcgi_temp_path ${join(dir, "tmp", "fastcgi")};
  uwsgi_temp_path ${join(dir, "tmp", "uwsgi")};
  scgi_temp_path ${join(dir, "tmp", "scgi")};
  upstream origins {
${servers}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origins;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`;
}

export async function startNginx(binary: string, origins: readonly Origin[]): Promise<Nginx> {
	const dir = makeTempDir("nginx");
	mkdirSync(join(dir, "tmp"));
	const port = await freePort();
	const conf = join(dir, "nginx.conf");
	writeFileSync(conf, toNginxConf(dir, port, origins));
	const child = startChild("nginx", binary, ["-p", dir, "-c", conf, "-e", join(dir, "error.log")]);
	await waitForPort(port, child);
	return { url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}
