// The object cache: what the sources saw, filtered (ingress class, namespaces) and slimmed (no
// managedFields, no last-applied annotation, no Secrets but TLS and Opaque). It is the DAG builder's
// input, and `apply` tells the pipeline whether a change can affect the output at all: a Secret or
// Service nobody names cannot, an EndpointSlice affects only endpoints. Reference counts are kept
// incrementally per referring object, so applying one event never rescans the cache.
import { compareStrings, deepEqual } from "../base/values.ts";
import type { GatewayApiObjects } from "../dag/gateway-api-types.ts";
import { GATEWAY_GROUP } from "../dag/gateway-refs.ts";
import type { DagInput } from "../dag/processor.ts";
import { servesIngressClass } from "../sources/ingress-class.ts";
import { configMapCaKey, keptSecretTypes } from "../sources/kube-transform.ts";
import { configMapReference, objectReferences, secretReference, serviceReference, type ReferenceKey } from "../sources/references.ts";
import { acceptedApiVersions, clusterScopedWatchedKinds, watchedKinds, type KubeObject, type ObjectMeta, type SourceEvent } from "../sources/types.ts";

export interface ObjectCacheOptions {
  /** Ingress classes served (see ingress-class.ts); empty means Contour's default. */
  ingressClassNames: string[];
  /** Only objects in these namespaces are kept; empty or absent means every namespace. */
  watchNamespaces?: string[];
  /** Secrets the configuration names directly: always referenced. */
  fallbackCertificate?: { namespace: string; name: string };
  upstreamClientCertificate?: { namespace: string; name: string };
}

export interface ApplyResult {
  /** The change can alter the DAG (and so listeners, routes, clusters, secrets). */
  affectsDag: boolean;
  /** The change can alter load assignments. */
  affectsEndpoints: boolean;
  /** `namespace/service` of the load assignments an EndpointSlice change touches. */
  endpointServices?: string[];
}

export interface ObjectCache extends DagInput {
  apply(event: SourceEvent): ApplyResult;
  /** Applies a batch; the result is true where any event's result is. */
  applyAll(events: readonly SourceEvent[]): ApplyResult;
  /** The EndpointSlices labelled `kubernetes.io/service-name: serviceName` in `namespace`, by name. */
  endpointSlices(namespace: string, serviceName: string): KubeObject[];
  endpointSlicesAll(): KubeObject[];
  /** `namespace/service` of every Service that has EndpointSlices, sorted. */
  endpointSliceServices(): string[];
  services(): KubeObject[];
  secrets(): KubeObject[];
  configMap(namespace: string, name: string): KubeObject | undefined;
  /** Whether an Ingress, HTTPProxy, delegation or the configuration names this Secret or Service. */
  isReferenced(kind: "Secret" | "Service", namespace: string, name: string): boolean;
  /** Objects held per kind, for metrics and debug output. */
  counts(): Record<string, number>;
  /**
   * The `Kind namespace/name` keys of the objects added, changed or removed since the last call
   * (every kind, referenced or not): what an incremental build (dag/incremental.ts) must redo.
   */
  takeChanges(): Set<string>;
  /** The Services (`namespace/name`) whose EndpointSlices were added, changed or removed since the last call. */
  takeEndpointChanges(): Set<string>;
  gatewayApi(): GatewayApiObjects;
}

export const serviceNameLabel = "kubernetes.io/service-name";
export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

type GatewayApiKind = Extract<(typeof watchedKinds)[number], { group: typeof GATEWAY_GROUP }>["kind"];
const gatewayApiKinds = watchedKinds.filter((k) => k.group === GATEWAY_GROUP).map((k) => k.kind as GatewayApiKind);
type StoredKind = "Ingress" | "HTTPProxy" | "TLSCertificateDelegation" | "Service" | "Secret" | "ConfigMap" | "EndpointSlice" | "Namespace" | GatewayApiKind;
const storedKinds: readonly StoredKind[] = [
  "Ingress",
  "HTTPProxy",
  "TLSCertificateDelegation",
  "Service",
  "Secret",
  "ConfigMap",
  "EndpointSlice",
  "Namespace",
  ...gatewayApiKinds,
];

const apiVersionsOf = new Map<string, ReadonlySet<string>>(watchedKinds.map((k) => [k.kind, new Set(acceptedApiVersions(k))]));

