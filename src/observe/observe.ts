// The observe stage as startAgent uses it: starts the metrics/health server and (when asked) the
// debug server before the sources start, so /readyz answers 503 while they sync, feeds the metrics
// from the pipeline and the xDS server, and closes both servers on shutdown.
import { hostPort } from "../base/address.ts";
import { consola } from "consola";
import { certificateDaysLeft } from "../certs/tls-server.ts";
import type { Pipeline } from "../pipeline/run.ts";
import type { ObjectCache } from "../pipeline/cache.ts";
import type { XdsServer } from "../xds/server.ts";
import type { SnapshotStore } from "../xds/snapshot.ts";
import { startDebugServer, startMetricsServer, type HttpEndpoint, type Readiness } from "./http.ts";
import { instrumentPipeline, instrumentXds } from "./instrument.ts";
import { defaultMetrics, type AgentMetrics } from "./metrics.ts";

const log = consola.withTag("observe");

export interface ObserveOptions {
  /** Metrics and health: address and port (0: ephemeral); absent: no metrics server. */
  metricsAddress?: { address: string; port: number };
  /** Debug views (loopback only); absent: no debug server. */
  debugAddress?: { address: string; port: number };
  /** Default: the process metrics (defaultMetrics()). */
  metrics?: AgentMetrics;
}

export interface Observability {
  metrics: AgentMetrics;
  /** Bound ports (undefined for a server not started). */
  metricsPort?: number;
  debugPort?: number;
  /** The agent's own readiness, then every added check's, in order: the first not ready answers. */
  readiness(): Promise<Readiness>;
  /** Adds a condition of readiness (the agent's own Envoy, with `serve --envoy`). */
  addReadinessCheck(check: () => Promise<Readiness>): void;
  /** Starts observing the xDS server (it starts after the observe servers). */
  attachXds(server: XdsServer): void;
  /** /readyz answers 503 "shutting down" from now on. */
  draining(): void;
  close(): Promise<void>;
}

/** Starts the observe servers for one agent. */
export async function startObservability(agent: { pipeline: Pipeline; store: SnapshotStore; cache: Pick<ObjectCache, "counts" | "httpProxies">; sources: number }, options: ObserveOptions): Promise<Observability> {
  const metrics = options.metrics ?? defaultMetrics();
  // The process's metrics report the process's serving certificates (mTLS for xDS).
  if (!options.metrics) metrics.observeCertificates(certificateDaysLeft);
  const stops = [instrumentPipeline(metrics, agent)];
  let server: XdsServer | undefined;
  let shuttingDown = false;
  const checks: Array<() => Promise<Readiness>> = [];
  const ownReadiness = (): Readiness => {
    if (shuttingDown) return { ready: false, reason: "shutting down" };
    // Without any source the agent serves an empty snapshot from the start.
    if (agent.pipeline.ready || agent.sources === 0) return { ready: true, reason: "ok" };
    const unsynced = agent.pipeline.unsynced();
    if (unsynced.length === 0) return { ready: false, reason: "no snapshot published yet" };
    // A source that cannot sync says why through its newest problem (a directory it cannot read).
    const problems = agent.pipeline.problems();
    const why = unsynced.map((name) => {
      const newest = problems.findLast((problem) => problem.source === name);
      return newest ? `${name} (${newest.message})` : name;
    });
    return { ready: false, reason: `waiting for sources to sync: ${why.join(", ")}` };
  };
  const readiness = async (): Promise<Readiness> => {
    const own = ownReadiness();
    if (!own.ready) return own;
    for (const check of checks) {
      const answer = await check();
      if (!answer.ready) return answer;
    }
    return own;
  };
  const endpoints: HttpEndpoint[] = [];
  let metricsEndpoint: HttpEndpoint | undefined;
  let debugEndpoint: HttpEndpoint | undefined;
  try {
    if (options.metricsAddress) {
      metricsEndpoint = await startMetricsServer({ ...options.metricsAddress, metrics, readiness });
      endpoints.push(metricsEndpoint);
      log.info(`metrics and health on http://${hostPort(options.metricsAddress.address, metricsEndpoint.port)} (/metrics, /healthz, /readyz)`);
    }
    if (options.debugAddress) {
      debugEndpoint = await startDebugServer({
        ...options.debugAddress,
        sources: {
          store: agent.store,
          lastBuild: () => agent.pipeline.lastBuild,
          nacks: () => server?.nacks.recent() ?? [],
        },
      });
      endpoints.push(debugEndpoint);
      log.info(`debug views on http://${hostPort(options.debugAddress.address, debugEndpoint.port)}/debug/ (dag, xds, nacks, status)`);
    }
  } catch (error) {
    await Promise.all(endpoints.map((e) => e.close()));
    for (const stop of stops) stop();
    throw error;
  }
  return {
    metrics,
    metricsPort: metricsEndpoint?.port,
    debugPort: debugEndpoint?.port,
    readiness,
    addReadinessCheck(check) {
      checks.push(check);
    },
    attachXds(xds) {
      server = xds;
      stops.push(instrumentXds(metrics, xds));
    },
    draining() {
      shuttingDown = true;
    },
    async close() {
      shuttingDown = true;
      for (const stop of stops.splice(0)) stop();
      await Promise.all(endpoints.splice(0).map((e) => e.close()));
    },
  };
}

