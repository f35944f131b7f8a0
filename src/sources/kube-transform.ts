// What the Kubernetes source keeps of an object before it costs memory: managedFields and the
// last-applied annotation go, Secrets of other types than TLS and Opaque are dropped, and a Secret
// keeps only the data keys the DAG reads (an unreferenced Opaque Secret with a large payload then
// costs a few hundred bytes, not its payload). A ConfigMap keeps only `ca.crt` (a BackendTLSPolicy's
// CA bundle), whatever else it holds. No object keeps its uid (nothing reads it). Services,
// EndpointSlices and Secrets (most of a cluster's objects) keep only the fields the build reads, and with a string pool their repeated values
// (namespaces, paths, port lists, an Ingress's status) are one copy each: at 100k objects each
// copy would cost tens of MB.
import { deepFreeze, isRecord } from "../base/values.ts";
import type { KubeObject } from "./types.ts";

/** Secret types that can reach the cache. Helm releases and service-account tokens never do. */
export const keptSecretTypes: ReadonlySet<string> = new Set(["kubernetes.io/tls", "Opaque"]);

/** The field selector that keeps the largest unwanted Secrets off the wire. */
export const secretFieldSelector = "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token";

/** Secret data keys the DAG reads: certificate and key, CA bundle, CRL. */
export const keptSecretKeys: ReadonlySet<string> = new Set(["tls.crt", "tls.key", "ca.crt", "crl.pem"]);

/** The ConfigMap key a BackendTLSPolicy's CA bundle is read from (the Gateway API's). */
export const configMapCaKey = "ca.crt";

