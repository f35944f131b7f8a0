// The agent's Prometheus metrics (prom-client), `isobar_`-prefixed, served on the metrics port
// beside Contour's `contour_*` series (contour-metrics.ts).
// Instruments are counters, gauges and histograms labelled by xDS type, variant and object kind,
// never by node id or object name, so the series count stays fixed however many clients connect.
// Other stages call the instruments of `metrics` (the process default) directly, e.g.
// `metrics.informerRestarts.inc({ kind: "Ingress" })`; values read from another stage's state
// (leader, status writes, certificates) are collected at scrape time from functions given here.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CertificateDaysLeft } from "../certs/tls-server.ts";
import type { StatusWriterStats } from "../status/status.ts";
import type { InformerCounters } from "../sources/kube-reflector.ts";
import { createContourMetrics } from "./contour-metrics.ts";

/** The buckets of rebuild and push-to-ACK latencies, in seconds (1 ms to 10 s). */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  /** Also collect the standard process_* and nodejs_* metrics (the process default does). */
  processMetrics?: boolean;
  /** The serving certificates to report (certificateDaysLeft of certs/tls-server.ts); see observeCertificates. */
  certificates?: () => CertificateDaysLeft[];
}

export type AgentMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let certificates = options.certificates;
  let leaderState: (() => boolean) | undefined;
  let statusStats: (() => StatusWriterStats) | undefined;
  let objectCounts: (() => Map<string, number>) | undefined;

  const instruments = {
    registry,
    rebuildDuration: new Histogram({
      name: "isobar_dag_rebuild_duration_seconds",
      help: "Time of one full build (DAG, translation, endpoints, validation) that was published.",
      buckets: latencyBuckets,
      registers,
    }),
    objects: new Gauge({
      name: "isobar_objects",
      help: "Source objects in the last build, by kind and status (valid, invalid, orphaned).",
      labelNames: ["kind", "status"],
      registers,
      collect() {
        for (const [key, count] of objectCounts?.() ?? []) {
          const [kind, status] = key.split("\u0000");
          this.set({ kind: kind!, status: status! }, count);
        }
      },
    }),
    resources: new Gauge({ name: "isobar_resources", help: "Envoy resources in the published snapshot, by xDS type.", labelNames: ["type"], registers }),
    rejectedResources: new Gauge({ name: "isobar_resources_rejected", help: "Envoy resources the validator left out of the last build, by xDS type.", labelNames: ["type"], registers }),
    snapshotGeneration: new Gauge({ name: "isobar_snapshot_generation", help: "Number of snapshots published with a change since start.", registers }),
    snapshotInfo: new Gauge({ name: "isobar_snapshot_info", help: "The version of each xDS type in the published snapshot (value 1).", labelNames: ["type", "version"], registers }),
    snapshotTimestamp: new Gauge({ name: "isobar_snapshot_last_published_timestamp_seconds", help: "When a snapshot was last published with a change.", registers }),
    endpointUpdates: new Counter({ name: "isobar_endpoint_updates_total", help: "Load assignments replaced through the endpoint fast path.", registers }),
    streams: new Gauge({
      name: "isobar_xds_streams",
      help: "Open xDS subscriptions by type, variant (sotw, delta) and service (ads, per_type).",
      labelNames: ["type", "variant", "service"],
      registers,
    }),
    pushes: new Counter({ name: "isobar_xds_pushes_total", help: "xDS responses sent, by type and variant.", labelNames: ["type", "variant"], registers }),
    pushBytes: new Counter({ name: "isobar_xds_push_bytes_total", help: "Bytes of xDS responses sent, by type and variant.", labelNames: ["type", "variant"], registers }),
    acks: new Counter({ name: "isobar_xds_acks_total", help: "xDS responses acknowledged, by type and variant.", labelNames: ["type", "variant"], registers }),
    nacks: new Counter({ name: "isobar_xds_nacks_total", help: "xDS responses rejected by a client (NACK), by type and variant.", labelNames: ["type", "variant"], registers }),
    pushAckDuration: new Histogram({
      name: "isobar_xds_push_ack_duration_seconds",
      help: "Time from sending an xDS response to the client's ACK or NACK of it, by type.",
      labelNames: ["type"],
      buckets: latencyBuckets,
      registers,
    }),
    informerRestarts: new Counter({ name: "isobar_informer_restarts_total", help: "Kubernetes watches restarted after an error or a dropped connection, by kind.", labelNames: ["kind"], registers }),
    informerRelists: new Counter({ name: "isobar_informer_relists_total", help: "Kubernetes full re-lists (after 410 Gone or a restart), by kind.", labelNames: ["kind"], registers }),
    /** Contour's series (contour-metrics.ts); without leader election this agent counts as the leader. */
    contour: createContourMetrics(registers, () => leaderState?.() ?? true),
    /** Call with the leader elector's isLeader; the gauge is read at scrape time. */
    observeLeader(isLeader: () => boolean): void {
      leaderState = isLeader;
    },
    /** Call with the certificates to report (certs/tls-server.ts certificateDaysLeft); read at scrape time. */
    observeCertificates(list: () => CertificateDaysLeft[]): void {
      certificates = list;
    },
    /** Call with the last build's object counts (by `kind\0status`); read at scrape time. */
    observeObjects(counts: () => Map<string, number>): void {
      objectCounts = counts;
    },
    /** Call with the status writer's stats; the counters are read at scrape time. */
    observeStatusWriter(stats: () => StatusWriterStats): void {
      statusStats = stats;
    },
  };

  new Gauge({
    name: "isobar_leader",
    help: "1 while this replica holds the leader Lease (writes status), 0 otherwise or without leader election.",
    registers,
    collect() {
      this.set(leaderState?.() ? 1 : 0);
    },
  });
  new Counter({
    name: "isobar_status_writes_total",
    help: "Status writes to the Kubernetes API by result (written, skipped, conflict, failed, dropped).",
    labelNames: ["result"],
    registers,
    collect() {
      if (!statusStats) return;
      const stats = statusStats();
      this.reset();
      this.inc({ result: "written" }, stats.written);
      this.inc({ result: "skipped" }, stats.skipped);
      this.inc({ result: "conflict" }, stats.conflicts);
      this.inc({ result: "failed" }, stats.failed);
      this.inc({ result: "dropped" }, stats.dropped);
    },
  });
  new Gauge({
    name: "isobar_certificate_expiry_days",
    help: "Whole days until a serving certificate expires (negative once expired), by file and subject.",
    labelNames: ["file", "subject"],
    registers,
    collect() {
      this.reset();
      for (const cert of certificates?.() ?? []) this.set({ file: cert.file, subject: cert.subject }, cert.daysLeft);
    },
  });
  return instruments;
}

/** The informer counters of `metrics`, for the Kubernetes reflectors (src/sources/kube-reflector.ts). */
export function informerCounters(metrics: AgentMetrics): InformerCounters {
  return {
    restarted: (kind) => metrics.informerRestarts.inc({ kind }),
    relisted: (kind) => metrics.informerRelists.inc({ kind }),
  };
}

let processMetrics: AgentMetrics | undefined;

/** The process's metrics (with process_* metrics): what `agent serve` serves and other stages increment. */
export function defaultMetrics(): AgentMetrics {
  processMetrics ??= createMetrics({ processMetrics: true });
  return processMetrics;
}

/** The process default as a value, for call sites in other stages: `metrics.informerRestarts.inc({ kind })`. */
export const metrics: AgentMetrics = new Proxy({} as AgentMetrics, {
  get: (_target, key) => defaultMetrics()[key as keyof AgentMetrics],
});
