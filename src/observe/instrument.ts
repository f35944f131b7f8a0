// Feeds the metrics from what the agent does: each published build (duration, objects per kind and
// status, snapshot versions), the endpoint fast path, source problems, and the xDS server's events
// (subscriptions per type and variant, pushes and bytes, ACKs, NACKs, push-to-ACK latency). Each
// listener does a few counter updates and keeps per-stream state only while the stream is open.
import type { BuildEvent, Pipeline } from "../pipeline/run.ts";
import type { ObjectCache } from "../pipeline/cache.ts";
import type { XdsEvent } from "../xds/server-common.ts";
import type { XdsServer } from "../xds/server.ts";
import type { SnapshotStore } from "../xds/snapshot.ts";
import { resourceTypes, typeInfo } from "../xds/types.ts";
import { countHTTPProxies } from "./contour-metrics.ts";
import type { AgentMetrics } from "./metrics.ts";
import type { ObjectStatus } from "../dag/status.ts";

const objectStatuses = ["valid", "invalid", "orphaned"] as const;

/** Lower-case short type name for labels ("cds", "eds", …), "unknown" for a type not served. */
export function typeLabel(typeUrl: string | undefined): string {
  return typeInfo(typeUrl ?? "")?.short.toLowerCase() ?? "unknown";
}

/** Observes the pipeline's builds and endpoint updates; returns the function that stops observing. */
export function instrumentPipeline(metrics: AgentMetrics, agent: { pipeline: Pipeline; store: SnapshotStore; cache: Pick<ObjectCache, "counts" | "httpProxies"> }): () => void {
  const { pipeline, store, cache } = agent;
  const kinds = new Set<string>();
  metrics.contour.observeCache(() => cache.counts());
  // The objects gauge is read at scrape time from the last build's statuses, counted once per build.
  let lastStatuses: (() => readonly ObjectStatus[]) | undefined;
  let objectCounts: Map<string, number> | undefined;
  metrics.observeObjects(() => {
    if (!objectCounts && lastStatuses) {
      const counts = new Map<string, number>();
      for (const status of lastStatuses()) {
        kinds.add(status.ref.kind);
        const key = `${status.ref.kind}\u0000${status.currentStatus}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      // Every kind seen once keeps its series (at 0) so a vanished object reads as 0, not as stale.
      for (const kind of kinds) for (const status of objectStatuses) if (!counts.has(`${kind}\u0000${status}`)) counts.set(`${kind}\u0000${status}`, 0);
      objectCounts = counts;
    }
    return objectCounts ?? new Map();
  });
  const onBuild = ({ result, changedTypes }: BuildEvent) => {
    metrics.rebuildDuration.observe(result.timings.total / 1000);
    const { dag, total } = result.timings;
    // Counting walks every status: left to the scrape that asks (statuses are sorted only when read).
    metrics.contour.recordBuild({ dagSeconds: dag / 1000, updateSeconds: (total - dag) / 1000, httpProxies: () => countHTTPProxies(result.statuses, cache.httpProxies()) });
    lastStatuses = () => result.statuses;
    objectCounts = undefined;
    const rejected = new Map<string, number>();
    for (const rejection of result.rejected) rejected.set(rejection.typeUrl, (rejected.get(rejection.typeUrl) ?? 0) + 1);
    for (const info of resourceTypes) {
      const type = typeLabel(info.typeUrl);
      metrics.resources.set({ type }, result.resources[info.kind]?.length ?? store.resources(info.typeUrl).size);
      metrics.rejectedResources.set({ type }, rejected.get(info.typeUrl) ?? 0);
    }
    if (changedTypes.size > 0) {
      metrics.snapshotGeneration.inc();
      metrics.snapshotTimestamp.set(Date.now() / 1000);
      recordVersions(metrics, store);
    }
  };
  const offBuild = pipeline.onBuild(onBuild);
  const offEndpoints = pipeline.onEndpoints((event) => {
    metrics.endpointUpdates.inc(event.changed);
    recordVersions(metrics, store);
  });
  return () => {
    offBuild();
    offEndpoints();
  };
}

function recordVersions(metrics: AgentMetrics, store: SnapshotStore): void {
  metrics.snapshotInfo.reset();
  for (const info of resourceTypes) metrics.snapshotInfo.set({ type: typeLabel(info.typeUrl), version: store.version(info.typeUrl) }, 1);
}

interface StreamState {
  variant: "sotw" | "delta";
  service: "ads" | "per_type";
  /** The types this stream subscribed to (each counted once in the streams gauge). */
  types: Set<string>;
  /** Per type: the newest response's nonce and when it was sent, until it is answered. */
  sent: Map<string, { nonce: string; at: number }>;
}

/** Observes the xDS server's events; returns the function that stops observing. */
export function instrumentXds(metrics: AgentMetrics, server: Pick<XdsServer, "on">): () => void {
  const streams = new Map<number, StreamState>();
  const labelsOf = (state: StreamState, typeUrl: string | undefined) => ({ type: typeLabel(typeUrl), variant: state.variant });

  const onEvent = (event: XdsEvent) => {
    if (event.kind === "open") {
      // A per-type service names its type on open; ADS streams name none.
      streams.set(event.stream, { variant: event.delta ? "delta" : "sotw", service: event.typeUrl ? "per_type" : "ads", types: new Set(), sent: new Map() });
      return;
    }
    const state = streams.get(event.stream);
    if (!state) return;
    switch (event.kind) {
      case "close":
        for (const typeUrl of state.types) metrics.streams.dec({ type: typeLabel(typeUrl), variant: state.variant, service: state.service });
        streams.delete(event.stream);
        return;
      case "request":
        if (event.typeUrl && !state.types.has(event.typeUrl)) {
          state.types.add(event.typeUrl);
          metrics.streams.inc({ type: typeLabel(event.typeUrl), variant: state.variant, service: state.service });
        }
        return;
      case "response": {
        const labels = labelsOf(state, event.typeUrl);
        metrics.pushes.inc(labels);
        if (event.bytes) metrics.pushBytes.inc(labels, event.bytes);
        if (event.typeUrl && event.nonce) state.sent.set(event.typeUrl, { nonce: event.nonce, at: performance.now() });
        return;
      }
      case "ack":
      case "nack": {
        (event.kind === "ack" ? metrics.acks : metrics.nacks).inc(labelsOf(state, event.typeUrl));
        const sent = event.typeUrl ? state.sent.get(event.typeUrl) : undefined;
        if (sent && sent.nonce === event.nonce) {
          metrics.pushAckDuration.observe({ type: typeLabel(event.typeUrl) }, (performance.now() - sent.at) / 1000);
          state.sent.delete(event.typeUrl!);
        }
        return;
      }
      default:
        return;
    }
  };
  const off = server.on(onEvent);
  return () => {
    off();
    for (const state of streams.values()) for (const typeUrl of state.types) metrics.streams.dec({ type: typeLabel(typeUrl), variant: state.variant, service: state.service });
    streams.clear();
  };
}
