// What the debug server shows, as pure functions: the DAG as Graphviz DOT or JSON (virtual hosts →
// routes → clusters), the snapshot one node is served with key and certificate material replaced
// by "[REDACTED]", the recent NACKs, and the conditions of every object from the last build.
import type { ObjectStatus } from "../dag/status.ts";
import type { Dag, PathMatch, Route, SecureVirtualHost, VirtualHost } from "../dag/types.ts";
import type { NackRecord } from "../xds/nacks.ts";
import type { SnapshotStore } from "../xds/snapshot.ts";
import { resourceTypes, type NodeInfo } from "../xds/types.ts";

export const redacted = "[REDACTED]";

interface DagRouteView {
  match: string;
  headers?: number;
  action: "route" | "redirect" | "direct_response" | "https_redirect";
  clusters: { name: string; service: string; weight: number }[];
  source: string;
}

interface DagVirtualHostView {
  name: string;
  secure: boolean;
  passthrough?: boolean;
  secret?: string;
  sources: string[];
  routes: DagRouteView[];
}

export interface DagView {
  virtualHosts: DagVirtualHostView[];
  clusters: { name: string; service: string; protocol: string; edsServiceName: string }[];
  secrets: string[];
}

function matchText(match: PathMatch): string {
  if (match.kind === "prefix") return `prefix ${match.value}`;
  return `${match.kind} ${match.value}`;
}

function routeView(route: Route): DagRouteView {
  const action = route.httpsRedirect ? "https_redirect" : route.redirect ? "redirect" : route.directResponse ? "direct_response" : "route";
  return {
    match: matchText(route.pathMatch),
    ...(route.headerMatches.length > 0 ? { headers: route.headerMatches.length } : {}),
    action,
    clusters: route.clusters.map((c) => ({ name: c.cluster.name, service: `${c.cluster.service.namespace}/${c.cluster.service.name}:${c.cluster.service.port}`, weight: c.weight })),
    source: `${route.source.kind} ${route.source.namespace}/${route.source.name}`,
  };
}

function virtualHostView(vhost: VirtualHost | SecureVirtualHost, secure: boolean): DagVirtualHostView {
  const tls = secure ? (vhost as SecureVirtualHost) : undefined;
  const tcp = tls?.tcpProxy ? [{ match: "tcp", action: "route" as const, clusters: tls.tcpProxy.clusters.map((c) => ({ name: c.cluster.name, service: `${c.cluster.service.namespace}/${c.cluster.service.name}:${c.cluster.service.port}`, weight: c.weight })), source: "tcpproxy" }] : [];
  return {
    name: vhost.name,
    secure,
    ...(tls?.passthrough ? { passthrough: true } : {}),
    ...(tls?.secret ? { secret: tls.secret.name } : {}),
    sources: vhost.sources.map((s) => `${s.kind} ${s.namespace}/${s.name}`),
    routes: [...vhost.routes.map(routeView), ...tcp],
  };
}

/** The DAG as plain JSON: names and references only, no secret content. */
export function dagView(dag: Dag): DagView {
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    virtualHosts: [
      ...[...dag.virtualHosts.values()].map((v) => virtualHostView(v, false)),
      ...[...dag.secureVirtualHosts.values()].map((v) => virtualHostView(v, true)),
    ].sort((a, b) => byName(a, b) || Number(a.secure) - Number(b.secure)),
    clusters: [...dag.clusters.values()]
      .map((c) => ({ name: c.name, service: `${c.service.namespace}/${c.service.name}:${c.service.port}`, protocol: c.protocol, edsServiceName: c.edsServiceName }))
      .sort(byName),
    secrets: [...dag.secrets.keys()].sort(),
  };
}

