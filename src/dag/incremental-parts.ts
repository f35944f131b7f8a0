// The units an incremental build (incremental.ts) recomputes on their own: a group of Ingresses
// that share hosts; a group of HTTPProxies linked by includes (found or not) and shared fqdns; the
// Gateway API (one unit); the TLSCertificateDelegations' own conditions. A part is built by the same
// processors and per-host passes as a full build, over an input that records every Service and
// Secret it asked for (found or not), so a later change to one of those names only its readers.
import { asRecord } from "../base/values.ts";
import { watchedKinds, type KubeObject } from "../sources/types.ts";
import { reachable } from "./accessors.ts";
import { finishVirtualHosts } from "./builder.ts";
import { createBuildContext } from "./context.ts";
import { gatewayProcessor } from "./gateway-processor.ts";
import { GATEWAY_GROUP } from "./gateway-refs.ts";
import { httpProxyProcessor, httpProxyTreesProcessor, reportDelegationProblems } from "./httpproxy.ts";
import { ingressProcessor } from "./ingress.ts";
import { readIngressSpec } from "./ingress-spec.ts";
import { buildListeners, type ServedHosts } from "./listeners.ts";
import type { DagCache } from "./cache.ts";
import type { DagInput, DagOptions, Processor } from "./processor.ts";
import type { ObjectStatus } from "./status.ts";
import type { Cluster, FallbackFilterChain, Listener, Secret, SecureFilterChain, SecureVirtualHost, VirtualHost, WeightedCluster } from "./types.ts";

// Reads of a whole list: a change to any object of the kind concerns the part.
const everyDelegation = "TLSCertificateDelegation *";
const everyGatewayApiObject = "Gateway API *";
// Namespaces are read with the Gateway API objects (allowedRoutes selectors).
const gatewayApiKinds: ReadonlySet<string> = new Set([...watchedKinds.filter((k) => k.group === GATEWAY_GROUP).map((k) => k.kind), "Namespace"]);

/**
 * The read key a change to `key` (`Kind namespace/name`) concerns: its own for Services and
 * Secrets, the whole list's for kinds read as lists; undefined for other kinds (an Ingress or
 * HTTPProxy goes by its unit and links instead, an EndpointSlice by nothing).
 */
export function readKeyOf(key: string): string | undefined {
  const kind = key.slice(0, key.indexOf(" "));
  if (kind === "Service" || kind === "Secret" || kind === "ConfigMap") return key;
  if (kind === "TLSCertificateDelegation") return everyDelegation;
  if (gatewayApiKinds.has(kind)) return everyGatewayApiObject;
  return undefined;
}

/** What a unit is made of: a group of Ingresses or HTTPProxies, or one of the two single units. */
export type UnitKind = "ingress" | "httpproxy" | "gateway" | "delegations";

/**
 * One item or several. Most units are one Ingress, with one key, link, status or cluster of each
 * kind: kept without an array around it (an array costs about 100 bytes, and 100k units hold
 * several each). Never an array of arrays.
 */
export type Few<T> = T | readonly T[];

// The empty Few (and list): one shared array, never changed (a unit's lists are only read).
const none: never[] = [];

/** The items as a Few: the item alone, or the shared empty array. */
function fewOf<T>(values: Iterable<T>): Few<T> {
  // Most lists of a unit hold one item or none: no copy of them.
  if (Array.isArray(values) && values.length < 2) return values.length === 1 ? (values[0] as T) : none;
  const list = [...values];
  return list.length === 1 ? list[0]! : list.length === 0 ? none : list;
}

/** The items of a Few, as a list. */
export function eachOf<T>(few: Few<T>): readonly T[] {
  return Array.isArray(few) ? (few as readonly T[]) : [few as T];
}

