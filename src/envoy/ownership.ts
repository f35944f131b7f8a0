// Ownership as data: which source objects made each Envoy resource, each virtual host of a route
// configuration and each filter chain of a listener, read off the DAG by its one walker
// (dag/accessors.ts) beside the translation. A resource the validator rejects, or one an Envoy
// NACKs, is blamed by looking it up here, never by reading names back out of error paths.
import { walkServed } from "../dag/accessors.ts";
import { findSorted } from "../base/sorted.ts";
import { refKey, type ObjectRef } from "../dag/status.ts";
import type { Dag, Listener, VirtualHost } from "../dag/types.ts";
import { TypeUrls } from "../xds/types.ts";
import { parseVirtualHostName } from "../xds/vhds.ts";

/** The objects behind what a translation serves. Every answer is a fresh array, empty when nothing is known. */
export interface ResourceOwners {
  /**
   * Owners of a whole resource, by type URL and name (a load assignment by its cluster_name; a VHDS
   * virtual host `<route config>/<host>` by its virtual host's).
   */
  of(typeUrl: string, name: string): ObjectRef[];
  /** Owners of one virtual host of a route configuration. */
  ofVirtualHost(routeConfig: string, vhost: string): ObjectRef[];
  /** Owners of one filter chain of a listener, by the chain's name. */
  ofFilterChain(listener: string, chain: string): ObjectRef[];
}

type Index = Map<string, Map<string, ObjectRef>>;

const resourceKey = (typeUrl: string, name: string) => `${typeUrl}\u0000${name}`;
const partKey = (typeUrl: string, name: string, part: string) => `${typeUrl}\u0000${name}\u0000${part}`;

/**
 * The owners side table of a built DAG. It is indexed on the first question (a rejection or a NACK),
 * not with every build: most builds never ask, and at 10k virtual hosts the index costs 100+ ms.
 * The DAG is not changed after the build, so the answer is the same either way.
 */
export function resourceOwners(dag: Pick<Dag, "listeners">): ResourceOwners {
  const indexed = indexedOwners(dag);
  // A virtual host's or a filter chain's owners are its own: found on its node, without the index
  // (a build whose rejected parts are a few hosts then never walks the DAG to blame them).
  const ofVirtualHost = (routeConfig: string, name: string) => {
    const vhost = servedHost(dag.listeners, routeConfig, name);
    return vhost ? ownersOfHosts([vhost]) : indexed.ofVirtualHost(routeConfig, name);
  };
  return {
    of(typeUrl, name) {
      const vhds = typeUrl === TypeUrls.virtualHost ? parseVirtualHostName(name) : undefined;
      return vhds ? ofVirtualHost(vhds.routeConfig, vhds.host) : indexed.of(typeUrl, name);
    },
    ofVirtualHost,
    ofFilterChain(listenerName, name) {
      const listener = dag.listeners.find((candidate) => candidate.name === listenerName);
      const chain = listener && findSorted(listener.filterChains, name, (c) => c.name);
      if (chain) return ownersOfHosts([chain.virtualHost]);
      if (listener?.fallback?.name === name) return ownersOfHosts(listener.fallback.virtualHosts);
      return indexed.ofFilterChain(listenerName, name);
    },
  };
}

/** The virtual host `name` of the route configuration `routeConfig` as the listeners serve it, when it is found by name (it is unique there). */
function servedHost(listeners: readonly Listener[], routeConfig: string, name: string): VirtualHost | undefined {
  const matches: VirtualHost[] = [];
  for (const listener of listeners) {
    if (listener.routeConfigName === routeConfig) matches.push(...[findSorted(listener.virtualHosts, name, (v) => v.name)].filter((v) => v !== undefined));
    const chain = findSorted(listener.filterChains, routeConfig, (c) => c.name);
    if (chain?.routeConfigName === routeConfig && chain.virtualHost.name === name) matches.push(chain.virtualHost);
    if (listener.fallback?.routeConfigName === routeConfig) matches.push(...[findSorted(listener.fallback.virtualHosts, name, (v) => v.name)].filter((v) => v !== undefined));
  }
  return matches.length === 1 ? matches[0] : undefined;
}

/** The owners of these hosts, each once, in the order the index gives them. */
function ownersOfHosts(virtualHosts: readonly VirtualHost[]): ObjectRef[] {
  const refs = new Map<string, ObjectRef>();
  for (const ref of virtualHosts.flatMap(vhostOwners)) if (!refs.has(refKey(ref))) refs.set(refKey(ref), ref);
  return [...refs.values()];
}

/** resourceOwners answered from one index of the whole DAG, made at the first question: the reference. */
export function indexedOwners(dag: Pick<Dag, "listeners">): ResourceOwners {
  let index: Index | undefined;
  const lookup = (key: string) => [...((index ??= indexOwners(dag)).get(key)?.values() ?? [])];
  return {
    of(typeUrl, name) {
      const vhds = typeUrl === TypeUrls.virtualHost ? parseVirtualHostName(name) : undefined;
      return vhds ? lookup(partKey(TypeUrls.route, vhds.routeConfig, vhds.host)) : lookup(resourceKey(typeUrl, name));
    },
    ofVirtualHost: (routeConfig, vhost) => lookup(partKey(TypeUrls.route, routeConfig, vhost)),
    ofFilterChain: (listener, chain) => lookup(partKey(TypeUrls.listener, listener, chain)),
  };
}

/** A virtual host (and the filter chain serving it) is owned by its own objects and by those whose routes it holds (included HTTPProxies). */
const vhostOwners = (vhost: VirtualHost): ObjectRef[] => [...vhost.sources, ...vhost.routes.map((route) => route.source)];

function indexOwners(dag: Pick<Dag, "listeners">): Index {
  const index: Index = new Map();
  const add = (key: string, refs: Iterable<ObjectRef>) => {
    let set = index.get(key);
    if (!set) index.set(key, (set = new Map()));
    for (const ref of refs) set.set(`${ref.kind} ${ref.namespace}/${ref.name}`, ref);
  };
  walkServed(dag, {
    virtualHost(config, vhost) {
      add(resourceKey(TypeUrls.route, config.name), vhost.sources);
      add(partKey(TypeUrls.route, config.name, vhost.name), vhostOwners(vhost));
    },
    filterChain(listener, chain, virtualHosts, sources = []) {
      const refs = [...virtualHosts.flatMap(vhostOwners), ...sources];
      add(resourceKey(TypeUrls.listener, listener.name), refs);
      if (chain !== undefined) add(partKey(TypeUrls.listener, listener.name, chain), refs);
    },
    cluster(cluster, sources) {
      add(resourceKey(TypeUrls.cluster, cluster.name), sources);
      add(resourceKey(TypeUrls.endpoint, cluster.edsServiceName), sources);
    },
    secret(secret, sources) {
      add(resourceKey(TypeUrls.secret, secret.name), sources);
    },
  });
  return index;
}
