// Applies NACK quarantines to a freshly built resource set: a resource (or one virtual host of a
// route config) whose content is still the content a client rejected is replaced by its last good
// content, or left out when there is none. Then the set is made consistent again: a substituted
// resource that names something no longer there, and whatever names a resource that was left out,
// is left out too (a listener loses only the filter chains that name it). Pure: the caller owns
// the quarantine list and the last good contents (see nack-feedback.ts).
import { findReferences } from "../xds/references.ts";
import { resourceTypes, type ResourceSet, type ResourceKind, TypeUrls } from "../xds/types.ts";

/** One quarantined part: a whole resource, or one virtual host of a route configuration. */
export interface QuarantinedPart {
  typeUrl: string;
  name: string;
  virtualHost?: string;
  /** The rejected content, as contentText() writes it. */
  content: string;
}

export interface LeftOut {
  typeUrl: string;
  name: string;
  virtualHost?: string;
  /** Why, for logs and conditions: "names Cluster \"x\", which is not served". */
  reason: string;
}

export interface Substitution<Q extends QuarantinedPart> {
  resources: ResourceSet;
  /** Quarantines whose content is still built: they held, the resource was replaced or left out. */
  held: Q[];
  /** Quarantines whose resource or virtual host changed or disappeared: they end. */
  released: Q[];
  /** Parts left out: a quarantined part with no last good content, or what became inconsistent. */
  leftOut: LeftOut[];
}

type Json = Record<string, unknown>;

/** The canonical text of a resource or a virtual host: what "the same content" compares. */
export function contentText(json: object): string {
  const { "@type": _type, ...rest } = json as Json;
  return JSON.stringify(rest);
}

export const nameFieldOf = (typeUrl: string): string => (typeUrl === TypeUrls.endpoint ? "cluster_name" : "name");

const kindOf = (typeUrl: string): ResourceKind | undefined => resourceTypes.find((info) => info.typeUrl === typeUrl)?.kind;

/** The resource short kind a user reads: "RouteConfiguration", "Cluster", … */
export const resourceKind = (typeUrl: string): string => typeUrl.slice(typeUrl.lastIndexOf(".") + 1);

/**
 * Replaces what `quarantines` still match in `set` with `lastGood(typeUrl, name)` (a whole
 * resource; for a virtual host, the named virtual host of that resource) and restores consistency.
 */
export function substituteQuarantined<Q extends QuarantinedPart>(
  set: ResourceSet,
  options: {
    quarantines: Q[];
    lastGood(typeUrl: string, name: string): object | undefined;
    /** Whether this last good content (of the whole resource, or of the virtual host) was rejected too. */
    rejected?(part: QuarantinedPart): boolean;
  },
): Substitution<Q> {
  const out: ResourceSet = { listeners: [...set.listeners], routes: [...set.routes], clusters: [...set.clusters], endpoints: [...set.endpoints], secrets: [...set.secrets] };
  const held: Q[] = [];
  const released: Q[] = [];
  const leftOut: LeftOut[] = [];
  // What was substituted, so its references are checked more strictly (route → cluster too).
  const substituted = new Set<string>();

  for (const quarantine of options.quarantines) {
    const kind = kindOf(quarantine.typeUrl);
    const list = kind ? (out[kind] as Json[]) : [];
    const field = nameFieldOf(quarantine.typeUrl);
    const index = list.findIndex((r) => r[field] === quarantine.name);
    if (index < 0) {
      released.push(quarantine);
      continue;
    }
    const resource = list[index]!;
    const usable = (json: Json | undefined): Json | undefined =>
      json && options.rejected?.({ typeUrl: quarantine.typeUrl, name: quarantine.name, virtualHost: quarantine.virtualHost, content: contentText(json) }) ? undefined : json;
    const good = options.lastGood(quarantine.typeUrl, quarantine.name) as Json | undefined;
    if (quarantine.virtualHost === undefined) {
      if (contentText(resource) !== quarantine.content) {
        released.push(quarantine);
        continue;
      }
      held.push(quarantine);
      if (usable(good)) {
        list[index] = good!;
        substituted.add(partKey(quarantine.typeUrl, quarantine.name));
      } else {
        list.splice(index, 1);
        leftOut.push({ typeUrl: quarantine.typeUrl, name: quarantine.name, reason: good ? "no earlier version of it was accepted" : "no earlier version of it was served" });
      }
      continue;
    }
    const vhosts = (resource.virtual_hosts as Json[] | undefined) ?? [];
    const vhostIndex = vhosts.findIndex((v) => v.name === quarantine.virtualHost);
    if (vhostIndex < 0 || contentText(vhosts[vhostIndex]!) !== quarantine.content) {
      released.push(quarantine);
      continue;
    }
    held.push(quarantine);
    const goodVhost = usable(((good?.virtual_hosts as Json[] | undefined) ?? []).find((v) => v.name === quarantine.virtualHost));
    const nextVhosts = [...vhosts];
    if (goodVhost) {
      nextVhosts[vhostIndex] = goodVhost;
      substituted.add(partKey(quarantine.typeUrl, quarantine.name, quarantine.virtualHost));
    } else {
      nextVhosts.splice(vhostIndex, 1);
      leftOut.push({ typeUrl: quarantine.typeUrl, name: quarantine.name, virtualHost: quarantine.virtualHost, reason: "no earlier version of it was served" });
    }
    list[index] = { ...resource, virtual_hosts: nextVhosts };
  }
  if (held.length > 0) makeConsistent(out, substituted, leftOut);
  return { resources: out, held, released, leftOut };
}

