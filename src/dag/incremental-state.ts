// What the incremental build (incremental.ts) keeps between builds: the parts, the indexes that find
// the parts a change concerns, and the union of what the parts serve, kept sorted and counted as
// parts come and go, so a DAG is assembled without walking the unchanged parts again. The maps a
// DAG is given are views of the previous DAG's plus the changes (cow-map.ts): never copied whole,
// never changed once given.
import { compareStrings } from "../base/values.ts";
import type { DagCache } from "./cache.ts";
import { CopyOnWriteMap } from "./cow-map.ts";
import { eachOf, type Few, type Part } from "./incremental-parts.ts";
import { fallbackChainOf, listenersOf } from "./listeners.ts";
import type { DagOptions } from "./processor.ts";
import { StatusRecorder, type ObjectStatus } from "./status.ts";
import type { Cluster, Dag, SecureFilterChain, Secret, SecureVirtualHost, VirtualHost } from "./types.ts";

export interface State {
  options: DagOptions;
  effective: DagOptions & { cache: DagCache; known: Map<string, Cluster> };
  bundleVersion: string | undefined;
  /** The single units. */
  gateway: Part;
  delegations: Part;
  /** The unit of each Ingress and HTTPProxy, by `Kind namespace/name`. */
  partOf: Map<string, Part>;
  /** The unit holding each link (linksOf). */
  partByLink: Map<string, Part>;
  /** The parts that read each key: one part alone (most keys), or several. */
  readers: Map<string, Readers>;
  /** The part that made each virtual host, served or not. */
  plainMaker: Map<string, Part>;
  secureMaker: Map<string, Part>;
  /** Served, sorted by host name. */
  plain: VirtualHost[];
  filterChains: SecureFilterChain[];
  /** The hosts of the parts' fallback chains (sorted), and the parts that have one. */
  fallbackHosts: SecureVirtualHost[];
  fallbackParts: Set<Part>;
  /** Served, by host name: the DAG's maps. */
  servedPlain: Map<string, VirtualHost>;
  servedSecure: Map<string, SecureVirtualHost>;
  statuses: Map<string, ObjectStatus>;
  clusters: Counted<Cluster>;
  secrets: Counted<Secret>;
  validFrom: number;
  validUntil: number;
  /** While true (a full build adding its parts), the sorted lists are sorted once at the end. */
  bulk: boolean;
}

/** A key's readers: most keys (a Service, a TLS Secret) have one, kept without a collection around it. */
export type Readers = Part | Set<Part>;

/** The parts of `readers` (none when undefined). */
export function readersOf(readers: Readers | undefined): Iterable<Part> {
  return readers === undefined ? [] : readers instanceof Set ? readers : [readers];
}

function addReader(map: Map<string, Readers>, key: string, part: Part): void {
  const readers = map.get(key);
  if (readers === undefined) map.set(key, part);
  else if (readers instanceof Set) readers.add(part);
  else if (readers !== part) map.set(key, new Set([readers, part]));
}

function removeReader(map: Map<string, Readers>, key: string, part: Part): void {
  const readers = map.get(key);
  if (readers === part) map.delete(key);
  else if (readers instanceof Set) {
    readers.delete(part);
    if (readers.size === 1) map.set(key, readers.values().next().value!);
  }
}

/** Values by name, with how many parts reach each: only counts over one are kept (most values have one part). */
export interface Counted<T> {
  values: Map<string, T>;
  uses: Map<string, number>;
}

export function emptyState(built: Pick<State, "options" | "effective" | "gateway" | "delegations">): State {
  const { options, effective, gateway, delegations } = built;
  return {
    options,
    effective,
    bundleVersion: options.gateway?.bundleVersion?.(),
    gateway,
    delegations,
    partOf: new Map(),
    partByLink: new Map(),
    readers: new Map(),
    plainMaker: new Map(),
    secureMaker: new Map(),
    plain: [],
    filterChains: [],
    fallbackHosts: [],
    fallbackParts: new Set(),
    servedPlain: new Map(),
    servedSecure: new Map(),
    statuses: new Map(),
    clusters: { values: new Map(), uses: new Map() },
    secrets: { values: new Map(), uses: new Map() },
    validFrom: -Infinity,
    validUntil: Infinity,
    bulk: true,
  };
}