/** A Namespace as kept: name and labels only (allowedRoutes selectors read nothing else). */
function namespaceLabels(object: KubeObject): KubeObject {
  const { name, uid, resourceVersion, labels } = object.metadata;
  return { apiVersion: object.apiVersion, kind: "Namespace", metadata: { name, uid, resourceVersion, labels: labels ?? {} } };
}

/** A ConfigMap as kept: its `ca.crt` only (a BackendTLSPolicy's CA bundle), whatever else it holds. */
function caBundleOnly(object: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, generation } = object.metadata;
  const ca = (object.data as Record<string, unknown> | undefined)?.[configMapCaKey];
  return { apiVersion: object.apiVersion, kind: "ConfigMap", metadata: { name, namespace, uid, resourceVersion, generation }, data: typeof ca === "string" ? { [configMapCaKey]: ca } : {} };
}

const nothing: ApplyResult = { affectsDag: false, affectsEndpoints: false };

/** A copy without managedFields and the last-applied annotation; the input is never mutated. */
export function withoutManagedFields(object: KubeObject): KubeObject {
  const metadata = object.metadata as ObjectMeta & { managedFields?: unknown };
  const annotations = metadata.annotations;
  const hasLastApplied = annotations !== undefined && lastAppliedAnnotation in annotations;
  if (metadata.managedFields === undefined && !hasLastApplied) return object;
  const { managedFields: _dropped, ...rest } = metadata;
  const slimMetadata: ObjectMeta = rest;
  if (hasLastApplied && annotations !== undefined) {
    const { [lastAppliedAnnotation]: _applied, ...kept } = annotations;
    slimMetadata.annotations = kept;
  }
  return { ...object, metadata: slimMetadata };
}

function unchanged(previous: KubeObject, next: KubeObject): boolean {
  const before = previous.metadata.resourceVersion;
  const after = next.metadata.resourceVersion;
  if (before !== undefined && after !== undefined) return before === after;
  return deepEqual(previous, next);
}

/**
 * True when only what the agent itself writes changed: `status` and the resourceVersion that
 * came with it. Our own status writes come back as watch events; they must not rebuild the DAG.
 */
function onlyStatusChanged(previous: KubeObject, next: KubeObject): boolean {
  const { status: _before, metadata: beforeMeta, ...beforeRest } = previous;
  const { status: _after, metadata: afterMeta, ...afterRest } = next;
  const { resourceVersion: _rvBefore, ...beforeMetadata } = beforeMeta;
  const { resourceVersion: _rvAfter, ...afterMetadata } = afterMeta;
  return deepEqual(beforeRest, afterRest) && deepEqual(beforeMetadata, afterMetadata);
}

/** `previous` with `next`'s status and resourceVersion (the rest of the two is equal: onlyStatusChanged). */
function withStatusOf(previous: KubeObject, next: KubeObject): KubeObject {
  const { status: _previous, ...rest } = previous;
  const metadata = { ...previous.metadata, resourceVersion: next.metadata.resourceVersion };
  return next.status === undefined ? { ...rest, metadata } : { ...rest, metadata, status: next.status };
}

/** Slices of one Service (one namespace) in name order. */
function byName(a: KubeObject, b: KubeObject): number {
  return compareStrings(a.metadata.name, b.metadata.name);
}

function byKey(a: [string, KubeObject], b: [string, KubeObject]): number {
  return compareStrings(a[0], b[0]);
}

