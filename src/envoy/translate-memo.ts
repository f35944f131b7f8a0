// Translation remembered per DAG node from one build to the next, held by whoever runs the builds
// (the pipeline), so a rebuild translates only the nodes that changed. DAG nodes are never changed
// once a build has made them, and a node that an incremental build keeps is the same object, with
// the same translation (a node whose cluster or secret changed is a new node): a virtual host,
// cluster, secret or listener met again as the same object, under the same options, gives back the
// JSON it gave before, the same object, which validation and encoding then also find by identity.
// A route configuration whose virtual hosts are all the ones it had is the same JSON as well.
// The memo's translators give exactly what the plain ones give (translate.ts).
import { findSorted, putSorted } from "../base/sorted.ts";
import { sameItems } from "../base/values.ts";
import type { RouteConfigNode } from "../dag/accessors.ts";
import type { DagChange } from "../dag/incremental.ts";
import { FALLBACK_ROUTE_CONFIG, HTTP_ROUTE_CONFIG, HTTPS_LISTENER, secureRouteConfigName, STATS_LISTENER } from "../dag/names.ts";
import type { Cluster, Listener, SecureFilterChain, Secret, VirtualHost } from "../dag/types.ts";
import { cluster, type ClusterDefaults } from "./cluster.ts";
import { filterNeeds } from "./http-filters.ts";
import type { JsonObject } from "./common.ts";
import { listener, secureFilterChain, type FilterChainMemo, type ListenerSettings } from "./listener.ts";
import { routeConfigurationOf, virtualHost } from "./route.ts";
import { secret } from "./secret.ts";
import { resolvedTranslateOptions, translate, translationSettings, type NodeTranslators, type TranslateOptions, type Translation } from "./translate.ts";
import type { Dag } from "../dag/types.ts";

/** One route configuration's last translation and the DAG virtual hosts it was made of. */
interface RouteConfigEntry {
  protocol: RouteConfigNode["protocol"];
  fetchedBy: RouteConfigNode["fetchedBy"];
  virtualHosts: readonly VirtualHost[];
  json: JsonObject;
}

interface Remembered {
  /** The resolved options the entries were made under. */
  options: Required<TranslateOptions>;
  virtualHosts: { plain: WeakMap<VirtualHost, JsonObject>; secure: WeakMap<VirtualHost, JsonObject> };
  clusters: WeakMap<Cluster, JsonObject>;
  secrets: WeakMap<Secret, JsonObject>;
  listeners: WeakMap<Listener, JsonObject>;
  /** A TLS listener's filter chains, by DAG chain, with the listener name they were made under. */
  filterChains: WeakMap<SecureFilterChain, { statPrefix: string; json: JsonObject }>;
  /** By name, from the last build only. */
  routeConfigs: Map<string, RouteConfigEntry>;
  /** The last build's DAG and translation, which patch() starts from. */
  last?: { dag: Dag; translation: Translation };
  /** How many of the plaintext listener's virtual hosts need each HTTP filter (filterNeeds), for the listener it was counted for. */
  httpNeeds?: { listener: Listener; counts: Map<string, number> };
}

/** What patch() changed, by name per kind (a resource new, another object, or gone), and per virtual host of `ingress_http`. */
export interface TranslationChange {
  listeners: Set<string>;
  routes: Set<string>;
  clusters: Set<string>;
  secrets: Set<string>;
  /** The virtual hosts (by name) of `ingress_http` that are new, other objects or gone, when it changed only in those. */
  httpVirtualHosts?: Set<string>;
  /** The TLS listener, when it changed only in some filter chains: its last JSON and its new chains. */
  tlsChains?: { previous: JsonObject; entries: JsonObject[] };
}

export interface TranslationMemo {
  /** translate(dag, options), reusing what the previous builds translated from the same nodes. */
  translate(dag: Dag, options?: TranslateOptions): Translation;
  /** How many nodes the last translate() translated anew, per kind (what a change cost). */
  readonly translated: Readonly<Record<"virtualHosts" | "clusters" | "secrets" | "listeners" | "routeConfigs", number>>;
  /**
   * The translation of `dag`, made from the last one by translating only what `change` names (and
   * the few listeners): what translate() would give, or undefined when the last translation was not
   * of `change.previous` under the same options.
   */
  patch(dag: Dag, change: DagChange, options?: TranslateOptions): { translation: Translation; changed: TranslationChange } | undefined;
}

