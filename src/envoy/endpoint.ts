// ClusterLoadAssignments from EndpointSlices: one per EDS service name (a Service port), with the
// ready endpoints grouped by zone. Runs apart from the DAG: an EndpointSlice change recomputes
// only the load assignments of that Service (loadAssignmentFor), never waiting for a rebuild.
import { isIP } from "node:net";
import type { Cluster, ServicePortRef } from "../dag/types.ts";
import type { KubeObject } from "../sources/types.ts";
import { compareStrings, type JsonObject } from "./common.ts";

/** What a load assignment is computed for: an EDS service name and the Service port behind it. */
export interface EdsTarget {
  edsServiceName: string;
  service: ServicePortRef;
}

/** The EndpointSlices of a Service (`kubernetes.io/service-name` label), by namespace and name. */
export type EndpointSliceLookup = (namespace: string, service: string) => KubeObject[];

interface SlicePort {
  name?: string;
  port?: number;
  protocol?: string;
}

interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean | null };
  zone?: string;
}

/** The distinct EDS targets of the given clusters (ExternalName clusters have none), sorted by name. */
export function edsTargets(clusters: Iterable<Cluster>): EdsTarget[] {
  const byName = new Map<string, EdsTarget>();
  for (const cluster of clusters) {
    if (cluster.externalName || byName.has(cluster.edsServiceName)) continue;
    byName.set(cluster.edsServiceName, { edsServiceName: cluster.edsServiceName, service: cluster.service });
  }
  return [...byName.values()].sort((a, b) => compareStrings(a.edsServiceName, b.edsServiceName));
}

/** EDS targets grouped by Service (`namespace/name`), for the fast path on an EndpointSlice change. */
export function edsTargetsByService(clusters: Iterable<Cluster>): Map<string, EdsTarget[]> {
  const byService = new Map<string, EdsTarget[]>();
  for (const target of edsTargets(clusters)) {
    const key = `${target.service.namespace}/${target.service.name}`;
    const list = byService.get(key);
    if (list) list.push(target);
    else byService.set(key, [target]);
  }
  return byService;
}

/** A load assignment for every EDS target of the clusters; empty ones included, so none is missing. */
export function loadAssignments(clusters: Iterable<Cluster>, endpointSlices: EndpointSliceLookup): JsonObject[] {
  return edsTargets(clusters).map((target) => loadAssignmentFor(target, endpointSlices));
}

/** The ClusterLoadAssignment of one EDS target from its Service's EndpointSlices. */
export function loadAssignmentFor(target: EdsTarget, endpointSlices: EndpointSliceLookup): JsonObject {
  const byZone = new Map<string, Map<string, JsonObject>>();
  for (const slice of endpointSlices(target.service.namespace, target.service.name)) {
    const addressType = slice.addressType as string | undefined;
    if (addressType === "FQDN") continue; // Envoy's EDS takes IP addresses only
    const port = resolvePort(target.service, (slice.ports as SlicePort[] | null | undefined) ?? []);
    if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    for (const endpoint of (slice.endpoints as SliceEndpoint[] | null | undefined) ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      const zone = endpoint.zone ?? "";
      let endpoints = byZone.get(zone);
      if (!endpoints) byZone.set(zone, (endpoints = new Map()));
      for (const address of endpoint.addresses ?? []) {
        // Envoy takes only IP literals here; anything else would have it reject the whole assignment.
        if (typeof address !== "string" || isIP(address) === 0) continue;
        // The same address in two slices (during a slice split) is one endpoint.
        endpoints.set(`${address}|${port}`, {
          endpoint: { address: { socket_address: { address, port_value: port } } },
        });
      }
    }
  }
  const zones = [...byZone.keys()].sort(compareStrings);
  return {
    cluster_name: target.edsServiceName,
    endpoints: zones
      .map((zone) => {
        const endpoints = byZone.get(zone)!;
        const keys = [...endpoints.keys()].sort(compareStrings);
        // The weight is the locality's endpoint count: Envoy ignores it unless locality-weighted
        // balancing is on, but proxyless gRPC clients send nothing to a locality without one.
        return { locality: { zone }, lb_endpoints: keys.map((key) => endpoints.get(key)!), load_balancing_weight: keys.length };
      })
      .filter((locality) => locality.lb_endpoints.length > 0),
  };
}

/**
 * The endpoint port for a Service port: the slice port of the same name (both unnamed counts), or,
 * when the slice's port is unnamed and the Service's targetPort is a number, that number.
 */
function resolvePort(service: ServicePortRef, ports: SlicePort[]): number | undefined {
  const tcp = ports.filter((p) => (p.protocol ?? "TCP") === "TCP");
  const named = tcp.find((p) => (p.name ?? "") === service.portName);
  if (named?.port !== undefined) return named.port;
  if (typeof service.targetPort === "number" && tcp.some((p) => !p.name)) return service.targetPort;
  return undefined;
}