export function createObjectCache(options: ObjectCacheOptions): ObjectCache {
  const namespaces = options.watchNamespaces?.length ? new Set(options.watchNamespaces) : undefined;
  const stores = new Map<StoredKind, Map<string, KubeObject>>(storedKinds.map((k) => [k, new Map()]));
  const sortedCache = new Map<StoredKind, KubeObject[]>();
  const referenceCounts = new Map<ReferenceKey, number>();
  const referencesBy = new Map<string, ReferenceKey[]>(); // `Kind ns/name` of the referrer → what it names
  // Each Service's slices sorted by name (namespace → Service name → slices): one array per Service,
  // never changed, replaced when one of its slices changes (the build memo compares by identity);
  // keyed without joining the names (no key string per Service), as every build asks for every
  // Service. Not frozen: a frozen array costs JSC about four times a plain one (216 bytes, not 56).
  const slicesByService = new Map<string, Map<string, readonly KubeObject[]>>();
  let changes = new Set<string>();
  let endpointChanges = new Set<string>();

  function count(key: ReferenceKey, delta: number): void {
    const next = (referenceCounts.get(key) ?? 0) + delta;
    if (next > 0) referenceCounts.set(key, next);
    else referenceCounts.delete(key);
  }
  for (const pinned of [options.fallbackCertificate, options.upstreamClientCertificate]) {
    if (pinned) count(secretReference(pinned.namespace, pinned.name), 1);
  }

  function setReferences(referrer: string, next: ReferenceKey[]): void {
    const previous = referencesBy.get(referrer);
    if (previous) for (const key of previous) count(key, -1);
    for (const key of next) count(key, 1);
    if (next.length > 0) referencesBy.set(referrer, next);
    else referencesBy.delete(referrer);
  }

  /** Adds or removes a stored slice in its Service's list; the Service's `namespace/name`, or undefined when it names none. */
  function indexSlice(slice: KubeObject, add: boolean): string | undefined {
    const service = slice.metadata.labels?.[serviceNameLabel];
    if (!service) return undefined;
    const namespace = slice.metadata.namespace ?? "";
    let inNamespace = slicesByService.get(namespace);
    const name = slice.metadata.name;
    const others = (inNamespace?.get(service) ?? []).filter((other) => other.metadata.name !== name);
    const next = add ? [...others, slice].sort(byName) : others;
    if (next.length > 0) {
      if (!inNamespace) slicesByService.set(namespace, (inNamespace = new Map()));
      inNamespace.set(service, next);
    } else if (inNamespace) {
      inNamespace.delete(service);
      if (inNamespace.size === 0) slicesByService.delete(namespace);
    }
    return `${namespace}/${service}`;
  }

  /** What storing `next` (or removing, when undefined) under `key` means for the output. */
  function store(kind: StoredKind, key: string, previous: KubeObject | undefined, next: KubeObject | undefined) {
    const objects = stores.get(kind)!;
    if (next) objects.set(key, next);
    else objects.delete(key);
    changes.add(key);
    sortedCache.delete(kind);
    const name = key.slice(kind.length + 1);
    const namespace = name.slice(0, name.indexOf("/"));
    const objectName = name.slice(name.indexOf("/") + 1);
    switch (kind) {
      case "Ingress":
      case "HTTPProxy":
      case "TLSCertificateDelegation":
      case "Namespace":
      case "GatewayClass":
      case "Gateway":
      case "HTTPRoute":
      case "GRPCRoute":
      case "TLSRoute":
      case "TCPRoute":
      case "ReferenceGrant":
      case "BackendTLSPolicy":
        setReferences(key, next ? objectReferences(next) : []);
        return { affectsDag: true, affectsEndpoints: false };
      case "Service":
        return { affectsDag: referenceCounts.has(serviceReference(namespace, objectName)), affectsEndpoints: false };
      case "Secret":
        return { affectsDag: referenceCounts.has(secretReference(namespace, objectName)), affectsEndpoints: false };
      case "ConfigMap":
        return { affectsDag: referenceCounts.has(configMapReference(namespace, objectName)), affectsEndpoints: false };
      case "EndpointSlice": {
        const services = new Set<string>();
        if (previous) {
          const service = indexSlice(previous, false);
          if (service) services.add(service);
        }
        if (next) {
          const service = indexSlice(next, true);
          if (service) services.add(service);
        }
        for (const service of services) endpointChanges.add(service);
        return services.size === 0
          ? nothing
          : { affectsDag: false, affectsEndpoints: true, endpointServices: [...services].sort() };
      }
    }
  }

  /** Whether an upserted object belongs in the cache at all (class, Secret type). */
  function wanted(kind: StoredKind, object: KubeObject): boolean {
    if (kind === "Ingress" || kind === "HTTPProxy") return servesIngressClass(object, options.ingressClassNames);
    if (kind === "Secret") {
      const type = object.type;
      return type === undefined || (typeof type === "string" && keptSecretTypes.has(type));
    }
    return true;
  }

  function apply(event: SourceEvent): ApplyResult {
    const raw = event.object;
    if (!raw || typeof raw !== "object" || !raw.metadata?.name) return nothing;
    const kind = raw.kind as StoredKind;
    if (!stores.has(kind) || !apiVersionsOf.get(kind)?.has(raw.apiVersion)) return nothing;
    const scoped = clusterScopedWatchedKinds.has(kind); // kept without a namespace, whatever --watch-namespaces says
    const namespace = scoped ? "" : raw.metadata.namespace || "default";
    if (namespaces && !scoped && !namespaces.has(namespace)) return nothing;
    const key = scoped ? `${kind} ${raw.metadata.name}` : `${kind} ${namespace}/${raw.metadata.name}`;
    const previous = stores.get(kind)!.get(key);
    if (event.type === "delete" || !wanted(kind, raw)) {
      return previous ? store(kind, key, previous, undefined) : nothing;
    }
    let object = kind === "Namespace" ? namespaceLabels(raw) : kind === "ConfigMap" ? caBundleOnly(raw) : withoutManagedFields(raw);
    if (!scoped && object.metadata.namespace !== namespace) object = { ...object, metadata: { ...object.metadata, namespace } };
    if (previous && unchanged(previous, object)) return nothing;
    if (previous && onlyStatusChanged(previous, object)) {
      // Kept current for the status writer; the output cannot change. The previous object's fields
      // are kept, with the new status and resourceVersion: a status pass over 100k objects then
      // keeps two small objects each, not a whole new copy of every spec.
      stores.get(kind)!.set(key, withStatusOf(previous, object));
      sortedCache.delete(kind);
      return nothing;
    }
    return store(kind, key, previous, object);
  }

  function sorted(kind: StoredKind): KubeObject[] {
    let list = sortedCache.get(kind);
    if (!list) {
      list = [...stores.get(kind)!].sort(byKey).map(([, object]) => object);
      sortedCache.set(kind, list);
    }
    return list;
  }

  function lookup(kind: StoredKind, namespace: string, name: string): KubeObject | undefined {
    return stores.get(kind)!.get(`${kind} ${namespace}/${name}`);
  }

  return {
    apply,
    applyAll(events) {
      let affectsDag = false;
      let affectsEndpoints = false;
      const services = new Set<string>();
      for (const event of events) {
        const result = apply(event);
        affectsDag ||= result.affectsDag;
        affectsEndpoints ||= result.affectsEndpoints;
        for (const service of result.endpointServices ?? []) services.add(service);
      }
      return services.size > 0
        ? { affectsDag, affectsEndpoints, endpointServices: [...services].sort() }
        : { affectsDag, affectsEndpoints };
    },
    ingresses: () => sorted("Ingress"),
    httpProxies: () => sorted("HTTPProxy"),
    tlsCertificateDelegations: () => sorted("TLSCertificateDelegation"),
    services: () => sorted("Service"),
    secrets: () => sorted("Secret"),
    service: (namespace, name) => lookup("Service", namespace, name),
    secret: (namespace, name) => lookup("Secret", namespace, name),
    configMap: (namespace, name) => lookup("ConfigMap", namespace, name),
    ingress: (namespace, name) => lookup("Ingress", namespace, name),
    httpProxy: (namespace, name) => lookup("HTTPProxy", namespace, name),
    endpointSlices: (namespace, serviceName) => (slicesByService.get(namespace)?.get(serviceName) ?? []) as KubeObject[],
    endpointSlicesAll: () => sorted("EndpointSlice"),
    endpointSliceServices: () => [...slicesByService].flatMap(([namespace, services]) => [...services.keys()].map((service) => `${namespace}/${service}`)).sort(),
    isReferenced(kind, namespace, name) {
      const key = kind === "Secret" ? secretReference(namespace, name) : serviceReference(namespace, name);
      return referenceCounts.has(key);
    },
    gatewayApi() {
      const typed = <T>(kind: StoredKind) => sorted(kind) as unknown as T[];
      return {
        gatewayClasses: typed("GatewayClass"),
        gateways: typed("Gateway"),
        httpRoutes: typed("HTTPRoute"),
        grpcRoutes: typed("GRPCRoute"),
        tlsRoutes: typed("TLSRoute"),
        tcpRoutes: typed("TCPRoute"),
        referenceGrants: typed("ReferenceGrant"),
        backendTLSPolicies: typed("BackendTLSPolicy"),
        namespaces: sorted("Namespace").map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} })),
      };
    },
    takeEndpointChanges() {
      const taken = endpointChanges;
      endpointChanges = new Set();
      return taken;
    },
    takeChanges() {
      const taken = changes;
      changes = new Set();
      return taken;
    },
    counts() {
      const counts: Record<string, number> = {};
      for (const [kind, objects] of stores) counts[kind] = objects.size;
      return counts;
    },
  };
}
