// The whole agent wired together: sources → object cache → pipeline → snapshot store → xDS server,
// and the process around it (stop signals, stray errors). `agent serve` (src/cli/serve.ts) parses
// flags into AgentOptions and calls startAgent; tests call it, or runServe for the xDS server alone.
import type { ServerCredentials } from "@grpc/grpc-js";
import { consola } from "consola";
import type { DagOptions } from "../dag/processor.ts";
import type { EndpointPolicy } from "../envoy/endpoint.ts";
import type { TranslateOptions } from "../envoy/translate.ts";
import type { StatusWriterStats } from "../status/status.ts";
import { startObservability, type Observability, type ObserveOptions } from "../observe/observe.ts";
import { connectNackFeedback, createNackFeedback, type NackFeedback } from "../pipeline/nack-feedback.ts";
import { createPipeline, type Pipeline } from "../pipeline/run.ts";
import { createObjectCache, type ObjectCache } from "../pipeline/cache.ts";
import { createManifestSource } from "../sources/manifests.ts";
import type { Source } from "../sources/types.ts";
import { startXdsServer, type KeepaliveOptions, type XdsServer } from "../xds/server.ts";
import { installSdsScope } from "../xds/sds-scope.ts";
import { createSnapshotStore, type SnapshotStore } from "../xds/snapshot.ts";
import { emptyResourceSet } from "../xds/types.ts";

const log = consola.withTag("serve");

export interface ServeOptions {
  address: string;
  port: number;
  credentials?: ServerCredentials;
  keepalive?: KeepaliveOptions;
  /** A store to serve; a new one, published empty, when absent. */
  store?: SnapshotStore;
}

