// Translation remembered per DAG node from one build to the next, held by whoever runs the builds
// (the pipeline), so a rebuild translates only the nodes that changed. DAG nodes are never changed
// once a build has made them, and a node that an incremental build keeps is the same object, with
// the same translation (a node whose cluster or secret changed is a new node): a virtual host,
// cluster, secret or listener met again as the same object, under the same options, gives back the
// JSON it gave before, the same object, which validation and encoding then also find by identity.
// A route configuration whose virtual hosts are all the ones it had is the same JSON as well.
// The memo's translators give exactly what the plain ones give (translate.ts).
import { sameItems } from "../base/values.ts";
import type { RouteConfigNode } from "../dag/accessors.ts";
import type { Cluster, Listener, SecureFilterChain, Secret, VirtualHost } from "../dag/types.ts";
import { cluster, type ClusterDefaults } from "./cluster.ts";
import type { JsonObject } from "./common.ts";
import { listener, type FilterChainMemo, type ListenerSettings } from "./listener.ts";
import { routeConfigurationOf, virtualHost } from "./route.ts";
import { secret } from "./secret.ts";
import { resolvedTranslateOptions, translate, type NodeTranslators, type TranslateOptions, type Translation } from "./translate.ts";
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
}

export interface TranslationMemo {
  /** translate(dag, options), reusing what the previous builds translated from the same nodes. */
  translate(dag: Dag, options?: TranslateOptions): Translation;
  /** How many nodes the last translate() translated anew, per kind (what a change cost). */
  readonly translated: Readonly<Record<"virtualHosts" | "clusters" | "secrets" | "listeners" | "routeConfigs", number>>;
}

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

  return {
    translate(dag, options = {}) {
      const resolved = resolvedTranslateOptions(options);
      if (!remembered || !sameOptions(remembered.options, resolved)) remembered = fresh(resolved);
      const memo = remembered;
      for (const kind of Object.keys(counts) as Array<keyof typeof counts>) counts[kind] = 0;
      const hostOf = (vhost: VirtualHost, hostOptions: { secure: boolean }) =>
        once(hostOptions.secure ? memo.virtualHosts.secure : memo.virtualHosts.plain, vhost, "virtualHosts", () => virtualHost(vhost, hostOptions));
      const routeConfigs = new Map<string, RouteConfigEntry>();
      // A listener made anew (any of its hosts changed) keeps the JSON of its unchanged chains.
      const chainOf: FilterChainMemo = (chain, statPrefix, make) => {
        const known = memo.filterChains.get(chain);
        if (known && known.statPrefix === statPrefix) return known.json;
        const json = make();
        memo.filterChains.set(chain, { statPrefix, json });
        return json;
      };
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
      const translation = translate(dag, options, translators);
      memo.routeConfigs = routeConfigs;
      return translation;
    },
    translated: counts,
  };
}

/** Options that translate alike: every field the same value (objects the same object). */
function sameOptions(a: Required<TranslateOptions>, b: Required<TranslateOptions>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof TranslateOptions>;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