/** The EndpointSlice label naming its Service (the only label of a slice the build reads). */
const serviceNameLabel = "kubernetes.io/service-name";

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * One copy of each repeated value: a string, or a frozen JSON value (a slice's port list, an
 * endpoint's conditions) shared by every object that has an equal one. Bounded: past `limit`
 * distinct values, new ones are kept as they are.
 */
export interface StringPool {
  string(value: string): string;
  /** `value` or a frozen deep copy equal to it; `value` itself is not changed. */
  json<T>(value: T): T;
}

/** A pool of at most `limit` values of each sort (one per Kubernetes source). */
export function createStringPool(limit = 10_000): StringPool {
  const strings = new Map<string, string>();
  const values = new Map<string, unknown>();
  return {
    string(value) {
      const known = strings.get(value);
      if (known !== undefined) return known;
      if (strings.size < limit) strings.set(value, value);
      return value;
    },
    json<T>(value: T): T {
      const key = JSON.stringify(value);
      if (key === undefined) return value;
      const known = values.get(key);
      if (known !== undefined) return known as T;
      if (values.size >= limit) return value;
      const frozen = deepFreeze(JSON.parse(key)) as T;
      values.set(key, frozen);
      return frozen;
    },
  };
}

type Fields = Record<string, unknown>;

/**
 * A Service as the build reads it: ports, type, externalName, and annotations (upstream protocols,
 * circuit breakers); its status only when it carries load balancer addresses (the Envoy Service,
 * whose addresses become Ingress status). Selector, cluster IPs and labels are never read.
 */
function slimService(object: KubeObject, pool: StringPool): void {
  const { metadata } = object;
  delete metadata.labels;
  if (isRecord(object.spec)) {
    const { type, externalName, ports } = object.spec;
    const spec: Fields = {};
    if (type !== undefined) spec.type = typeof type === "string" ? pool.string(type) : type;
    if (externalName !== undefined) spec.externalName = externalName;
    if (ports !== undefined) spec.ports = pool.json(ports);
    object.spec = spec;
  }
  const ingress = (object.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress;
  if (!Array.isArray(ingress) || ingress.length === 0) delete object.status;
}

/**
 * An EndpointSlice as the endpoint translator reads it: address type, ports, and per endpoint its
 * addresses, readiness and zone (not its node, target reference or hints); of its labels only the
 * Service's name.
 */
function slimEndpointSlice(object: KubeObject, pool: StringPool): void {
  const { metadata } = object;
  const service = metadata.labels?.[serviceNameLabel];
  if (service === undefined) delete metadata.labels;
  else metadata.labels = { [serviceNameLabel]: service };
  delete metadata.annotations;
  delete metadata.generation;
  for (const field of Object.keys(object)) {
    if (field !== "apiVersion" && field !== "kind" && field !== "metadata" && field !== "addressType" && field !== "ports" && field !== "endpoints") delete object[field];
  }
  if (typeof object.addressType === "string") object.addressType = pool.string(object.addressType);
  if (object.ports !== undefined) object.ports = pool.json(object.ports);
  if (!Array.isArray(object.endpoints)) return;
  object.endpoints = object.endpoints.map((endpoint: unknown) => {
    if (!isRecord(endpoint)) return endpoint;
    const slim: Fields = { addresses: endpoint.addresses };
    const conditions = endpoint.conditions;
    if (isRecord(conditions)) slim.conditions = conditions.ready === true ? ready : conditions.ready === false ? notReady : pool.json(conditions.ready === undefined ? {} : { ready: conditions.ready });
    else if (conditions !== undefined) slim.conditions = conditions;
    if (endpoint.zone !== undefined) slim.zone = typeof endpoint.zone === "string" ? pool.string(endpoint.zone) : endpoint.zone;
    return slim;
  });
}

/**
 * An Ingress keeps every field (the build reads most of them); its repeated values are shared:
 * paths and path types, backend ports, and the status (the same load balancer address on each).
 */
function slimIngress(object: KubeObject, pool: StringPool): void {
  if (object.status !== undefined) object.status = pool.json(object.status);
  if (!isRecord(object.spec)) return;
  const { ingressClassName, rules } = object.spec;
  if (typeof ingressClassName === "string") object.spec.ingressClassName = pool.string(ingressClassName);
  if (!Array.isArray(rules)) return;
  for (const rule of rules) {
    const paths = isRecord(rule) && isRecord(rule.http) ? rule.http.paths : undefined;
    if (!Array.isArray(paths)) continue;
    for (const path of paths) {
      if (!isRecord(path)) continue;
      if (typeof path.path === "string") path.path = pool.string(path.path);
      if (typeof path.pathType === "string") path.pathType = pool.string(path.pathType);
      const service = isRecord(path.backend) ? path.backend.service : undefined;
      if (isRecord(service) && service.port !== undefined) service.port = pool.json(service.port);
    }
  }
}

// The conditions of nearly every endpoint, shared without a pool lookup.
const ready = deepFreeze({ ready: true });
const notReady = deepFreeze({ ready: false });

const withoutPool: StringPool = { string: (value) => value, json: (value) => value };

/**
 * Slims an object as received from the API server (in place: it was just parsed) and sets
 * apiVersion/kind, which list items of built-in types omit. undefined: drop the object. With a
 * `pool`, repeated values become shared copies (frozen, where they are objects).
 */
export function slimObject(object: KubeObject, apiVersion: string, kind: string, pool: StringPool = withoutPool): KubeObject | undefined {
  object.apiVersion = apiVersion;
  object.kind = kind;
  const metadata = object.metadata as KubeObject["metadata"] & { managedFields?: unknown };
  if (!metadata || typeof metadata.name !== "string") return undefined;
  delete metadata.managedFields;
  // Nothing reads an object's uid (the cache and the reflector go by namespace and name).
  delete metadata.uid;
  if (metadata.annotations && lastApplied in metadata.annotations) {
    delete metadata.annotations[lastApplied];
  }
  if (typeof metadata.namespace === "string") metadata.namespace = pool.string(metadata.namespace);
  if (kind === "Namespace") {
    // Only labels are read (allowedRoutes selectors): the rest would cost memory and rebuilds.
    delete object.spec;
    delete object.status;
  }
  if (kind === "Ingress") slimIngress(object, pool);
  if (kind === "Service") slimService(object, pool);
  if (kind === "EndpointSlice") slimEndpointSlice(object, pool);
  if (kind === "Secret") {
    const type = typeof object.type === "string" ? object.type : "Opaque";
    if (!keptSecretTypes.has(type)) return undefined;
    if (typeof object.type === "string") object.type = pool.string(object.type);
    const data = object.data as Record<string, string> | undefined;
    if (data) {
      for (const key of Object.keys(data)) if (!keptSecretKeys.has(key)) delete data[key];
    }
    delete object.stringData;
    delete metadata.labels;
  }
  if (kind === "ConfigMap") {
    delete metadata.labels;
    delete metadata.annotations;
    const data = object.data as Record<string, unknown> | undefined;
    const ca = data?.[configMapCaKey];
    object.data = typeof ca === "string" ? { [configMapCaKey]: ca } : {};
    delete object.binaryData;
  }
  return object;
}
