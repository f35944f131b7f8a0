// What is reachable from the DAG's listeners, and the objects behind each part: the one walker of
// the DAG (as Contour's internal/dag/accessors.go). Prune, the translator, resource ownership, SDS
// scoping and `validate --routes` all ask here, so "is this served?" has one answer, and a new
// thing that points at a cluster or a secret is added here once.
import type { ObjectRef } from "./status.ts";
import type { Cluster, Dag, Listener, ListenerProtocol, Secret, VirtualHost } from "./types.ts";

/** A route configuration that a listener fetches over RDS. */
export interface RouteConfigNode {
  name: string;
  listener: Listener;
  /** The listener's protocol: "http" for `ingress_http`, "https" for a TLS host's or the fallback's. */
  protocol: ListenerProtocol;
  /** What fetches it: the listener's one chain, one TLS host's SNI chain, or the fallback chain. */
  fetchedBy: "listener" | "sni" | "fallback";
  /** Its virtual hosts, sorted by name. */
  virtualHosts: VirtualHost[];
}

/** How a served secret reaches Envoy: fetched over SDS by name, or written into the listener (a CRL). */
export type SecretDelivery = "sds" | "inline";

/** Callbacks of walkServed; each part comes with the objects that made it. */
export interface ServedVisitor {
  virtualHost?(config: RouteConfigNode, vhost: VirtualHost): void;
  /**
   * A listener's filter chain and the virtual hosts it serves; `chain` is undefined for the single
   * chain of a plaintext or TCP listener; `sources`: the objects behind a TCP listener's proxy.
   */
  filterChain?(listener: Listener, chain: string | undefined, virtualHosts: readonly VirtualHost[], sources?: readonly ObjectRef[]): void;
  cluster?(cluster: Cluster, sources: readonly ObjectRef[]): void;
  secret?(secret: Secret, sources: readonly ObjectRef[], delivery: SecretDelivery): void;
}

/** The route configurations of the listeners, in listener order: the plaintext one, each TLS host's, the fallback's. */
export function routeConfigs(dag: Pick<Dag, "listeners">): RouteConfigNode[] {
  const configs: RouteConfigNode[] = [];
  for (const listener of dag.listeners) {
    const { protocol } = listener;
    if (listener.routeConfigName) configs.push({ name: listener.routeConfigName, listener, protocol, fetchedBy: "listener", virtualHosts: listener.virtualHosts });
    for (const chain of listener.filterChains) {
      if (chain.routeConfigName) configs.push({ name: chain.routeConfigName, listener, protocol, fetchedBy: "sni", virtualHosts: [chain.virtualHost] });
    }
    if (listener.fallback) configs.push({ name: listener.fallback.routeConfigName, listener, protocol, fetchedBy: "fallback", virtualHosts: listener.fallback.virtualHosts });
  }
  return configs;
}

/** Visits everything the listeners serve: route configs, virtual hosts, filter chains, clusters, secrets. */
export function walkServed(dag: Pick<Dag, "listeners">, visitor: ServedVisitor): void {
  const secret = (s: Secret | undefined, sources: readonly ObjectRef[], delivery: SecretDelivery = "sds") => {
    if (s) visitor.secret?.(s, sources, delivery);
  };
  const cluster = (c: Cluster, sources: readonly ObjectRef[]) => {
    visitor.cluster?.(c, sources);
    secret(c.validation?.caSecret, sources);
    secret(c.clientCertificate, sources);
  };
  for (const config of routeConfigs(dag)) {
    for (const vhost of config.virtualHosts) {
      visitor.virtualHost?.(config, vhost);
      for (const route of vhost.routes) {
        const sources = [route.source];
        for (const weighted of route.clusters) cluster(weighted.cluster, sources);
        for (const mirror of route.mirrors) cluster(mirror.cluster, sources);
      }
    }
  }
  for (const listener of dag.listeners) {
    if (listener.protocol === "http") visitor.filterChain?.(listener, undefined, listener.virtualHosts);
    const tcp = listener.tcpProxy;
    if (tcp) {
      visitor.filterChain?.(listener, undefined, [], tcp.sources);
      for (const weighted of tcp.clusters) cluster(weighted.cluster, tcp.sources);
    }
    for (const chain of listener.filterChains) {
      const vhost = chain.virtualHost;
      visitor.filterChain?.(listener, chain.name, [vhost]);
      for (const weighted of vhost.tcpProxy?.clusters ?? []) cluster(weighted.cluster, vhost.sources);
      secret(vhost.secret, vhost.sources);
      if (chain.clientValidationSecret) secret(chain.clientValidationSecret, vhost.sources);
      else secret(vhost.downstreamValidation?.crlSecret, vhost.sources, "inline");
    }
    const fallback = listener.fallback;
    if (fallback) {
      visitor.filterChain?.(listener, fallback.name, fallback.virtualHosts);
      secret(fallback.secret, fallback.virtualHosts.flatMap((vhost) => vhost.sources));
    }
  }
}

/** The clusters the listeners reach, and the secrets Envoy fetches over SDS for them, each by name. */
export function reachable(dag: Pick<Dag, "listeners">): { clusters: Map<string, Cluster>; secrets: Map<string, Secret> } {
  const clusters = new Map<string, Cluster>();
  const secrets = new Map<string, Secret>();
  walkServed(dag, {
    cluster: (c) => clusters.set(c.name, c),
    secret: (s, _sources, delivery) => {
      if (delivery === "sds") secrets.set(s.name, s);
    },
  });
  return { clusters, secrets };
}
