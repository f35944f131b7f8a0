// Contour's own series (`contour_*`, as Contour 1.33 names, labels and types them), served beside
// isobar's so the dashboards and alerts of a Contour deployment keep working after the switch.
// Only what isobar really computes is exported: HTTPProxy counts by status, DAG rebuilds and the
// object cache. Like Contour, the HTTPProxy gauges come from the leader only (every replica builds
// the same DAG; summing them across replicas must not count an object twice); without leader
// election (a manifest directory) the one agent is the leader.
import { Counter, Gauge, Summary, type Registry } from "prom-client";
import type { ObjectStatus } from "../dag/status.ts";
import type { KubeObject } from "../sources/types.ts";
import { version } from "../base/version.ts";

/** HTTPProxies of one build, counted as Contour counts them (internal/contour/metrics.go). */
export interface HTTPProxyCounts {
  /** By namespace: every HTTPProxy, whatever its status. */
  total: Map<string, number>;
  /** By namespace: roots (those with a virtualhost fqdn). */
  root: Map<string, number>;
  /** By namespace: orphaned (no root includes them). */
  orphaned: Map<string, number>;
  /** By namespace and vhost (empty for non-roots). */
  valid: Map<string, { namespace: string; vhost: string; count: number }>;
  invalid: Map<string, { namespace: string; vhost: string; count: number }>;
}

/** The kinds Contour's DAG cache holds that isobar's cache holds too (EndpointSlices are not in Contour's). */
const dagCacheKinds = ["Ingress", "HTTPProxy", "TLSCertificateDelegation", "Service", "Secret"] as const;

/** Contour's rebuild-duration quantiles (0 to 1, as its Summary objectives). */
const rebuildQuantiles = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

export interface BuildObservation {
  /** Seconds spent building the DAG. */
  dagSeconds: number;
  /** Seconds spent turning the DAG into the published snapshot (Contour's xDS cache update). */
  updateSeconds: number;
  /** Counted when a scrape first asks (most builds are never scraped, and counting walks every HTTPProxy). */
  httpProxies: () => HTTPProxyCounts;
}

export type ContourMetrics = ReturnType<typeof createContourMetrics>;

/** Registers Contour's series in `registers`; `isLeader` gates the HTTPProxy gauges at scrape time. */
export function createContourMetrics(registers: Registry[], isLeader: () => boolean) {
  let countsOf: (() => HTTPProxyCounts) | undefined;
  let counted: HTTPProxyCounts | undefined;
  const currentCounts = () => (counted ??= countsOf?.());
  let cacheCounts: (() => Record<string, number>) | undefined;

  new Gauge({ name: "contour_build_info", help: "Build information (isobar's version; branch and revision are not recorded).", labelNames: ["branch", "revision", "version"], registers }).set({ branch: "", revision: "", version }, 1);
  const rebuildTimestamp = new Gauge({ name: "contour_dagrebuild_timestamp", help: "Timestamp of the last DAG rebuild.", registers });
  const rebuildTotal = new Counter({ name: "contour_dagrebuild_total", help: "Total number of times DAG has been rebuilt since startup", registers });
  const rebuildSeconds = new Summary({ name: "contour_dagrebuild_seconds", help: "Duration in seconds of DAG rebuilds", percentiles: rebuildQuantiles, registers });
  const updateSeconds = new Summary({ name: "contour_cachehandler_onupdate_duration_seconds", help: "Histogram for the runtime of xDS cache regeneration.", percentiles: [0.5, 0.9, 0.99], registers });

  const perNamespace = (name: string, help: string, pick: (c: HTTPProxyCounts) => Map<string, number>) =>
    new Gauge({
      name,
      help,
      labelNames: ["namespace"],
      registers,
      collect() {
        this.reset();
        const counts = isLeader() ? currentCounts() : undefined;
        if (!counts) return;
        for (const [namespace, count] of pick(counts)) this.set({ namespace }, count);
      },
    });
  const perVirtualHost = (name: string, help: string, pick: (c: HTTPProxyCounts) => HTTPProxyCounts["valid"]) =>
    new Gauge({
      name,
      help,
      labelNames: ["namespace", "vhost"],
      registers,
      collect() {
        this.reset();
        const counts = isLeader() ? currentCounts() : undefined;
        if (!counts) return;
        for (const { namespace, vhost, count } of pick(counts).values()) this.set({ namespace, vhost }, count);
      },
    });
  perNamespace("contour_httpproxy", "Total number of HTTPProxies that exist regardless of status.", (c) => c.total);
  perNamespace("contour_httpproxy_root", "Total number of root HTTPProxies. Note there will only be a single root HTTPProxy per vhost.", (c) => c.root);
  perNamespace("contour_httpproxy_orphaned", "Total number of orphaned HTTPProxies which have no root delegating to them.", (c) => c.orphaned);
  perVirtualHost("contour_httpproxy_valid", "Total number of valid HTTPProxies.", (c) => c.valid);
  perVirtualHost("contour_httpproxy_invalid", "Total number of invalid HTTPProxies.", (c) => c.invalid);
  new Gauge({
    name: "contour_dag_cache_object",
    help: "Total number of items that are currently in the DAG cache.",
    labelNames: ["kind"],
    registers,
    collect() {
      this.reset();
      const held = cacheCounts?.();
      if (!held) return;
      for (const kind of dagCacheKinds) this.set({ kind }, held[kind] ?? 0);
    },
  });

  return {
    /** One published build: the rebuild counters and durations, and the HTTPProxy counts the gauges report. */
    recordBuild(observation: BuildObservation): void {
      rebuildTimestamp.set(Math.floor(Date.now() / 1000));
      rebuildTotal.inc();
      rebuildSeconds.observe(observation.dagSeconds);
      updateSeconds.observe(observation.updateSeconds);
      countsOf = observation.httpProxies;
      counted = undefined;
    },
    /** Call with the object cache's counts per kind; read at scrape time. */
    observeCache(list: () => Record<string, number>): void {
      cacheCounts = list;
    },
  };
}

/** Counts HTTPProxies by namespace, status and vhost from one build's statuses and the proxies it read. */
export function countHTTPProxies(statuses: readonly ObjectStatus[], proxies: readonly KubeObject[]): HTTPProxyCounts {
  const fqdns = new Map<string, string>();
  for (const proxy of proxies) {
    const fqdn = (proxy.spec as { virtualhost?: { fqdn?: unknown } } | undefined)?.virtualhost?.fqdn;
    if (typeof fqdn === "string" && fqdn.trim() !== "") fqdns.set(`${proxy.metadata.namespace}/${proxy.metadata.name}`, fqdn);
  }
  const counts: HTTPProxyCounts = { total: new Map(), root: new Map(), orphaned: new Map(), valid: new Map(), invalid: new Map() };
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const addVhost = (map: HTTPProxyCounts["valid"], namespace: string, vhost: string) => {
    const key = `${namespace}\u0000${vhost}`;
    const entry = map.get(key) ?? { namespace, vhost, count: 0 };
    entry.count++;
    map.set(key, entry);
  };
  for (const status of statuses) {
    if (status.ref.kind !== "HTTPProxy") continue;
    const { namespace, name } = status.ref;
    const vhost = fqdns.get(`${namespace}/${name}`) ?? "";
    add(counts.total, namespace);
    if (vhost !== "") add(counts.root, namespace);
    if (status.currentStatus === "orphaned") add(counts.orphaned, namespace);
    else addVhost(status.currentStatus === "valid" ? counts.valid : counts.invalid, namespace, vhost);
  }
  return counts;
}