/** What one unit contributed to a build, kept as it was made until one of its reads changes. */
export interface Part {
  kind: UnitKind;
  /** `Ingress namespace/name` or `HTTPProxy namespace/name` of its objects. */
  objectKeys: Few<string>;
  /** What links its objects to others (linksOf): a change linked to one rebuilds it. */
  links: Few<string>;
  /** `Service ns/name`, `Secret ns/name` and `ConfigMap ns/name` keys it looked up, found or not (each once). */
  reads: Few<string>;
  /** Every virtual host it made, served or not (two units making one host are not independent). */
  virtualHosts: Few<VirtualHost>;
  secureVirtualHosts: Few<SecureVirtualHost>;
  /** What of it the listeners serve, as its own listener pass decided (sorted by host): ServedHosts, each list a Few. */
  plain: Few<VirtualHost>;
  filterChains: Few<SecureFilterChain>;
  fallback: FallbackFilterChain | undefined;
  /** The clusters and SDS secrets its served hosts reach (each once). */
  clusters: Few<Cluster>;
  secrets: Few<Secret>;
  /** The statuses of its objects, as its passes left them (never changed afterwards), and their refKeys, in the same order. */
  statuses: Few<ObjectStatus>;
  statusKeys: Few<string>;
  /** Listeners a processor added (Gateway ports other than 80 and 443). */
  listeners: Listener[];
  /** The clock interval [from, until) in which its certificate checks give the same answers. */
  validFrom: number;
  validUntil: number;
}

