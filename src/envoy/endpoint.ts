// ClusterLoadAssignments from EndpointSlices: one per EDS service name (a Service port), with the
// ready endpoints grouped by zone. Runs apart from the DAG: an EndpointSlice change recomputes
// only the load assignments of that Service (loadAssignmentFor), never waiting for a rebuild.
// Only unicast IP addresses of other hosts are served (loopback too when the policy allows it, for
// local development); what is left out is reported, naming the slice, never dropped silently.
import { ipScope } from "../base/ip-scope.ts";
import type { Cluster, ServicePortRef } from "../dag/types.ts";
import type { KubeObject } from "../sources/types.ts";
import { compareStrings, type JsonObject } from "./common.ts";

/** What a load assignment is computed for: an EDS service name and the Service port behind it. */
export interface EdsTarget {
  edsServiceName: string;
  service: ServicePortRef;
  /** Another port of the same Service that health checks go to. */
  healthPort?: Cluster["healthPort"];
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

/** Which EndpointSlice addresses may be served beyond other hosts' unicast addresses. */
export interface EndpointPolicy {
  /** Loopback addresses (127.0.0.0/8, ::1): `agent serve --allow-loopback-endpoints`, for local development. */
  allowLoopback?: boolean;
}

/** An endpoint or port of a slice that is not served, and why: reported on the slice's Service. */
export interface EndpointProblem {
  service: { namespace: string; name: string };
  slice: string;
  reason: "AddressNotValid" | "AddressNotAllowed" | "PortOutOfRange";
  message: string;
}

export interface EndpointOptions {
  policy?: EndpointPolicy;
  /** Called for every address or port left out. */
  report?: (problem: EndpointProblem) => void;
}

/** Why an EndpointSlice address is not served, or undefined when it is. */
export function refuseEndpointAddress(address: unknown, policy: EndpointPolicy = {}): { reason: EndpointProblem["reason"]; why: string } | undefined {
  // Envoy takes only IP literals here; anything else would have it reject the whole assignment.
  const scope = typeof address === "string" ? ipScope(address) : undefined;
  if (scope === undefined) return { reason: "AddressNotValid", why: "is not an IP address" };
  if (scope === "unicast" || (scope === "loopback" && policy.allowLoopback)) return undefined;
  const hint = scope === "loopback" ? " (agent serve --allow-loopback-endpoints serves loopback, for local development)" : "";
  return { reason: "AddressNotAllowed", why: `is a${scope === "unspecified" ? "n" : ""} ${scope} address, not a unicast address of another host${hint}` };
}

/** The distinct EDS targets of the given clusters (ExternalName clusters have none), sorted by name. */
export function edsTargets(clusters: Iterable<Cluster>): EdsTarget[] {
  const byName = new Map<string, EdsTarget>();
  for (const cluster of clusters) {
    if (cluster.externalName || byName.has(cluster.edsServiceName)) continue;
    const target: EdsTarget = { edsServiceName: cluster.edsServiceName, service: cluster.service };
    if (cluster.healthPort) target.healthPort = cluster.healthPort;
    byName.set(cluster.edsServiceName, target);
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
export function loadAssignments(clusters: Iterable<Cluster>, endpointSlices: EndpointSliceLookup, options: EndpointOptions = {}): JsonObject[] {
  return edsTargets(clusters).map((target) => loadAssignmentFor(target, endpointSlices, options));
}

/** The ClusterLoadAssignment of one EDS target from its Service's EndpointSlices. */
export function loadAssignmentFor(target: EdsTarget, endpointSlices: EndpointSliceLookup, options: EndpointOptions = {}): JsonObject {
  // Run once per Service port on every full build: no closure, key list or copy per slice or endpoint
  // that the common case (one slice, ready unicast addresses) does not need.
  const zones: ZoneEndpoints[] = [];
  const { namespace, name } = target.service;
  for (const slice of endpointSlices(namespace, name)) {
    const addressType = slice.addressType as string | undefined;
    if (addressType === "FQDN") continue; // Envoy's EDS takes IP addresses only
    const ports = (slice.ports as SlicePort[] | null | undefined) ?? [];
    const port = resolvePort(target.service, ports);
    if (port === undefined || port === null) continue;
    if (!validPort(port)) {
      reportSlice(options, target, slice, "PortOutOfRange", `port ${JSON.stringify(port)} is not a port from 1 to 65535: its endpoints are not served`);
      continue;
    }
    // Contour: health checks go to the slice's port for the health port, when the slice has one.
    const healthPort = target.healthPort ? resolvePort({ ...target.service, ...target.healthPort }, ports) : undefined;
    const healthCheck = validPort(healthPort) ? healthPort : undefined;
    for (const endpoint of (slice.endpoints as SliceEndpoint[] | null | undefined) ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      const zone = zoneIn(zones, endpoint.zone ?? "");
      for (const address of endpoint.addresses ?? []) {
        const refused = refuseEndpointAddress(address, options.policy);
        if (refused) {
          reportSlice(options, target, slice, refused.reason, `address ${JSON.stringify(address)} ${refused.why}: not served`);
          continue;
        }
        const socketAddress = { address: { socket_address: { address, port_value: port } } };
        // The same address in two slices (during a slice split) is one endpoint: the later one.
        zone.set(address, port, { endpoint: healthCheck ? { ...socketAddress, health_check_config: { port_value: healthCheck } } : socketAddress });
      }
    }
  }
  if (zones.length > 1) zones.sort((a, b) => compareStrings(a.zone, b.zone));
  const localities: JsonObject[] = [];
  for (const zone of zones) {
    if (zone.size === 0) continue;
    // The weight is the locality's endpoint count: Envoy ignores it unless locality-weighted
    // balancing is on, but proxyless gRPC clients send nothing to a locality without one.
    const lbEndpoints = zone.sorted();
    localities.push({ locality: { zone: zone.zone }, lb_endpoints: lbEndpoints, load_balancing_weight: lbEndpoints.length });
  }
  return { cluster_name: target.edsServiceName, endpoints: localities };
}

/**
 * One zone's endpoints by address and port, sorted on the way out as their keys `address|port` sort.
 * Zones hold a few endpoints each: an endpoint is found by scanning them, and through a Map of its
 * key only once they are many; the few are sorted without a key string each.
 */
class ZoneEndpoints {
  private readonly addresses: string[] = [];
  private readonly ports: number[] = [];
  private readonly entries: JsonObject[] = [];
  private index: Map<string, number> | undefined;

  constructor(readonly zone: string) {}

  get size(): number {
    return this.entries.length;
  }

  set(address: string, port: number, entry: JsonObject): void {
    const at = this.find(address, port);
    if (at >= 0) {
      this.entries[at] = entry;
      return;
    }
    this.index?.set(`${address}|${port}`, this.entries.length);
    this.addresses.push(address);
    this.ports.push(port);
    this.entries.push(entry);
  }

  private find(address: string, port: number): number {
    const { addresses, ports } = this;
    if (!this.index && addresses.length >= 16) this.index = new Map(addresses.map((a, i) => [`${a}|${ports[i]}`, i]));
    if (this.index) return this.index.get(`${address}|${port}`) ?? -1;
    for (let i = 0; i < addresses.length; i++) if (addresses[i] === address && ports[i] === port) return i;
    return -1;
  }

  sorted(): JsonObject[] {
    const { addresses, ports, entries } = this;
    if (entries.length === 1) return [entries[0]!];
    const order = entries.map((_, i) => i).sort((a, b) => compareEndpointKeys(addresses[a]!, ports[a]!, addresses[b]!, ports[b]!));
    return order.map((i) => entries[i]!);
  }
}

/**
 * compareStrings(`${a}|${aPort}`, `${b}|${bPort}`) without writing either key: an IP address holds
 * no `|`, so where one address is the start of the other, its `|` meets a character of the other.
 */
export function compareEndpointKeys(a: string, aPort: number, b: string, bPort: number): number {
  if (a === b) return compareStrings(String(aPort), String(bPort));
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < y ? -1 : 1;
  }
  const bar = 0x7c; // "|"
  if (a.length < b.length) return bar < b.charCodeAt(common) ? -1 : 1;
  return a.charCodeAt(common) < bar ? -1 : 1;
}

function zoneIn(zones: ZoneEndpoints[], name: string): ZoneEndpoints {
  for (const zone of zones) if (zone.zone === name) return zone;
  const zone = new ZoneEndpoints(name);
  zones.push(zone);
  return zone;
}

/** Reports an address or port of `slice` that is not served, naming the slice. */
function reportSlice(options: EndpointOptions, target: EdsTarget, slice: KubeObject, reason: EndpointProblem["reason"], message: string): void {
  if (!options.report) return;
  const { namespace, name } = target.service;
  const sliceName = `${namespace}/${String((slice.metadata as { name?: unknown } | undefined)?.name ?? "")}`;
  options.report({ service: { namespace, name }, slice: sliceName, reason, message: `EndpointSlice ${sliceName}: ${message}` });
}

function validPort(port: unknown): port is number {
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/**
 * The endpoint port for a Service port: the slice port of the same name (both unnamed counts), or,
 * when the slice's port is unnamed and the Service's targetPort is a number, that number.
 */
function resolvePort(service: ServicePortRef, ports: SlicePort[]): unknown {
  let unnamed = false;
  for (const p of ports) {
    if ((p.protocol ?? "TCP") !== "TCP") continue;
    if ((p.name ?? "") === service.portName) {
      if (p.port !== undefined) return p.port;
      break; // the first TCP port of that name decides, as find() would
    }
    if (!p.name) unnamed = true;
  }
  if (typeof service.targetPort === "number" && (unnamed || ports.some((p) => (p.protocol ?? "TCP") === "TCP" && !p.name))) return service.targetPort;
  return undefined;
}