/** A DOT double-quoted string. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** The DAG as a Graphviz digraph: virtual hosts → routes → clusters (edge label: weight), → secrets. */
export function dagDot(dag: Dag): string {
  const view = dagView(dag);
  const lines = ["digraph isobar {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"];
  for (const cluster of view.clusters) lines.push(`  ${quote(`cluster:${cluster.name}`)} [label=${quote(`${cluster.service}\n${cluster.protocol}`)}, shape=ellipse];`);
  for (const secret of view.secrets) lines.push(`  ${quote(`secret:${secret}`)} [label=${quote(secret)}, shape=note];`);
  for (const vhost of view.virtualHosts) {
    const id = `vhost:${vhost.secure ? "https" : "http"}:${vhost.name}`;
    lines.push(`  ${quote(id)} [label=${quote(`${vhost.secure ? "https" : "http"}://${vhost.name}`)}, style=bold];`);
    if (vhost.secret) lines.push(`  ${quote(id)} -> ${quote(`secret:${vhost.secret}`)} [style=dashed];`);
    vhost.routes.forEach((route, index) => {
      const routeId = `${id}:route:${index}`;
      lines.push(`  ${quote(routeId)} [label=${quote(`${route.match}${route.action === "route" ? "" : `\n${route.action}`}`)}];`);
      lines.push(`  ${quote(id)} -> ${quote(routeId)};`);
      for (const cluster of route.clusters) lines.push(`  ${quote(routeId)} -> ${quote(`cluster:${cluster.name}`)} [label=${quote(String(cluster.weight))}];`);
    });
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** Fields whose value is key or certificate material, wherever they appear. */
const secretFields = new Set(["private_key", "certificate_chain", "trusted_ca", "crl", "password", "session_ticket_keys", "ocsp_staple", "inline_bytes", "inline_string"]);

/** A deep copy of `value` with every key or certificate field replaced by "[REDACTED]". */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) out[key] = secretFields.has(key) ? redacted : redact(field);
  return out;
}

export interface XdsView {
  node?: NodeInfo;
  types: { type: string; typeUrl: string; version: string; resources: { name: string; version: string; resource: unknown }[] }[];
}

/** The snapshot as one node sees it (every resource when `node` is absent), key material redacted. */
export function xdsView(store: SnapshotStore, node?: NodeInfo): XdsView {
  return {
    ...(node ? { node } : {}),
    types: resourceTypes.map((info) => {
      const all = store.resources(info.typeUrl);
      const names = node ? store.visibleNames(node, info.typeUrl, [...all.keys()]) : [...all.keys()];
      return {
        type: info.short,
        typeUrl: info.typeUrl,
        version: store.version(info.typeUrl),
        resources: names.sort().map((name) => {
          const resource = all.get(name)!;
          return { name, version: resource.version, resource: redact(resource.json) };
        }),
      };
    }),
  };
}

/** Recent NACKs, newest first, as JSON-ready records. */
export function nacksView(nacks: NackRecord[]): object[] {
  return [...nacks].reverse().map((nack) => ({
    time: nack.time.toISOString(),
    node: nack.nodeId,
    ...(nack.claimedNodeId === undefined ? {} : { claimedNode: nack.claimedNodeId }),
    cluster: nack.cluster,
    type: nack.typeUrl,
    variant: nack.delta ? "delta" : "sotw",
    version: nack.version,
    resources: nack.resourceNames,
    error: nack.errorDetail,
  }));
}

/** The conditions of every object from the last build, sorted by kind, namespace and name. */
export function statusView(statuses: ObjectStatus[]): object[] {
  const key = (s: ObjectStatus) => `${s.ref.kind}\u0000${s.ref.namespace}\u0000${s.ref.name}`;
  return [...statuses]
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
    .map((s) => ({
      kind: s.ref.kind,
      namespace: s.ref.namespace,
      name: s.ref.name,
      ...(s.generation !== undefined ? { generation: s.generation } : {}),
      currentStatus: s.currentStatus,
      description: s.description,
      errors: s.errors,
      warnings: s.warnings,
      ...(s.conditions !== undefined ? { conditions: s.conditions } : {}),
    }));
}
