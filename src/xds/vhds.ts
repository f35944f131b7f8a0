// Per-host route delivery over VHDS (Envoy's Virtual Host Discovery Service, delta xDS only). A route
// configuration shared by many hosts (`ingress_http`) is also served as one VirtualHost resource per
// host, named `<route config>/<host>`, to the clients that take it: they are sent the route
// configuration as a shell (no virtual hosts, a `vhds` config source on ADS); Envoy then opens a VHDS
// subscription that names nothing (it matches hosts to its route configurations by the namespace in
// their names, `use_namespace_matching`, and leaves the namespace out of its requests), which is a
// wildcard, and the server pushes every host up front: no request waits for a host to be fetched. A
// changed host then costs that host's bytes, not the whole route configuration's. Every other client
// (state-of-the-world, per-type, delta ADS clients that are not Envoy) keeps the classic route
// configuration. The store derives the VirtualHost resources from the route configurations it
// publishes (virtualHostResources); the server builds the shells (createVhdsViews).
import { encodeVariant, recordRenamedHost } from "./resource-encoding.ts";
import type { CachedResource } from "./cached-resource.ts";
import type { ChangedResources } from "./resource-delta.ts";
import type { NamePool } from "./name-pool.ts";
import { TypeUrls, type NodeInfo } from "./types.ts";

type Json = Record<string, unknown>;

/** The node metadata key that turns VHDS on (true) or off (false) for one client, whatever it is. */
export const VHDS_METADATA_KEY = "isobar.vhds";

/**
 * Whether a route configuration is served per host: a shared one (its name has no `/`, so it is the
 * VHDS namespace of its hosts; the per-SNI `https/<fqdn>` ones hold one host each already) whose
 * virtual host names have no `/` either (Envoy takes the namespace up to the last `/`), with at least
 * one host: Envoy's VHDS subscription of a route configuration is ready only once a host of its
 * namespace arrives, so an empty shell would hold its listener back for initial_fetch_timeout (15 s).
 */
export function servedPerHost(routeConfig: Json): boolean {
  let served = servedByConfig.get(routeConfig);
  if (served === undefined) {
    const name = routeConfig.name;
    served = typeof name === "string" && name !== "" && !name.includes("/") && virtualHostsOf(routeConfig).length > 0 && virtualHostsOf(routeConfig).every(hostNamedForVhds);
    servedByConfig.set(routeConfig, served);
  }
  return served;
}

// Once per route configuration object (translated JSON is never changed once made): a large one has
// 100k hosts to look at. The store's whole-set path (the reference) reads only these.
const servedByConfig = new WeakMap<object, boolean>();

// What the store's delta path found for a route configuration from its previous version and its
// changed hosts (virtualHostChanges), kept apart so that the reference never reads it.
const servedByDelta = new WeakMap<object, boolean>();

/** servedPerHost, taking what the delta path found for this object when it found it (the shell and the delta path ask). */
const servedPerHostKnown = (routeConfig: Json): boolean => servedByDelta.get(routeConfig) ?? servedPerHost(routeConfig);

const hostNamedForVhds = (vhost: Json | undefined): boolean => typeof vhost?.name === "string" && vhost.name !== "" && !vhost.name.includes("/");

/** Whether a route configuration as sent is a VHDS shell (its hosts come over VHDS). */
export const isShell = (routeConfig: object): boolean => "vhds" in routeConfig;

/** Whether VHDS resource `name` is a host of route configuration (namespace) `routeConfig`. */
export const inNamespace = (name: string, routeConfig: string): boolean => parseVirtualHostName(name)?.routeConfig === routeConfig;

/** The VHDS resource name of virtual host `host` of route configuration `routeConfig`. */
export const virtualHostResourceName = (routeConfig: string, host: string): string => `${routeConfig}/${host}`;

/** The route configuration and the host a VHDS resource name stands for; undefined for a name of another form. */
export function parseVirtualHostName(name: string): { routeConfig: string; host: string } | undefined {
  const at = name.lastIndexOf("/");
  if (at <= 0 || at === name.length - 1) return undefined;
  return { routeConfig: name.slice(0, at), host: name.slice(at + 1) };
}

/**
 * The VirtualHost resources of a set's route configurations: one per host of each route configuration
 * served per host, renamed `<route config>/<host>` (Envoy keys VHDS hosts and their removals by it).
 */
export function virtualHostResources(routes: readonly object[]): Json[] {
  const out: Json[] = [];
  for (const route of routes) {
    const config = route as Json;
    if (!servedPerHost(config)) continue;
    for (const vhost of virtualHostsOf(config)) out.push(renamedHost(vhost, config.name as string));
  }
  return out;
}

/**
 * Adds to `out` the VHDS resources that change when route configuration `name` goes from `before` to
 * `after` (either absent): per VHDS name, the new resource or undefined (gone). `hosts`, when given,
 * are the only hosts that differ (resource-delta.ts, the rest of the configuration the same): while
 * the configuration stays served per host, only they are looked at. False when a listed host is not
 * named as listed (the caller then takes the whole set).
 */
