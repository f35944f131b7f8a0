// Make before break on one ADS stream: what points at a cluster (listeners, route configurations,
// virtual hosts) is written only once the client can use that cluster. Envoy keeps a new EDS cluster
// warming until an EDS response carries its load assignment, and it asks for that assignment only after
// it has processed the CDS response. A route written right behind the CDS response is applied while the
// cluster still warms: its paths answer 503 (NC, no cluster) until the endpoints arrive, and since
// Envoy's main thread rebuilds a large route table first (VHDS or RDS: every host, for one changed host)
// the EDS request waits behind that rebuild, which may take hundreds of milliseconds. So after a CDS
// response brings clusters whose assignments the client does not hold, pushes of the pointing types
// wait until an EDS response has carried each of those assignments, or `maxHoldMs` has passed.
import { referencesOfResource } from "./cached-resource.ts";
import type { KnownVersions } from "./known-versions.ts";
import type { CachedResource } from "./snapshot.ts";
import { TypeUrls } from "./types.ts";

/** The types whose resources point at clusters, in push order: their pushes wait for warming clusters. */
const pointing: readonly string[] = [TypeUrls.listener, TypeUrls.route, TypeUrls.virtualHost];

/** How long a push waits at most for the endpoints of new clusters (Envoy's own wait is initial_fetch_timeout, 15 s). */
export const maxWarmingHoldMs = 2000;

export interface ClusterWarming {
  /** After a CDS response of `clusters` (and any EDS response it caused): the assignments the client lacks now warm. */
  clustersSent(clusters: readonly CachedResource[], endpointsHeld: KnownVersions): void;
  /** After an EDS response: its assignments are no longer awaited. */
  endpointsSent(assignments: readonly CachedResource[]): void;
  /** Whether a push of `typeUrl` waits now (it is then pushed when the clusters are warm). */
  holds(typeUrl: string): boolean;
}

/**
 * The warming state of one ADS stream: `push(typeUrl)` writes a held type once its clusters are warm
 * (in push order); nothing is pushed after the stream ends.
 */
export function createClusterWarming(stream: { on(event: string, listener: () => void): unknown }, push: (typeUrl: string) => void, maxHoldMs = maxWarmingHoldMs): ClusterWarming {
  const awaited = new Set<string>();
  const held = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const release = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    awaited.clear();
    if (stopped) return;
    for (const typeUrl of pointing) if (held.delete(typeUrl)) push(typeUrl);
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
      if (awaited.size === 0 || !pointing.includes(typeUrl)) return false;
      held.add(typeUrl);
      timer ??= setTimeout(release, maxHoldMs);
      return true;
    },
  };
}