const nameOf = (resource: JsonObject) => resource.name as string;

export function createTranslationMemo(): TranslationMemo {
  let remembered: Remembered | undefined;
  const counts = { virtualHosts: 0, clusters: 0, secrets: 0, listeners: 0, routeConfigs: 0 };

  const fresh = (options: Required<TranslateOptions>): Remembered => ({
    options,
    virtualHosts: { plain: new WeakMap(), secure: new WeakMap() },
    clusters: new WeakMap(),
    secrets: new WeakMap(),
    listeners: new WeakMap(),
    filterChains: new WeakMap(),
    routeConfigs: new Map(),
  });

  function once<K extends object>(map: WeakMap<K, JsonObject>, node: K, kind: keyof typeof counts, make: () => JsonObject): JsonObject {
    let json = map.get(node);
    if (!json) {
      json = make();
      map.set(node, json);
      counts[kind]++;
    }
    return json;
  }

  function translatorsOf(memo: Remembered, routeConfigs: Map<string, RouteConfigEntry>) {
    const hostOf = (vhost: VirtualHost, hostOptions: { secure: boolean }) =>
      once(hostOptions.secure ? memo.virtualHosts.secure : memo.virtualHosts.plain, vhost, "virtualHosts", () => virtualHost(vhost, hostOptions));
    const chainOf = chainMemo(memo);
    const translators: NodeTranslators = {
      listener: (node: Listener, settings: ListenerSettings) => once(memo.listeners, node, "listeners", () => listener(node, settings, chainOf)),
      routeConfiguration(config) {
        const before = memo.routeConfigs.get(config.name);
        let entry = before;
        if (!entry || entry.protocol !== config.protocol || entry.fetchedBy !== config.fetchedBy || !sameItems(entry.virtualHosts, config.virtualHosts)) {
          entry = { protocol: config.protocol, fetchedBy: config.fetchedBy, virtualHosts: config.virtualHosts, json: routeConfigurationOf(config, hostOf) };
          counts.routeConfigs++;
        }
        routeConfigs.set(config.name, entry);
        return entry.json;
      },
      cluster: (node: Cluster, defaults: ClusterDefaults) => once(memo.clusters, node, "clusters", () => cluster(node, defaults)),
      secret: (node: Secret) => once(memo.secrets, node, "secrets", () => secret(node)),
    };
    return { translators, hostOf };
  }

  const resetCounts = () => {
    for (const kind of Object.keys(counts) as Array<keyof typeof counts>) counts[kind] = 0;
  };

  return {
    translate(dag, options = {}) {
      const resolved = resolvedTranslateOptions(options);
      if (!remembered || !sameOptions(remembered.options, resolved)) remembered = fresh(resolved);
      const memo = remembered;
      resetCounts();
      const routeConfigs = new Map<string, RouteConfigEntry>();
      const translation = translate(dag, options, translatorsOf(memo, routeConfigs).translators);
      memo.routeConfigs = routeConfigs;
      memo.last = { dag, translation };
      return translation;
    },
    patch(dag, change, options = {}) {
      const memo = remembered;
      if (!memo?.last || memo.last.dag !== change.previous || !sameOptions(memo.options, resolvedTranslateOptions(options))) return undefined;
      resetCounts();
      const previous = memo.last.translation;
      // The route configurations patched in place keep their entries; the others stay as they were.
      const { translators, hostOf } = translatorsOf(memo, memo.routeConfigs);
      const { settings, defaults } = translationSettings(options);
      const changed: TranslationChange = { listeners: new Set(), routes: new Set(), clusters: new Set(), secrets: new Set() };
      const patched = <T extends Cluster | Secret>(list: JsonObject[], names: Set<string>, nodes: ReadonlyMap<string, T>, make: (node: T) => JsonObject, into: Set<string>) => {
        if (names.size === 0) return list;
        const out = list.slice();
        for (const name of names) {
          const node = nodes.get(name);
          const json = node && make(node);
          if (findSorted(out, name, nameOf) === json) continue;
          putSorted(out, name, json, nameOf);
          into.add(name);
        }
        return into.size > 0 ? out : list;
      };
      const clusters = patched(previous.clusters, change.clusters, dag.clusters, (node) => translators.cluster(node, defaults), changed.clusters);
      const secrets = patched(previous.secrets, change.secrets, dag.secrets, (node) => translators.secret(node), changed.secrets);
      keepPlaintextListener(memo, dag, change);
      const tlsChains = keepTlsListener(memo, dag, change, settings);
      // The listeners are few, and new nodes on every build: translated again (their chains are remembered); the stats listener is kept.
      const listeners = [...dag.listeners.map((node) => translators.listener(node, settings)), findSorted(previous.listeners, STATS_LISTENER, nameOf)!].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
      for (const json of listeners) if (findSorted(previous.listeners, nameOf(json), nameOf) !== json) changed.listeners.add(nameOf(json));
      for (const json of previous.listeners) if (!findSorted(listeners, nameOf(json), nameOf)) changed.listeners.add(nameOf(json));
      const routes = previous.routes.slice();
      const putRoute = (name: string, json: JsonObject | undefined) => {
        if (findSorted(routes, name, nameOf) === json) return;
        putSorted(routes, name, json, nameOf);
        if (!json) memo.routeConfigs.delete(name);
        changed.routes.add(name);
      };
      const [http] = dag.listeners;
      if (change.virtualHosts.size > 0 && http?.routeConfigName === HTTP_ROUTE_CONFIG) {
        const before = findSorted(routes, HTTP_ROUTE_CONFIG, nameOf)!;
        const hosts = (before.virtual_hosts as JsonObject[]).slice();
        const changedHosts = new Set<string>();
        for (const name of change.virtualHosts) {
          const vhost = dag.virtualHosts.get(name);
          const json = vhost && hostOf(vhost, { secure: false });
          if (findSorted(hosts, name, nameOf) === json) continue;
          putSorted(hosts, name, json, nameOf);
          changedHosts.add(name);
        }
        if (changedHosts.size > 0) {
          const json = { ...before, virtual_hosts: hosts };
          memo.routeConfigs.set(HTTP_ROUTE_CONFIG, { protocol: http.protocol, fetchedBy: "listener", virtualHosts: http.virtualHosts, json });
          putRoute(HTTP_ROUTE_CONFIG, json);
          changed.httpVirtualHosts = changedHosts;
        }
      }
      const secure = dag.listeners.find((listener) => listener.name === HTTPS_LISTENER && listener.protocol === "https");
      for (const name of change.secureVirtualHosts) {
        const chain = secure && findSorted(secure.filterChains, name, (c) => c.virtualHost.name);
        const config = chain?.routeConfigName;
        putRoute(secureRouteConfigName(name), config ? translators.routeConfiguration({ name: config, listener: secure!, protocol: "https", fetchedBy: "sni", virtualHosts: [chain.virtualHost] }) : undefined);
      }
      if (change.fallback) {
        const fallback = secure?.fallback;
        putRoute(FALLBACK_ROUTE_CONFIG, fallback ? translators.routeConfiguration({ name: fallback.routeConfigName, listener: secure!, protocol: "https", fetchedBy: "fallback", virtualHosts: fallback.virtualHosts }) : undefined);
      }
      if (tlsChains && changed.listeners.has(HTTPS_LISTENER)) changed.tlsChains = tlsChains;
      const translation: Translation = { listeners, routes: changed.routes.size > 0 ? routes : previous.routes, clusters, secrets };
      memo.last = { dag, translation };
      return { translation, changed };
    },
    translated: counts,
  };
}