export function virtualHostChanges(name: string, change: { before?: Json; after?: Json; hosts?: ChangedResources }, out: Map<string, Json | undefined>): boolean {
  const { before, after, hosts } = change;
  const servedBefore = before !== undefined && servedPerHostKnown(before);
  if (hosts && servedBefore && after) {
    for (const [host, vhost] of hosts) if (vhost && (vhost as Json).name !== host) return false;
    let served = virtualHostsOf(after).length > 0;
    for (const vhost of hosts.values()) if (vhost && !hostNamedForVhds(vhost as Json)) served = false;
    servedByDelta.set(after, served);
    if (served) {
      for (const [host, vhost] of hosts) out.set(virtualHostResourceName(name, host), vhost && renamedHost(vhost as Json, name));
      return true;
    }
  }
  const next = new Map<string, Json>();
  if (after && servedPerHost(after)) for (const vhost of virtualHostsOf(after)) next.set(virtualHostResourceName(name, vhost.name as string), renamedHost(vhost, name));
  if (servedBefore) for (const vhost of virtualHostsOf(before)) {
    const gone = virtualHostResourceName(name, vhost.name as string);
    if (!next.has(gone)) out.set(gone, undefined);
  }
  for (const [host, resource] of next) out.set(host, resource);
  return true;
}

/**
 * A host's VHDS resource, the same object while the translated host is (the build memo hands an
 * unchanged host over as the same object, never changed): the store then keeps its bytes without
 * hashing them again.
 */
const renamed = new WeakMap<object, Json>();

function renamedHost(vhost: Json, routeConfig: string): Json {
  const known = renamed.get(vhost);
  // Its name says which route configuration it was made for (no object around it: 100k hosts).
  if (known && isNameOf(known.name as string, routeConfig, vhost.name as string)) return known;
  const resource = { ...vhost, name: virtualHostResourceName(routeConfig, vhost.name as string) };
  renamed.set(vhost, resource);
  // Its bytes are then the route configuration's encoding of the host under its new name.
  recordRenamedHost(resource, vhost);
  return resource;
}

/** Whether `name` is virtualHostResourceName(routeConfig, host), without making that string. */
const isNameOf = (name: string, routeConfig: string, host: string): boolean =>
  name.length === routeConfig.length + 1 + host.length && name.startsWith(routeConfig) && name.charCodeAt(routeConfig.length) === 47 && name.endsWith(host);

/**
 * Whether a client gets VHDS: only on a delta ADS stream (Envoy accepts a `vhds` config source on ADS
 * only when its ADS is delta), and only Envoy (which subscribes to the shell's hosts) unless the
 * node's metadata says `isobar.vhds: true` (the `agent xds` client subscribes as Envoy does);
 * `isobar.vhds: false` keeps any client on the classic route configuration.
 */
export function takesVhds(node: NodeInfo, stream: { delta: boolean; ads: boolean }): boolean {
  if (!stream.delta || !stream.ads) return false;
  const flag = node.metadata?.[VHDS_METADATA_KEY];
  if (flag === true || flag === "true") return true;
  if (flag === false || flag === "false") return false;
  return node.userAgentName === "envoy";
}

/** The config source of a shell's `vhds`: the client's own delta ADS stream. */
const vhdsConfigSource = { config_source: { ads: {}, resource_api_version: "V3" } };

/** What the server derives for VHDS clients, shared by all its streams (one per server: its caches live here). */
export interface VhdsViews {
  /**
   * A route configuration as VHDS clients are sent it: one served per host becomes its shell, which
   * changes only when the route configuration's own fields do (not when a host does); others as they
   * are. Built once per route configuration version.
   */
  shell(resource: CachedResource): CachedResource;
  /**
   * A VHDS subscription as the planner reads it. Envoy's is a wildcard (it names nothing); a client may
   * also name a route configuration (a namespace: every host in it) or `<route config>/<host>` names:
   * the names covered are every host of each named namespace plus the named hosts that exist. A
   * subscription covering every namespace is the whole type (the planner's shared fast path).
   */
  selection(all: Map<string, CachedResource>, subscription: { wildcard: boolean; names: ReadonlySet<string> }): { wildcard: boolean; names: ReadonlySet<string> };
}

export function createVhdsViews(pool: NamePool): VhdsViews {
  const shells = new WeakMap<CachedResource, CachedResource>();
  // The hosts of each namespace (route configuration) of a VirtualHost map, once per map.
  const namespaces = new WeakMap<Map<string, CachedResource>, Map<string, string[]>>();

  function namespacesOf(all: Map<string, CachedResource>): Map<string, string[]> {
    let index = namespaces.get(all);
    if (!index) {
      index = new Map();
      for (const name of all.keys()) {
        const parsed = parseVirtualHostName(name);
        if (!parsed) continue;
        let hosts = index.get(parsed.routeConfig);
        if (!hosts) index.set(parsed.routeConfig, (hosts = []));
        hosts.push(name);
      }
      namespaces.set(all, index);
    }
    return index;
  }

  return {
    shell(resource) {
      let shell = shells.get(resource);
      if (!shell) {
        const json = resource.json as Json;
        if (!servedPerHostKnown(json)) shell = resource;
        else {
          const { virtual_hosts: _hosts, ...rest } = json;
          shell = encodeVariant(TypeUrls.route, { ...rest, vhds: vhdsConfigSource });
        }
        shells.set(resource, shell);
      }
      return shell;
    },
    selection(all, subscription) {
      if (subscription.wildcard) return subscription;
      const index = namespacesOf(all);
      let coversAll = true;
      for (const namespace of index.keys()) {
        if (!subscription.names.has(namespace)) {
          coversAll = false;
          break;
        }
      }
      if (coversAll) return { wildcard: true, names: subscription.names };
      const names: string[] = [];
      for (const name of subscription.names) {
        const hosts = index.get(name);
        if (hosts) names.push(...hosts);
        else if (all.has(name)) names.push(name);
      }
      return { wildcard: false, names: pool.intern(names) };
    },
  };
}

function virtualHostsOf(routeConfig: Json): Json[] {
  const hosts = routeConfig.virtual_hosts;
  return Array.isArray(hosts) ? (hosts as Json[]) : [];
}
