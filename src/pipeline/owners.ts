// Which source objects produced each Envoy resource, so that a resource the validator rejects, or
// that Envoy NACKs, becomes a condition on the Ingress or HTTPProxy a user can fix.
import type { ObjectRef } from "../dag/status.ts";
import type { Dag, VirtualHost } from "../dag/types.ts";
import { TypeUrls } from "../xds/types.ts";

/** `typeUrl name` → the objects behind it; route configs and listeners also per virtual host name. */
export interface ResourceOwners {
  /** Owners of a whole resource. */
  of(typeUrl: string, name: string): ObjectRef[];
  /** Owners of one virtual host (route config) or filter chain (listener), by the vhost's fqdn. */
  ofVirtualHost(fqdn: string): ObjectRef[];
}

const key = (typeUrl: string, name: string) => `${typeUrl} ${name}`;

/**
 * The owners index of a built DAG. It is built on the first question (a rejection or a NACK), not with
 * every build: most builds never ask, and at 10k virtual hosts the index costs 100+ ms. The DAG's
 * hosts, routes and clusters are not changed after the build, so the answer is the same either way.
 */
export function resourceOwners(dag: Dag): ResourceOwners {
  let index: { owners: Map<string, Map<string, ObjectRef>>; vhostOwners: Map<string, Map<string, ObjectRef>> } | undefined;
  const built = () => (index ??= indexOwners(dag));
  return {
    of: (typeUrl, name) => [...(built().owners.get(key(typeUrl, name))?.values() ?? [])],
    ofVirtualHost: (fqdn) => [...(built().vhostOwners.get(fqdn)?.values() ?? [])],
  };
}

function indexOwners(dag: Dag) {
  const owners = new Map<string, Map<string, ObjectRef>>();
  const vhostOwners = new Map<string, Map<string, ObjectRef>>();
  const add = (map: Map<string, Map<string, ObjectRef>>, k: string, refs: Iterable<ObjectRef>) => {
    let set = map.get(k);
    if (!set) map.set(k, (set = new Map()));
    for (const ref of refs) set.set(`${ref.kind} ${ref.namespace}/${ref.name}`, ref);
  };
  const visit = (vhost: VirtualHost, routeConfig: string) => {
    add(vhostOwners, vhost.name, vhost.sources);
    add(owners, key(TypeUrls.route, routeConfig), vhost.sources);
    for (const route of vhost.routes) {
      const sources = [route.source];
      add(vhostOwners, vhost.name, sources);
      for (const wc of route.clusters) add(owners, key(TypeUrls.cluster, wc.cluster.name), sources);
      for (const mirror of route.mirrors) add(owners, key(TypeUrls.cluster, mirror.cluster.name), sources);
    }
  };
  for (const vhost of dag.virtualHosts.values()) visit(vhost, "ingress_http");
  for (const vhost of dag.secureVirtualHosts.values()) {
    visit(vhost, `https/${vhost.name}`);
    for (const wc of vhost.tcpProxy?.clusters ?? []) add(owners, key(TypeUrls.cluster, wc.cluster.name), vhost.sources);
    for (const secret of [vhost.secret, vhost.downstreamValidation?.caSecret, vhost.downstreamValidation?.crlSecret]) {
      if (secret) add(owners, key(TypeUrls.secret, secret.name), vhost.sources);
    }
  }
  for (const cluster of dag.clusters.values()) {
    const clusterOwners = owners.get(key(TypeUrls.cluster, cluster.name));
    if (clusterOwners) add(owners, key(TypeUrls.endpoint, cluster.edsServiceName), clusterOwners.values());
  }
  return { owners, vhostOwners };
}
