// The contract between where objects come from (a manifest directory, Kubernetes informers) and the
// rest of the pipeline. Both sources implement Source; the object cache consumes SourceEvents.

/** The Kubernetes object metadata the pipeline reads. managedFields never get this far. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

/** Any Kubernetes object, as parsed from YAML/JSON or received from the API server. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** The kinds the pipeline consumes, by `apiVersion` group and `kind`. */
export const watchedKinds = [
  { group: "networking.k8s.io", version: "v1", kind: "Ingress", plural: "ingresses" },
  { group: "networking.k8s.io", version: "v1", kind: "IngressClass", plural: "ingressclasses", clusterScoped: true },
  { group: "", version: "v1", kind: "Service", plural: "services" },
  { group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices" },
  { group: "", version: "v1", kind: "Secret", plural: "secrets" },
  // Only for BackendTLSPolicy CA bundles (`ca.crt`); the cache keeps nothing else of them.
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps" },
  { group: "", version: "v1", kind: "Namespace", plural: "namespaces", clusterScoped: true },
  { group: "projectcontour.io", version: "v1", kind: "HTTPProxy", plural: "httpproxies" },
  { group: "projectcontour.io", version: "v1", kind: "TLSCertificateDelegation", plural: "tlscertificatedelegations" },
  // Gateway API. `versions`: every apiVersion accepted, newest first; `version` is the one preferred
  // when the API server serves several (the Kubernetes source asks it which it serves).
  { group: "gateway.networking.k8s.io", version: "v1", kind: "GatewayClass", plural: "gatewayclasses", clusterScoped: true },
  { group: "gateway.networking.k8s.io", version: "v1", kind: "Gateway", plural: "gateways" },
  { group: "gateway.networking.k8s.io", version: "v1", kind: "HTTPRoute", plural: "httproutes" },
  { group: "gateway.networking.k8s.io", version: "v1", kind: "GRPCRoute", plural: "grpcroutes" },
  { group: "gateway.networking.k8s.io", version: "v1", versions: ["v1", "v1beta1"], kind: "ReferenceGrant", plural: "referencegrants" },
  { group: "gateway.networking.k8s.io", version: "v1", versions: ["v1", "v1alpha2"], kind: "TLSRoute", plural: "tlsroutes" },
  { group: "gateway.networking.k8s.io", version: "v1", versions: ["v1", "v1alpha2"], kind: "TCPRoute", plural: "tcproutes" },
  { group: "gateway.networking.k8s.io", version: "v1", versions: ["v1", "v1alpha3"], kind: "BackendTLSPolicy", plural: "backendtlspolicies" },
] as const;

/** The watched kinds that live outside namespaces. */
export const clusterScopedWatchedKinds: ReadonlySet<string> = new Set(watchedKinds.filter((k) => "clusterScoped" in k && k.clusterScoped).map((k) => k.kind));

/** Every apiVersion (`group/version`, or `v1` for the core group) accepted for a kind. */
export function acceptedApiVersions(kind: (typeof watchedKinds)[number]): string[] {
  const versions: readonly string[] = "versions" in kind ? kind.versions : [kind.version];
  return versions.map((version) => (kind.group === "" ? version : `${kind.group}/${version}`));
}

export type WatchedKind = (typeof watchedKinds)[number]["kind"];

/** Where an object came from, for error messages: a file and line, or an API server. */
export interface ObjectOrigin {
  source: string; // "manifests" | "kubernetes"
  file?: string;
  line?: number;
}

export type SourceEvent =
  | { type: "upsert"; object: KubeObject; origin?: ObjectOrigin }
  | { type: "delete"; object: KubeObject; origin?: ObjectOrigin };

/** A problem a source met that is not fatal: a file that does not parse, a watch that failed. */
export interface SourceProblem {
  source: string;
  message: string; // names the file and line, or the resource and the error
  file?: string;
  line?: number;
}

export interface SourceHandler {
  /** A batch of changes. A batch of one is fine; a re-list may deliver many at once. */
  onEvents(events: SourceEvent[]): void;
  /** Called once, when every kind this source serves has been listed at least once. */
  onSynced(): void;
  /** A non-fatal problem; the source keeps going. */
  onProblem(problem: SourceProblem): void;
}

export interface Source {
  readonly name: string;
  /** Starts listing and watching. Resolves once started (not once synced). */
  start(handler: SourceHandler): Promise<void>;
  /** Stops every watch and timer; resolves when nothing more will be delivered. */
  stop(): Promise<void>;
}

/** `namespace/name`, the key every cache and status map uses. Cluster-scoped: just the name. */
export function objectKey(object: { metadata: ObjectMeta }): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

/** `Kind namespace/name`, the unique key across kinds. */
export function kindKey(object: { kind: string; metadata: ObjectMeta }): string {
  return `${object.kind} ${objectKey(object)}`;
}