/** The `Kind namespace/name` key of an Ingress or HTTPProxy. */
export function objectKey(object: KubeObject): string {
  return `${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

/**
 * What ties an Ingress or HTTPProxy to others processed with it: an Ingress's hosts (rules, default
 * backend, TLS entries, normalised as ingress.ts does); an HTTPProxy's own name, the proxies it
 * includes (found or not: one appearing later joins) and its fqdn (duplicates are decided together).
 * Read loosely from the raw spec: a link too many only makes a unit larger.
 */
export function linksOf(object: KubeObject): string[] {
  const links = new Set<string>();
  if (object.kind === "Ingress") {
    const { spec } = readIngressSpec(object.spec);
    if (spec.defaultBackend) links.add("host *");
    for (const rule of spec.rules) links.add(`host ${(rule.host ?? "").trim().toLowerCase() || "*"}`);
    for (const tls of spec.tls) for (const host of tls.hosts) links.add(`host ${host.trim().toLowerCase()}`);
    return [...links];
  }
  const namespace = object.metadata.namespace ?? "";
  links.add(`proxy ${namespace}/${object.metadata.name}`);
  const spec = asRecord(object.spec);
  const fqdn = asRecord(spec?.virtualhost)?.fqdn;
  if (typeof fqdn === "string") links.add(`fqdn ${fqdn.toLowerCase()}`);
  const tcpproxy = asRecord(spec?.tcpproxy);
  const includes = [...(Array.isArray(spec?.includes) ? spec.includes : []), tcpproxy?.include, tcpproxy?.includes];
  for (const include of includes.map(asRecord)) {
    if (!include) continue;
    const name = typeof include.name === "string" ? include.name : "";
    const target = typeof include.namespace === "string" && include.namespace !== "" ? include.namespace : namespace;
    links.add(`proxy ${target}/${name}`);
    links.add(`proxy ${namespace}/${name}`);
  }
  return [...links];
}

/** Objects grouped so that two sharing a link (directly or through others) are in one group. */
export function groupByLink(objects: KubeObject[], linksOf: (object: KubeObject) => string[]): KubeObject[][] {
  const parent = objects.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const byLink = new Map<string, number>();
  objects.forEach((object, i) => {
    for (const link of linksOf(object)) {
      const other = byLink.get(link);
      if (other === undefined) byLink.set(link, i);
      else parent[find(i)] = find(other);
    }
  });
  const groups = new Map<number, KubeObject[]>();
  objects.forEach((object, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(object);
    else groups.set(root, [object]);
  });
  return [...groups.values()];
}

/**
 * The reference's processors the units stand for (httpProxyProcessor is the delegations unit and
 * the HTTPProxy units). A processor not here makes the incremental build run the reference.
 */
export const processorsCovered: ReadonlySet<Processor> = new Set([ingressProcessor, httpProxyProcessor, gatewayProcessor]);

/** The processors of each kind of unit. */
const processorsOf: Record<UnitKind, Processor[]> = {
  ingress: [ingressProcessor],
  httpproxy: [httpProxyTreesProcessor],
  gateway: [gatewayProcessor],
  delegations: [reportDelegationProblems],
};

/**
 * Builds one unit: a group of Ingresses or HTTPProxies (`objects`), the Gateway API or the
 * delegations. Its routes use the clusters of `known` where the name is the same (shareClusters).
 */
export function buildPart(
  input: DagInput,
  unit: { options: DagOptions & { cache: DagCache; known: Map<string, Cluster> }; kind: UnitKind; objects?: KubeObject[]; linksOf?: (object: KubeObject) => string[] },
): Part {
  const { options, kind } = unit;
  const objects = unit.objects ?? [];
  const reads = new Set<string>();
  const secretsRead: KubeObject[] = [];
  const recording: DagInput = {
    ingresses: () => (kind === "ingress" ? objects : []),
    httpProxies: () => (kind === "httpproxy" ? objects : []),
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
    configMap(namespace, name) {
      reads.add(`ConfigMap ${namespace}/${name}`);
      return input.configMap?.(namespace, name);
    },
  };
  if (kind === "gateway" && input.gatewayApi) {
    recording.gatewayApi = () => {
      reads.add(everyGatewayApiObject);
      return input.gatewayApi!();
    };
  }
  const ctx = createBuildContext(recording, options);
  for (const processor of processorsOf[kind]) processor(ctx);
  finishVirtualHosts(ctx);
  shareClusters([...ctx.dag.virtualHosts.values(), ...ctx.dag.secureVirtualHosts.values()], options.known);
  // The listener pass over this part alone: whether a host is served depends on the host only
  // (the fallback chain is the union of the parts'), and it is the last to record a status.
  const listeners = buildListeners(ctx.dag, options.listeners, ctx.status);
  const https = listeners[1];
  const served: ServedHosts = { plain: listeners[0]!.virtualHosts, filterChains: https?.filterChains ?? none, fallback: https?.fallback };
  const { clusters, secrets } = reachable({ listeners: [...listeners, ...ctx.dag.listeners] });
  const statuses: ObjectStatus[] = [];
  const statusKeys: string[] = [];
  for (const [key, status] of ctx.status.entries()) {
    statusKeys.push(key);
    statuses.push(status);
  }
  const links = unit.linksOf ?? ((object: KubeObject) => linksOf(object));
  // Each object has a status under the same key: that string is the one kept.
  const keyStrings = objects.length === 1 ? undefined : new Map(statusKeys.map((key) => [key, key]));
  const keyOf = (object: KubeObject) => {
    const key = objectKey(object);
    return (keyStrings ? keyStrings.get(key) : statusKeys.find((other) => other === key)) ?? key;
  };
  const made = ctx.dag.virtualHosts;
  const plain = fewOf(served.plain);
  const allServed = served.plain.length === made.size && served.plain.every((vhost) => made.get(vhost.name) === vhost);
  const part: Part = {
    kind,
    objectKeys: fewOf(objects.map(keyOf)),
    links: objects.length === 1 ? fewOf(links(objects[0]!)) : fewOf(new Set(objects.flatMap(links))),
    reads: fewOf(reads),
    // Every host made is served (most units): one list for both.
    virtualHosts: allServed ? plain : fewOf(made.values()),
    secureVirtualHosts: fewOf(ctx.dag.secureVirtualHosts.values()),
    plain,
    filterChains: fewOf(served.filterChains),
    fallback: served.fallback,
    clusters: fewOf(clusters.values()),
    secrets: fewOf(secrets.values()),
    statuses: fewOf(statuses),
    statusKeys: fewOf(statusKeys),
    listeners: ctx.dag.listeners.length === 0 ? none : ctx.dag.listeners,
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