/**
 * The plaintext listener's JSON depends on its place and names and on which HTTP filters its virtual
 * hosts need (filterNeeds), not on the hosts themselves: when those are as in the last build, the new
 * listener node is given the last one's JSON, and the needs are counted from the changed hosts only.
 */
function keepPlaintextListener(memo: Remembered, dag: Dag, change: DagChange): void {
  const [before] = change.previous.listeners;
  const [after] = dag.listeners;
  const json = before && memo.listeners.get(before);
  if (!before || !after || !json || before.protocol !== "http" || after.protocol !== "http") return;
  if (before.name !== after.name || before.address !== after.address || before.port !== after.port || before.routeConfigName !== after.routeConfigName) return;
  if (memo.httpNeeds?.listener !== before) memo.httpNeeds = { listener: before, counts: needCounts(before.virtualHosts) };
  const counts = memo.httpNeeds.counts;
  const needed = [...counts].filter(([, count]) => count > 0).map(([key]) => key).sort().join();
  for (const name of change.virtualHosts) {
    for (const [vhost, delta] of [[change.previous.virtualHosts.get(name), -1], [dag.virtualHosts.get(name), 1]] as const) {
      if (!vhost) continue;
      for (const [key, need] of Object.entries(filterNeeds([vhost]))) if (need) counts.set(key, (counts.get(key) ?? 0) + delta);
    }
  }
  memo.httpNeeds = { listener: after, counts };
  if ([...counts].filter(([, count]) => count > 0).map(([key]) => key).sort().join() === needed) memo.listeners.set(after, json);
}

