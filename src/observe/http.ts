// The agent's two plain HTTP servers (node:http). The metrics server (Contour's 0.0.0.0:8000, for
// Prometheus and the kubelet) serves /metrics, /healthz and /readyz. The debug server serves
// /debug/dag, /debug/xds, /debug/nacks and /debug/status, and binds loopback only (127.0.0.1:6060):
// it shows the whole routing state, so it is reached through `kubectl port-forward`, never a Service.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { hostPort } from "../base/address.ts";
import { isLoopbackAddress } from "../certs/tls-server.ts";
import { UserError } from "../base/errors.ts";
import type { ObjectStatus } from "../dag/status.ts";
import type { Dag } from "../dag/types.ts";
import type { NackRecord } from "../xds/nacks.ts";
import type { SnapshotStore } from "../xds/snapshot.ts";
import { dagDot, dagView, nacksView, statusView, xdsView } from "./debug-views.ts";
import type { AgentMetrics } from "./metrics.ts";

/** A metrics or debug server that may not or cannot listen where it was asked to. */
export class ObserveError extends UserError {
  override name = "ObserveError";
}

export interface HttpEndpoint {
  /** The bound port (the given one, or the ephemeral one for port 0). */
  port: number;
  close(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  /** Why not ready ("waiting for sources to sync: kubernetes"), or "ok". */
  reason: string;
}

/** Refuses a debug address beyond loopback (one line, exit 2). */
export function checkDebugAddress(address: string): void {
  if (!isLoopbackAddress(address)) throw new ObserveError(`--debug-address must be a loopback address (127.0.0.1, ::1, localhost), got ${JSON.stringify(address)}: the debug views show the whole routing state`);
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, "application/json; charset=utf-8", `${JSON.stringify(value, null, 2)}\n`);
}

function listen(server: Server, address: string, port: number, what: string): Promise<HttpEndpoint> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const reason = error.code === "EADDRINUSE" ? "address already in use" : error.code ?? error.message;
      reject(new ObserveError(`cannot listen for ${what} on ${hostPort(address, port)}: ${reason}`, 1));
    };
    server.once("error", failed);
    server.listen(port, address, () => {
      server.off("error", failed);
      const bound = server.address();
      resolve({
        port: typeof bound === "object" && bound ? bound.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Wraps a handler so that a throw is a 500 with one line, never a crash. */
function guarded(handler: (request: IncomingMessage, url: URL, response: ServerResponse) => Promise<void> | void) {
  return (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://agent");
    Promise.resolve()
      .then(() => handler(request, url, response))
      .catch((error: unknown) => {
        if (!response.headersSent) send(response, 500, "text/plain; charset=utf-8", `internal error: ${(error as Error).message}\n`);
        else response.end();
      });
  };
}

export interface MetricsServerOptions {
  address: string;
  port: number;
  metrics: AgentMetrics;
  readiness(): Readiness | Promise<Readiness>;
}

/** /metrics (Prometheus text), /healthz (200 while the process runs), /readyz (200 once ready, else 503). */
export function startMetricsServer(options: MetricsServerOptions): Promise<HttpEndpoint> {
  const server = createServer(
    guarded(async (request, url, response) => {
      if (request.method !== "GET" && request.method !== "HEAD") return send(response, 405, "text/plain; charset=utf-8", "method not allowed\n");
      switch (url.pathname) {
        case "/metrics":
          return send(response, 200, options.metrics.registry.contentType, await options.metrics.registry.metrics());
        case "/healthz":
          return send(response, 200, "text/plain; charset=utf-8", "ok\n");
        case "/readyz": {
          const { ready, reason } = await options.readiness();
          return send(response, ready ? 200 : 503, "text/plain; charset=utf-8", `${reason}\n`);
        }
        default:
          return send(response, 404, "text/plain; charset=utf-8", "not found: /metrics, /healthz, /readyz\n");
      }
    }),
  );
  return listen(server, options.address, options.port, "metrics and health (--metrics-port)");
}

export interface DebugSources {
  store: SnapshotStore;
  /** The DAG and statuses of the last published build (undefined before the first). */
  lastBuild(): { dag: Dag; statuses: ObjectStatus[] } | undefined;
  nacks(): NackRecord[];
}

export interface DebugServerOptions {
  address: string;
  port: number;
  sources: DebugSources;
}

const notBuilt = { error: "no build published yet" };

/** The debug views; refuses (ObserveError) an address beyond loopback. */
export function startDebugServer(options: DebugServerOptions): Promise<HttpEndpoint> {
  checkDebugAddress(options.address);
  const { sources } = options;
  const server = createServer(
    guarded((request, url, response) => {
      if (request.method !== "GET" && request.method !== "HEAD") return send(response, 405, "text/plain; charset=utf-8", "method not allowed\n");
      const build = sources.lastBuild();
      switch (url.pathname) {
        case "/debug/dag":
          if (!build) return sendJson(response, 503, notBuilt);
          if (url.searchParams.get("format") === "json") return sendJson(response, 200, dagView(build.dag));
          return send(response, 200, "text/vnd.graphviz; charset=utf-8", dagDot(build.dag));
        case "/debug/xds": {
          const id = url.searchParams.get("node");
          const identity = url.searchParams.get("identity");
          const node = id === null ? undefined : { id, cluster: url.searchParams.get("cluster") ?? "", ...(identity ? { identity } : {}) };
          return sendJson(response, 200, xdsView(sources.store, node));
        }
        case "/debug/nacks":
          return sendJson(response, 200, nacksView(sources.nacks()));
        case "/debug/status":
          if (!build) return sendJson(response, 503, notBuilt);
          return sendJson(response, 200, statusView(build.statuses));
        default:
          return send(response, 404, "text/plain; charset=utf-8", "not found: /debug/dag[?format=json], /debug/xds[?node=ID], /debug/nacks, /debug/status\n");
      }
    }),
  );
  return listen(server, options.address, options.port, "the debug views (--debug-port)");
}