type Sorted = VirtualHost | SecureFilterChain;

const hostOf = (item: Sorted): string => ("virtualHost" in item ? item.virtualHost.name : item.name);

/** Where `name` is or would go in `sorted` (by host name). */
function position(sorted: Sorted[], name: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (hostOf(sorted[mid]!) < name) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A few items are spliced in place; many (a large part) are merged in one pass, not one splice each. */
const fewItems = 16;

/** `sorted` with `items` (sorted too) added; in bulk, left unsorted until endBulk. */
function withAdded<T extends Sorted>(sorted: T[], items: readonly T[], bulk: boolean): T[] {
  if (bulk) {
    for (const item of items) sorted.push(item);
    return sorted;
  }
  if (items.length <= fewItems) {
    for (const item of items) sorted.splice(position(sorted, hostOf(item)), 0, item);
    return sorted;
  }
  const merged: T[] = [];
  let i = 0;
  let j = 0;
  while (i < sorted.length || j < items.length) {
    if (j >= items.length || (i < sorted.length && hostOf(sorted[i]!) < hostOf(items[j]!))) merged.push(sorted[i++]!);
    else merged.push(items[j++]!);
  }
  return merged;
}

/** `sorted` without `items`. */
function withRemoved<T extends Sorted>(sorted: T[], items: readonly T[]): T[] {
  if (items.length > fewItems) {
    const gone = new Set<T>(items);
    return sorted.filter((item) => !gone.has(item));
  }
  for (const item of items) {
    const at = position(sorted, hostOf(item));
    if (sorted[at] === item) sorted.splice(at, 1);
  }
  return sorted;
}

function count<T extends { name: string }>(counted: Counted<T>, values: Few<T>, delta: 1 | -1): void {
  for (const value of eachOf(values)) {
    const name = value.name;
    const uses = counted.uses.get(name);
    if (delta === 1) {
      if (!counted.values.has(name)) counted.values.set(name, value);
      else counted.uses.set(name, (uses ?? 1) + 1);
    } else if (uses === undefined) counted.values.delete(name);
    else if (uses > 2) counted.uses.set(name, uses - 1);
    else counted.uses.delete(name);
  }
}

/** Adds a part; false when it makes a virtual host or a status another part made (they are not independent). */
export function addPart(state: State, part: Part): boolean {
  // A TLS chain for every SNI (`*`, a Gateway TLS listener without a hostname) leaves no room for the
  // fallback certificate's chain of another unit: the listener pass must see both (the reference).
  if (part.fallback && state.servedSecure.has("*")) return false;
  if (state.fallbackParts.size > 0 && eachOf(part.filterChains).some((chain) => chain.virtualHost.name === "*")) return false;
  for (const vhost of eachOf(part.virtualHosts)) {
    if (state.plainMaker.has(vhost.name)) return false;
    state.plainMaker.set(vhost.name, part);
  }
  for (const vhost of eachOf(part.secureVirtualHosts)) {
    if (state.secureMaker.has(vhost.name)) return false;
    state.secureMaker.set(vhost.name, part);
  }
  const statusKeys = eachOf(part.statusKeys);
  const statuses = eachOf(part.statuses);
  for (let i = 0; i < statusKeys.length; i++) {
    const key = statusKeys[i]!;
    if (state.statuses.has(key)) return false;
    state.statuses.set(key, statuses[i]!);
  }
  state.plain = withAdded(state.plain, eachOf(part.plain), state.bulk);
  state.filterChains = withAdded(state.filterChains, eachOf(part.filterChains), state.bulk);
  const fallback = part.fallback;
  if (fallback) {
    state.fallbackHosts = withAdded(state.fallbackHosts, fallback.virtualHosts, state.bulk);
    state.fallbackParts.add(part);
  }
  for (const vhost of eachOf(part.plain)) state.servedPlain.set(vhost.name, vhost);
  for (const chain of eachOf(part.filterChains)) state.servedSecure.set(chain.virtualHost.name, chain.virtualHost);
  count(state.clusters, part.clusters, 1);
  count(state.secrets, part.secrets, 1);
  for (const key of eachOf(part.objectKeys)) state.partOf.set(key, part);
  for (const link of eachOf(part.links)) state.partByLink.set(link, part);
  for (const key of eachOf(part.reads)) addReader(state.readers, key, part);
  state.validFrom = Math.max(state.validFrom, part.validFrom);
  state.validUntil = Math.min(state.validUntil, part.validUntil);
  return true;
}

/** Takes a part out (only what it added; called for parts added whole). */
export function removePart(state: State, part: Part): void {
  for (const vhost of eachOf(part.virtualHosts)) state.plainMaker.delete(vhost.name);
  for (const vhost of eachOf(part.secureVirtualHosts)) state.secureMaker.delete(vhost.name);
  for (const key of eachOf(part.statusKeys)) state.statuses.delete(key);
  state.plain = withRemoved(state.plain, eachOf(part.plain));
  state.filterChains = withRemoved(state.filterChains, eachOf(part.filterChains));
  if (part.fallback) {
    state.fallbackHosts = withRemoved(state.fallbackHosts, part.fallback.virtualHosts);
    state.fallbackParts.delete(part);
  }
  for (const vhost of eachOf(part.plain)) state.servedPlain.delete(vhost.name);
  for (const chain of eachOf(part.filterChains)) state.servedSecure.delete(chain.virtualHost.name);
  count(state.clusters, part.clusters, -1);
  count(state.secrets, part.secrets, -1);
  for (const key of eachOf(part.objectKeys)) if (state.partOf.get(key) === part) state.partOf.delete(key);
  for (const link of eachOf(part.links)) if (state.partByLink.get(link) === part) state.partByLink.delete(link);
  for (const key of eachOf(part.reads)) removeReader(state.readers, key, part);
}

/** Starts a build from the state the last DAG was assembled from: its maps become views, the given ones stay as they are. */
export function beginBuild(state: State): void {
  state.servedPlain = CopyOnWriteMap.over(state.servedPlain);
  state.servedSecure = CopyOnWriteMap.over(state.servedSecure);
  state.statuses = CopyOnWriteMap.over(state.statuses);
  state.clusters.values = CopyOnWriteMap.over(state.clusters.values);
  state.secrets.values = CopyOnWriteMap.over(state.secrets.values);
}

/** Ends a bulk load: sorts the served lists once. */
export function endBulk(state: State): void {
  const byHost = (a: Sorted, b: Sorted) => compareStrings(hostOf(a), hostOf(b));
  state.plain.sort(byHost);
  state.filterChains.sort(byHost);
  state.fallbackHosts.sort(byHost);
  state.bulk = false;
}

/**
 * The DAG of the state: the served hosts (the parts' objects, shared, never changed), the listeners
 * over them, the clusters and secrets they reach, and the parts' statuses (copied on a later change).
 */
export function assemble(state: State): Dag {
  // Every part's fallback chain has the same Secret (the configured one): one chain serves all their hosts.
  const [withFallback] = state.fallbackParts;
  const fallback = withFallback?.fallback && fallbackChainOf(withFallback.fallback.secret, state.fallbackHosts.slice());
  const served = { plain: state.plain.slice(), filterChains: state.filterChains.slice(), fallback };
  const listeners = [...listenersOf(served, state.effective.listeners), ...state.gateway.listeners];
  const dag: Dag = {
    virtualHosts: state.servedPlain,
    secureVirtualHosts: state.servedSecure,
    clusters: state.clusters.values,
    secrets: state.secrets.values,
    listeners,
    status: new StatusRecorder(state.statuses),
  };
  if (fallback) dag.fallbackSecret = fallback.secret;
  return dag;
}