const partKey = (typeUrl: string, name: string, virtualHost?: string) => `${typeUrl} ${name}${virtualHost === undefined ? "" : ` ${virtualHost}`}`;

/** Leaves out, until nothing dangles, whatever names a resource that is not in `set`. */
function makeConsistent(set: ResourceSet, substituted: Set<string>, leftOut: LeftOut[]): void {
  for (let changed = true; changed; ) {
    changed = false;
    const names = {
      routes: new Set((set.routes as Json[]).map((r) => r.name as string)),
      clusters: new Set((set.clusters as Json[]).map((r) => r.name as string)),
      endpoints: new Set((set.endpoints as Json[]).map((r) => r.cluster_name as string)),
      secrets: new Set((set.secrets as Json[]).map((r) => r.name as string)),
    };
    const missing = (typeUrl: string, json: object): string | undefined => {
      const refs = findReferences(typeUrl, json);
      const route = refs.routes.find((n) => !names.routes.has(n));
      if (route !== undefined) return `names RouteConfiguration ${JSON.stringify(route)}, which is not served`;
      const eds = refs.endpoints.find((n) => !names.endpoints.has(n));
      if (eds !== undefined) return `names ClusterLoadAssignment ${JSON.stringify(eds)}, which is not served`;
      const secret = refs.secrets.find((n) => !names.secrets.has(n));
      if (secret !== undefined) return `names Secret ${JSON.stringify(secret)}, which is not served`;
      return undefined;
    };
    const missingCluster = (json: object): string | undefined => {
      const cluster = routeClusters(json).find((n) => !names.clusters.has(n));
      return cluster === undefined ? undefined : `names Cluster ${JSON.stringify(cluster)}, which is not served`;
    };

    set.clusters = (set.clusters as Json[]).filter((cluster) => {
      const reason = missing(TypeUrls.cluster, cluster);
      if (reason) leftOut.push({ typeUrl: TypeUrls.cluster, name: cluster.name as string, reason });
      changed ||= reason !== undefined;
      return reason === undefined;
    });
    set.routes = (set.routes as Json[]).flatMap((routeConfig) => {
      const name = routeConfig.name as string;
      if (substituted.has(partKey(TypeUrls.route, name))) {
        const reason = missingCluster(routeConfig);
        if (!reason) return [routeConfig];
        leftOut.push({ typeUrl: TypeUrls.route, name, reason });
        changed = true;
        return [];
      }
      const vhosts = (routeConfig.virtual_hosts as Json[] | undefined) ?? [];
      const kept = vhosts.filter((vhost) => {
        if (!substituted.has(partKey(TypeUrls.route, name, vhost.name as string))) return true;
        const reason = missingCluster(vhost);
        if (reason) leftOut.push({ typeUrl: TypeUrls.route, name, virtualHost: vhost.name as string, reason });
        return reason === undefined;
      });
      if (kept.length === vhosts.length) return [routeConfig];
      changed = true;
      return [{ ...routeConfig, virtual_hosts: kept }];
    });
    set.listeners = (set.listeners as Json[]).flatMap((listener) => {
      const name = listener.name as string;
      const reason = missing(TypeUrls.listener, listener);
      if (!reason) return [listener];
      changed = true;
      const chains = (listener.filter_chains as Json[] | undefined) ?? [];
      const keptChains = chains.filter((chain) => missing(TypeUrls.listener, { filter_chains: [chain] }) === undefined);
      const pruned = { ...listener, filter_chains: keptChains };
      if (!substituted.has(partKey(TypeUrls.listener, name)) && keptChains.length > 0 && missing(TypeUrls.listener, pruned) === undefined) {
        leftOut.push({ typeUrl: TypeUrls.listener, name, reason: `${chains.length - keptChains.length} filter chain(s) left out: ${reason}` });
        return [pruned];
      }
      leftOut.push({ typeUrl: TypeUrls.listener, name, reason });
      return [];
    });
  }
}

/** The clusters a route configuration (or one virtual host of it) sends traffic to. */
export function routeClusters(json: object): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== "object") return;
    const action = value as Json;
    if (typeof action.cluster === "string") found.add(action.cluster);
    for (const weighted of ((action.weighted_clusters as Json | undefined)?.clusters as Json[] | undefined) ?? []) {
      if (typeof weighted.name === "string") found.add(weighted.name);
    }
    for (const child of Object.values(action)) if (child && typeof child === "object") visit(child);
  };
  visit(json);
  return [...found];
}
