// The xDS resource types the agent serves, the shape of a resource set handed to the snapshot store,
// and the per-type facts the store and the server share (which field names a resource, which types
// are wildcard, the order in which ADS pushes types so that nothing is referenced before it exists).

export const TypeUrls = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
  virtualHost: "type.googleapis.com/envoy.config.route.v3.VirtualHost",
} as const;

export type TypeUrl = (typeof TypeUrls)[keyof typeof TypeUrls];

/**
 * Resources in our JSON form (see registry.ts). Each names itself: Listener.name,
 * RouteConfiguration.name, Cluster.name, ClusterLoadAssignment.cluster_name, Secret.name,
 * VirtualHost.name.
 */
export interface ResourceSet {
  listeners: object[];
  routes: object[];
  clusters: object[];
  endpoints: object[];
  secrets: object[];
  /**
   * VHDS: the virtual hosts of the route configurations served per host (vhds.ts), one resource each.
   * The store derives them from `routes` on publish; a set never needs to carry them.
   */
  virtualHosts?: object[];
}

export type ResourceKind = keyof ResourceSet;

/** What the server knows about a client, from the `node` of its first request. */
export interface NodeInfo {
  id: string;
  cluster: string;
  metadata?: Record<string, unknown>;
  userAgentName?: string;
  /** The verified client certificate's identity (split mode, see peer.ts); absent on plaintext streams. */
  identity?: string;
}

export interface ResourceTypeInfo {
  kind: ResourceKind;
  typeUrl: TypeUrl;
  /** The field of the resource that names it. */
  nameField: "name" | "cluster_name";
  /**
   * LDS, CDS and VHDS: a client that names nothing gets everything (wildcard); the others are by name.
   * (Envoy's VHDS subscription names nothing: it matches the hosts it gets to its route configs by namespace.)
   */
  wildcard: boolean;
  /** Short name for logs and metrics: "LDS", "RDS", … */
  short: string;
}

/**
 * Ordered as ADS pushes them when several types change at once: clusters before the endpoints they
 * use, listeners before their route configs and those before their virtual hosts (VHDS), secrets
 * last (make before break).
 */
export const resourceTypes: readonly ResourceTypeInfo[] = [
  { kind: "clusters", typeUrl: TypeUrls.cluster, nameField: "name", wildcard: true, short: "CDS" },
  { kind: "endpoints", typeUrl: TypeUrls.endpoint, nameField: "cluster_name", wildcard: false, short: "EDS" },
  { kind: "listeners", typeUrl: TypeUrls.listener, nameField: "name", wildcard: true, short: "LDS" },
  { kind: "routes", typeUrl: TypeUrls.route, nameField: "name", wildcard: false, short: "RDS" },
  { kind: "virtualHosts", typeUrl: TypeUrls.virtualHost, nameField: "name", wildcard: true, short: "VHDS" },
  { kind: "secrets", typeUrl: TypeUrls.secret, nameField: "name", wildcard: false, short: "SDS" },
];

const byTypeUrl = new Map<string, ResourceTypeInfo>(resourceTypes.map((info) => [info.typeUrl, info]));

/** The type info for a type URL, or undefined for a type the agent does not serve. */
export function typeInfo(typeUrl: string): ResourceTypeInfo | undefined {
  return byTypeUrl.get(typeUrl);
}

/** The short kind a user reads, from a type URL: "RouteConfiguration", "Cluster", … */
export function resourceKind(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}

export function emptyResourceSet(): ResourceSet {
  return { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] };
}