export interface RunningAgent {
  store: SnapshotStore;
  server: XdsServer;
  /** Stops serving: ends the streams and closes the port, forcing after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

/** The xDS server on a snapshot store: all of the agent but its sources and pipeline. */
export async function runServe(options: ServeOptions): Promise<RunningAgent> {
  const store = options.store ?? createSnapshotStore();
  // A given store is served as it is: unpublished, clients wait until its first publish.
  if (!options.store) store.publish(emptyResourceSet());
  const server = await startXdsServer({ store, address: options.address, port: options.port, credentials: options.credentials, keepalive: options.keepalive });
  return { store, server, close: (graceMs) => server.close(graceMs) };
}

/** Signals that stop the agent gracefully: SIGQUIT too, as "quit" (no core dump, no stack dump). */
const stopSignals = ["SIGINT", "SIGTERM", "SIGQUIT"] as const;
/**
 * Signals logged and ignored: SIGHUP (a closed terminal, or a habit of asking daemons to reload:
 * there is nothing to reload, manifests and TLS files are watched), SIGUSR1 and SIGUSR2 (no meaning
 * here). Their default action would kill the agent without a word.
 */
const ignoredSignals = ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const;

/** Resolves on the first SIGINT, SIGTERM or SIGQUIT, with the signal's name; logs and ignores SIGHUP, SIGUSR1, SIGUSR2. */
export function untilSignal(): Promise<string> {
  for (const signal of ignoredSignals) {
    process.on(signal, () => log.warn(`${signal} received and ignored (only SIGTERM, SIGINT or SIGQUIT stop the agent; manifests and TLS files are re-read on their own)`));
  }
  return new Promise((resolve) => {
    const onSignal = (signal: string) => {
      for (const s of stopSignals) process.off(s, onSignal);
      log.info(`${signal} received, shutting down`);
      resolve(signal);
    };
    for (const s of stopSignals) process.on(s, onSignal);
  });
}

/**
 * A long-running server must not die of one stray error in a callback: Envoys keep the last
 * snapshot they got, but a crash loop would stop every update. Log it (name and message only) and
 * keep serving; the metrics and logs make it visible.
 */
export function keepServingOnStrayErrors(): void {
  process.on("unhandledRejection", (reason) => log.error(`unhandled rejection, still serving: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`));
  process.on("uncaughtException", (error) => log.error(`uncaught exception, still serving: ${error.name}: ${error.message}`));
}

export interface AgentOptions {
  address: string;
  port: number;
  credentials?: ServerCredentials;
  keepalive?: KeepaliveOptions;
  /** A manifest directory to serve (the embedded default that needs no cluster). */
  manifests?: string;
  /** Further sources (Kubernetes informers). */
  sources?: Source[];
  dag: DagOptions;
  translate?: TranslateOptions;
  /** Which EndpointSlice addresses are served (default: unicast addresses of other hosts only). */
  endpoints?: EndpointPolicy;
  watchNamespaces?: string[];
  holdoffMs: number;
  maxDelayMs: number;
  /** Metrics/health and debug servers (none when absent; the process metrics are fed either way). */
  observe?: ObserveOptions;
}

export interface Agent extends RunningAgent {
  cache: ObjectCache;
  pipeline: Pipeline;
  /** What clients NACKed, reported on the objects behind it (issue 7, NACK feedback; per client since issue 10). */
  feedback: NackFeedback;
  sources: Source[];
  observe: Observability;
  /**
   * Hands the agent the status reporting started on its pipeline (src/status/reporting.ts): leader state
   * and status writes become metrics, and close() stops it (releasing the Lease) with the xDS server.
   */
  attachStatusReporting(reporting: StatusReportingHandle): void;
}

export interface StatusReportingHandle {
  isLeader(): boolean;
  writer?: { stats(): StatusWriterStats };
  stop(): Promise<void>;
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const sources = [...(options.manifests ? [createManifestSource(options.manifests)] : []), ...(options.sources ?? [])];
  const cache = createObjectCache({
    ingressClassNames: options.dag.ingressClassNames,
    watchNamespaces: options.watchNamespaces,
    fallbackCertificate: options.dag.fallbackCertificate,
    upstreamClientCertificate: options.dag.upstreamClientCertificate,
  });
  const store = createSnapshotStore();
  // Each node is sent only the secrets its own listeners and clusters reference (issue 6, SDS scoping).
  installSdsScope(store);
  // A NACKed resource's objects say why (the xDS server holds it back from the client that rejected it only).
  const feedback = createNackFeedback(store);
  const pipeline = createPipeline(store, cache, { dag: options.dag, translate: options.translate, endpoints: options.endpoints, holdoffMs: options.holdoffMs, maxDelayMs: options.maxDelayMs, sources: sources.map((s) => s.name), beforePublish: feedback.apply });
  // Before the sources start, so /readyz says 503 while they sync.
  const observe = await startObservability({ pipeline, store, cache, sources: sources.length }, options.observe ?? {});
  // With no source at all, serve an empty snapshot; otherwise nothing until every source synced.
  if (sources.length === 0) store.publish(emptyResourceSet());
  const serving = await runServe({ address: options.address, port: options.port, credentials: options.credentials, keepalive: options.keepalive, store }).catch(async (error: unknown) => {
    await observe.close();
    throw error;
  });
  observe.attachXds(serving.server);
  let reporting: StatusReportingHandle | undefined;
  const disconnectFeedback = connectNackFeedback(feedback, { server: serving.server, pipeline });
  for (const source of sources) await source.start(pipeline.handlerFor(source.name));
  return {
    ...serving,
    cache,
    pipeline,
    feedback,
    sources,
    observe,
    attachStatusReporting(handle) {
      reporting = handle;
      observe.metrics.observeLeader(handle.isLeader);
      if (handle.writer) observe.metrics.observeStatusWriter(handle.writer.stats);
    },
    // Shutdown order: not ready, no more input, end the xDS streams (new ones refused, forced after
    // graceMs) while the Lease is released, then the metrics and debug servers.
    async close(graceMs) {
      observe.draining();
      await Promise.all(sources.map((s) => s.stop()));
      await pipeline.stop();
      disconnectFeedback();
      feedback.stop();
      await Promise.all([serving.close(graceMs), reporting?.stop()]);
      await observe.close();
    },
  };
}
