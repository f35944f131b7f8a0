// `agent envoy shutdown-manager`: the container beside Envoy in Contour's deployment. Envoy's own
// preStop hook asks it `GET /shutdown`, which answers only once the ready file exists, that is once
// `agent envoy shutdown` (the shutdown-manager container's preStop hook) has drained Envoy, so the
// kubelet does not stop Envoy before its connections are gone. `GET /healthz` is its liveness probe.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { consola, type ConsolaInstance } from "consola";

export interface ShutdownManagerOptions {
  port: number;
  /** Listen address (default: every address, as Contour's). */
  address?: string;
  /** The file `agent envoy shutdown` creates when it is done. */
  readyFile: string;
  /** How often /shutdown looks for the ready file (default 1 s). */
  checkIntervalMs?: number;
  logger?: ConsolaInstance;
}

export interface ShutdownManager {
  port: number;
  close(): Promise<void>;
}

export async function startShutdownManager(options: ShutdownManagerOptions): Promise<ShutdownManager> {
  const log = options.logger ?? consola.withTag("shutdown-manager");
  const intervalMs = options.checkIntervalMs ?? 1_000;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      response.writeHead(200, { "content-type": "text/plain" }).end("OK");
      return;
    }
    if (path !== "/shutdown") {
      response.writeHead(404).end();
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const look = () => {
      if (existsSync(options.readyFile)) {
        log.info(`${options.readyFile} exists: Envoy is drained, answering /shutdown`);
        response.writeHead(200, { "content-type": "text/plain" }).end("OK");
        return;
      }
      timer = setTimeout(look, intervalMs);
    };
    request.on("close", () => clearTimeout(timer));
    log.info(`/shutdown asked: waiting for ${options.readyFile}`);
    look();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info(`shutdown manager on port ${port} (/healthz, /shutdown waits for ${options.readyFile})`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
