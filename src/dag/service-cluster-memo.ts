// The shortcut serviceCluster (httpproxy-services.ts) takes for the settings nearly every route
// service has: the Cluster it made for the same resolved Service port and the same few scalars is
// the one ctx.cluster would intern again, so it is remembered for the build instead of being
// written, keyed and looked up once more. rememberNothing is the plain version; the property test
// in service-cluster-memo.test.ts builds with both and finds the same DAG.
import type { Cluster, ResolvedService } from "./types.ts";

export interface ServiceClusterMemo {
  get(resolved: ResolvedService, key: string): Cluster | undefined;
  set(resolved: ResolvedService, key: string, cluster: Cluster): void;
}

/** A memo for one build (resolved Service ports are memoized per build, so they key it). */
export function createServiceClusterMemo(): ServiceClusterMemo {
  // Made on first use: a build context per incremental unit, most never ask.
  let byResolved: WeakMap<ResolvedService, Map<string, Cluster>> | undefined;
  return {
    get: (resolved, key) => byResolved?.get(resolved)?.get(key),
    set(resolved, key, cluster) {
      byResolved ??= new WeakMap();
      let byKey = byResolved.get(resolved);
      if (!byKey) byResolved.set(resolved, (byKey = new Map()));
      byKey.set(key, cluster);
    },
  };
}

/** The reference: every cluster is made and interned anew. */
export const rememberNothing: ServiceClusterMemo = { get: () => undefined, set: () => {} };
