// The whole agent wired together: sources → object cache → pipeline → snapshot store → xDS server.
// `agent serve` parses flags into AgentOptions and calls startAgent; tests call it directly.
import type { ServerCredentials } from "@grpc/grpc-js";
import type { DagOptions } from "./dag/processor.ts";
import type { TranslateOptions } from "./envoy/translate.ts";
import { createPipeline, type Pipeline } from "./pipeline/run.ts";
import { runServe, type RunningAgent } from "./serve.ts";
import { createObjectCache, type ObjectCache } from "./sources/cache.ts";
import { createManifestSource } from "./sources/manifests.ts";
import type { Source } from "./sources/types.ts";
import type { KeepaliveOptions } from "./xds/server.ts";
import { scopeSecrets } from "./xds/sds-scope.ts";
import { createSnapshotStore } from "./xds/snapshot.ts";

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
  watchNamespaces?: string[];
  holdoffMs: number;
  maxDelayMs: number;
}

export interface Agent extends RunningAgent {
  cache: ObjectCache;
  pipeline: Pipeline;
  sources: Source[];
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
  store.setNodeView(scopeSecrets(store));
  const pipeline = createPipeline(store, cache, { dag: options.dag, translate: options.translate, holdoffMs: options.holdoffMs, maxDelayMs: options.maxDelayMs, sources: sources.map((s) => s.name) });
  // With no source at all, serve an empty snapshot; otherwise nothing until every source synced.
  const serving = await runServe({ address: options.address, port: options.port, credentials: options.credentials, keepalive: options.keepalive, store: sources.length === 0 ? undefined : store });
  for (const source of sources) await source.start(pipeline.handlerFor(source.name));
  return {
    ...serving,
    cache,
    pipeline,
    sources,
    async close(graceMs) {
      await Promise.all(sources.map((s) => s.stop()));
      await pipeline.stop();
      await serving.close(graceMs);
    },
  };
}