/** A listener made anew (any of its hosts changed) keeps the JSON of its unchanged chains. */
function chainMemo(memo: Remembered): FilterChainMemo {
  return (chain, statPrefix, make) => {
    const known = memo.filterChains.get(chain);
    if (known && known.statPrefix === statPrefix) return known.json;
    const json = make();
    memo.filterChains.set(chain, { statPrefix, json });
    return json;
  };
}

/**
 * The TLS listener's JSON depends on its place and its filter chains (one per served TLS host, sorted,
 * then the fallback chain): when only some TLS hosts changed, the new listener node is given the last
 * JSON with those chains replaced, added or taken out; when none did, the last JSON itself. Returns the
 * chains it made, for validation to judge only those; undefined when it left the listener to translate.
 */
function keepTlsListener(memo: Remembered, dag: Dag, change: DagChange, settings: ListenerSettings): { previous: JsonObject; entries: JsonObject[] } | undefined {
  if (change.fallback) return undefined;
  const before = change.previous.listeners.find((listener) => listener.name === HTTPS_LISTENER);
  const after = dag.listeners.find((listener) => listener.name === HTTPS_LISTENER);
  const json = before && memo.listeners.get(before);
  if (!before || !after || !json || before.protocol !== after.protocol || before.address !== after.address || before.port !== after.port) return undefined;
  if (Boolean(before.fallback) !== Boolean(after.fallback)) return undefined;
  if (change.secureVirtualHosts.size === 0) {
    if (before.filterChains.length !== after.filterChains.length) return undefined;
    memo.listeners.set(after, json);
    return { previous: json, entries: [] };
  }
  const all = json.filter_chains as JsonObject[];
  const chains = before.fallback ? all.slice(0, -1) : all.slice();
  const chainOf = chainMemo(memo);
  const entries: JsonObject[] = [];
  const byHost = (chain: SecureFilterChain) => chain.virtualHost.name;
  for (const host of change.secureVirtualHosts) {
    const chain = findSorted(after.filterChains, host, byHost);
    const name = (chain ?? findSorted(before.filterChains, host, byHost))?.name;
    if (name === undefined) continue;
    const made = chain && chainOf(chain, after.name, () => secureFilterChain(chain, after.name, settings));
    if (made) entries.push(made);
    putSorted(chains, name, made, nameOf);
  }
  if (chains.length !== after.filterChains.length) return undefined;
  if (before.fallback) chains.push(all[all.length - 1]!);
  const patched = { ...json, filter_chains: chains };
  memo.listeners.set(after, patched);
  return { previous: json, entries };
}

function needCounts(virtualHosts: Iterable<VirtualHost>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const vhost of virtualHosts) for (const [key, need] of Object.entries(filterNeeds([vhost]))) if (need) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** Options that translate alike: every field the same value (objects the same object). */
function sameOptions(a: Required<TranslateOptions>, b: Required<TranslateOptions>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof TranslateOptions>;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
