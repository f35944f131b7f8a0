// Make before break on one ADS stream: what points at a cluster (listeners, route configurations,
// virtual hosts) is written only once the client can use that cluster. Envoy keeps a new EDS cluster
// warming until an EDS response carries its load assignment, and it asks for that assignment only after
// it has processed the CDS response. A route written right behind the CDS response is applied while the
// cluster still warms: its paths answer 503 (NC, no cluster) until the endpoints arrive, and since
// Envoy's main thread rebuilds a large route table first (VHDS or RDS: every host, for one changed host)
// the EDS request waits behind that rebuild, which may take hundreds of milliseconds. So after a CDS
// response brings clusters whose assignments the client does not hold, pushes of the pointing types
// wait until an EDS response has carried each of those assignments, or `maxHoldMs` has passed.
// The other half, break after make: removals of clusters and load assignments that a push carries
// are written only after the pushes of the same change that point elsewhere now (else the old route
// answers 503 until Envoy has the new one: NC for a removed cluster, UH for a removed assignment).
import { referencesOfResource } from "./cached-resource.ts";
import type { KnownVersions } from "./known-versions.ts";
import type { CachedResource } from "./snapshot.ts";
import { TypeUrls } from "./types.ts";

/** The types whose resources point at clusters, in push order: their pushes wait for warming clusters. */
export const pointingTypes: readonly string[] = [TypeUrls.listener, TypeUrls.route, TypeUrls.virtualHost];

/** How long a push waits at most for the endpoints of new clusters (Envoy's own wait is initial_fetch_timeout, 15 s). */
export const maxWarmingHoldMs = 2000;

export interface ClusterWarming {
  /** After a CDS response of `clusters` (and any EDS response it caused): the assignments the client lacks now warm. */
  clustersSent(clusters: readonly CachedResource[], endpointsHeld: KnownVersions): void;
  /** After an EDS response: its assignments are no longer awaited. */
  endpointsSent(assignments: readonly CachedResource[]): void;
  /** Whether a push of `typeUrl` waits now (it is then pushed when the clusters are warm). */
  holds(typeUrl: string): boolean;
  /** A push would remove these clusters or load assignments: they are removed after the pointing pushes. */
  deferRemovals(typeUrl: string, names: readonly string[]): void;
  /** The end of a change's pushes: deferred removals are written unless pointing pushes still wait. */
  pushed(): void;
}

/**
 * The warming state of one ADS stream: `writes.push(typeUrl)` writes a held type once its clusters
 * are warm (in push order), `writes.remove` the deferred removals after them; nothing is written
 * after the stream ends.
 */
export function createClusterWarming(
  stream: { on(event: string, listener: () => void): unknown },
  writes: { push(typeUrl: string): void; remove?(typeUrl: string, names: string[]): void },
  maxHoldMs = maxWarmingHoldMs,
): ClusterWarming {
  const awaited = new Set<string>();
  const held = new Set<string>();
  const removals = new Map<string, Set<string>>([[TypeUrls.cluster, new Set()], [TypeUrls.endpoint, new Set()]]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const release = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    awaited.clear();
    if (stopped) return;
    for (const typeUrl of pointingTypes) if (held.delete(typeUrl)) writes.push(typeUrl);
    removeNow();
  };

  const removeNow = () => {
    for (const [typeUrl, names] of removals) {
      if (names.size === 0) continue;
      const gone = [...names];
      names.clear();
      writes.remove?.(typeUrl, gone);
    }
  };

  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  for (const end of ["end", "cancelled", "error", "close"]) stream.on(end, stop);

  return {
    clustersSent(clusters, endpointsHeld) {
      for (const cluster of clusters) {
        for (const name of referencesOfResource(TypeUrls.cluster, cluster).endpoints) if (endpointsHeld.get(name) === undefined) awaited.add(name);
      }
    },
    endpointsSent(assignments) {
      if (awaited.size === 0) return;
      for (const assignment of assignments) awaited.delete(assignment.name);
      if (awaited.size === 0) release();
    },
    holds(typeUrl) {
      if (awaited.size === 0 || !pointingTypes.includes(typeUrl)) return false;
      held.add(typeUrl);
      timer ??= setTimeout(release, maxHoldMs);
      return true;
    },
    deferRemovals(typeUrl, names) {
      for (const name of names) removals.get(typeUrl)?.add(name);
    },
    pushed() {
      if (held.size === 0 && !stopped) removeNow();
    },
  };
}
