// The units an incremental build (incremental.ts) recomputes on their own: a group of Ingresses
// that share hosts, or the rest (HTTPProxy and Gateway API, one unit). A part is built by the same
// processors and per-host passes as a full build, over an input that records every Service and
// Secret it asked for (found or not), so a later change to one of those names only its readers.
import type { KubeObject } from "../sources/types.ts";
import { reachable } from "./accessors.ts";
import { attachFallbackCertificate } from "./builder.ts";
import { createBuildContext } from "./context.ts";
import { gatewayProcessor } from "./gateway-processor.ts";
import { applyGlobalHeaders } from "./global-headers.ts";
import { httpProxyProcessor } from "./httpproxy.ts";
import { ingressProcessor } from "./ingress.ts";
import { buildListeners, type ServedHosts } from "./listeners.ts";
import { readIngressSpec } from "./ingress-spec.ts";
import type { DagCache } from "./cache.ts";
import type { DagInput, DagOptions } from "./processor.ts";
import { reportShadowedRoutes } from "./shadowed-routes.ts";
import { refKey, type ObjectStatus } from "./status.ts";
import type { Cluster, Listener, Secret, SecureVirtualHost, VirtualHost, WeightedCluster } from "./types.ts";

// Reads of a whole list: a change to any object of the kind concerns the part.
const everyHttpProxy = "HTTPProxy *";
const everyDelegation = "TLSCertificateDelegation *";
const everyGatewayApiObject = "Gateway API *";
const gatewayApiKinds = new Set(["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "ReferenceGrant", "BackendTLSPolicy", "Namespace"]);

/**
 * The read key a change to `key` (`Kind namespace/name`) concerns: its own for Services, Secrets
 * and Ingresses, the whole list's for kinds read as lists; undefined for a kind no part reads.
 */
export function readKeyOf(key: string): string | undefined {
  const kind = key.slice(0, key.indexOf(" "));
  if (kind === "Service" || kind === "Secret" || kind === "Ingress") return key;
  if (kind === "HTTPProxy") return everyHttpProxy;
  if (kind === "TLSCertificateDelegation") return everyDelegation;
  if (gatewayApiKinds.has(kind)) return everyGatewayApiObject;
  return undefined;
}

/** What one unit contributed to a build, kept as it was made until one of its reads changes. */
export interface Part {
  /** `Ingress namespace/name` of its Ingresses; empty for the rest. */
  ingressKeys: string[];
  /** The hosts its Ingresses name (as the Ingress processor normalises them). */
  hosts: string[];
  /** `Service ns/name` and `Secret ns/name` keys it looked up, found or not. */
  reads: Set<string>;
  /** Every virtual host it made, served or not (two units making one host are not independent). */
  virtualHosts: VirtualHost[];
  secureVirtualHosts: SecureVirtualHost[];
  /** What of it the listeners serve, as its own listener pass decided (sorted by host). */
  served: ServedHosts;
  /** The clusters and SDS secrets its served hosts reach, by name. */
  clusters: Map<string, Cluster>;
  secrets: Map<string, Secret>;
  /** The statuses of its objects, as its passes left them (never changed afterwards). */
  statuses: Map<string, ObjectStatus>;
  /** Listeners a processor added (Gateway ports other than 80 and 443). */
  listeners: Listener[];
  /** The clock interval [from, until) in which its certificate checks give the same answers. */
  validFrom: number;
  validUntil: number;
}

/** The hosts an Ingress's rules, default backend and TLS entries name, normalised as ingress.ts does. */
export function ingressHosts(ingress: KubeObject): string[] {
  const { spec } = readIngressSpec(ingress.spec);
  const hosts = new Set<string>();
  if (spec.defaultBackend) hosts.add("*");
  for (const rule of spec.rules) hosts.add((rule.host ?? "").trim().toLowerCase() || "*");
  for (const tls of spec.tls) for (const host of tls.hosts) hosts.add(host.trim().toLowerCase());
  return [...hosts];
}

/** Ingresses grouped so that two sharing a host (directly or through others) are in one group. */
export function groupByHost(ingresses: KubeObject[], hostsOf: (ingress: KubeObject) => string[]): KubeObject[][] {
  const parent = ingresses.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const byHost = new Map<string, number>();
  ingresses.forEach((ingress, i) => {
    for (const host of hostsOf(ingress)) {
      const other = byHost.get(host);
      if (other === undefined) byHost.set(host, i);
      else parent[find(i)] = find(other);
    }
  });
  const groups = new Map<number, KubeObject[]>();
  ingresses.forEach((ingress, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(ingress);
    else groups.set(root, [ingress]);
  });
  return [...groups.values()];
}

/**
 * Builds one part: `ingresses`, or the rest of the input (HTTPProxy, Gateway API) when undefined.
 * Its routes use the clusters of `known` where the name is the same (shareClusters).
 */
export function buildPart(input: DagInput, unit: { options: DagOptions & { cache: DagCache; known: Map<string, Cluster> }; ingresses?: KubeObject[] }): Part {
  const { options, ingresses } = unit;
  const reads = new Set<string>();
  const secretsRead: KubeObject[] = [];
  const rest = ingresses === undefined;
  const recording: DagInput = {
    ingresses: () => ingresses ?? [],
    httpProxies() {
      if (!rest) return [];
      reads.add(everyHttpProxy);
      return input.httpProxies();
    },
    tlsCertificateDelegations() {
      reads.add(everyDelegation);
      return input.tlsCertificateDelegations();
    },
    service(namespace, name) {
      reads.add(`Service ${namespace}/${name}`);
      return input.service(namespace, name);
    },
    secret(namespace, name) {
      reads.add(`Secret ${namespace}/${name}`);
      const secret = input.secret(namespace, name);
      if (secret) secretsRead.push(secret);
      return secret;
    },
  };
  if (rest && input.gatewayApi) {
    recording.gatewayApi = () => {
      reads.add(everyGatewayApiObject);
      return input.gatewayApi!();
    };
  }
  const ctx = createBuildContext(recording, options);
  if (rest) {
    httpProxyProcessor(ctx);
    gatewayProcessor(ctx);
  } else {
    ingressProcessor(ctx);
  }
  reportShadowedRoutes(ctx);
  applyGlobalHeaders(ctx);
  if (rest) attachFallbackCertificate(ctx);
  shareClusters([...ctx.dag.virtualHosts.values(), ...ctx.dag.secureVirtualHosts.values()], options.known);
  // The listener pass over this part alone: whether a host is served depends on the host only
  // (the fallback chain on the rest's hosts only), and it is the last to record a status.
  const listeners = buildListeners(ctx.dag, options.listeners, ctx.status);
  const https = listeners[1];
  const served: ServedHosts = { plain: listeners[0]!.virtualHosts, filterChains: https?.filterChains ?? [], fallback: https?.fallback };
  const { clusters, secrets } = reachable({ listeners: [...listeners, ...ctx.dag.listeners] });
  const statuses = new Map<string, ObjectStatus>();
  for (const status of ctx.status.all()) statuses.set(refKey(status.ref), status);
  const part: Part = {
    ingressKeys: (ingresses ?? []).map((i) => `Ingress ${i.metadata.namespace ?? ""}/${i.metadata.name}`),
    hosts: rest ? [] : [...new Set(ingresses.flatMap(ingressHosts))],
    reads,
    virtualHosts: [...ctx.dag.virtualHosts.values()],
    secureVirtualHosts: [...ctx.dag.secureVirtualHosts.values()],
    served,
    clusters,
    secrets,
    statuses,
    listeners: ctx.dag.listeners,
    validFrom: -Infinity,
    validUntil: Infinity,
  };
  certificateWindow(part, secretsRead, { now: options.now().getTime(), cache: options.cache });
  return part;
}

/**
 * Narrows the part's clock interval to where every TLS certificate it read keeps its verdict
 * (valid, expired, not yet valid): outside it, the checks of secrets.ts could answer otherwise.
 */
function certificateWindow(part: Part, secrets: KubeObject[], options: { now: number; cache: DagCache }): void {
  for (const secret of secrets) {
    const checked = options.cache.secrets.tls.get(secret);
    if (!checked || "error" in checked) continue;
    const notBefore = checked.ok.notBefore?.getTime() ?? -Infinity;
    const notAfter = checked.ok.notAfter?.getTime() ?? Infinity;
    if (notAfter < options.now) part.validFrom = Math.max(part.validFrom, notAfter + 1);
    else if (notBefore > options.now) part.validUntil = Math.min(part.validUntil, notBefore);
    else {
      part.validFrom = Math.max(part.validFrom, notBefore);
      part.validUntil = Math.min(part.validUntil, notAfter + 1);
    }
  }
}

/**
 * Makes the part's routes point at the clusters earlier parts made under the same name (the name
 * is a hash of everything in the cluster), so an unchanged cluster stays one object from build to
 * build. Only this part's own, fresh routes are changed (and TCP proxies').
 */
function shareClusters(virtualHosts: VirtualHost[], known: Map<string, Cluster>): void {
  const shared = (weighted: WeightedCluster | { cluster: Cluster }) => {
    const existing = known.get(weighted.cluster.name);
    if (existing) weighted.cluster = existing;
    else known.set(weighted.cluster.name, weighted.cluster);
  };
  for (const vhost of virtualHosts) {
    for (const route of vhost.routes) {
      for (const weighted of route.clusters) shared(weighted);
      for (const mirror of route.mirrors) shared(mirror);
    }
    for (const weighted of (vhost as SecureVirtualHost).tcpProxy?.clusters ?? []) shared(weighted);
  }
}
