// The Gateway API objects the DAG reads (gateway.networking.k8s.io), typed after the upstream API
// (v1.3; the later versions the sources accept are compatible for these fields). Optional where
// the CRD makes a field optional or defaults it: an API server fills defaults in, manifests may not.
// Objects reach these types only after their schema check (manifest mode) or the API server's.
import type { ObjectMeta } from "../sources/types.ts";

/** A Kubernetes condition as it is written into status (metav1.Condition). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

interface Object<Kind extends string, Spec> {
  apiVersion: string;
  kind: Kind;
  metadata: ObjectMeta;
  spec: Spec;
  status?: { conditions?: Condition[]; [field: string]: unknown };
}

export interface ParentReference {
  group?: string; // default gateway.networking.k8s.io
  kind?: string; // default Gateway
  namespace?: string; // default: the route's
  name: string;
  sectionName?: string;
  port?: number;
}

/** A reference to a Secret (certificateRefs) or another object; `group` "" is the core group. */
export interface ObjectReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
}

export interface BackendRef extends ObjectReference {
  port?: number;
  weight?: number; // default 1
  filters?: HTTPRouteFilter[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

export interface GatewayClassSpec {
  controllerName: string;
  parametersRef?: ObjectReference;
  description?: string;
}

export interface Listener {
  name: string;
  hostname?: string;
  port: number;
  protocol: string; // HTTP, HTTPS, TLS, TCP, UDP, or a domain-prefixed extension
  tls?: { mode?: "Terminate" | "Passthrough"; certificateRefs?: ObjectReference[]; options?: Record<string, string> };
  allowedRoutes?: {
    namespaces?: { from?: "All" | "Same" | "Selector"; selector?: LabelSelector };
    kinds?: Array<{ group?: string; kind: string }>;
  };
}

export interface GatewaySpec {
  gatewayClassName: string;
  listeners: Listener[];
  addresses?: Array<{ type?: string; value: string }>;
  infrastructure?: Record<string, unknown>;
}

export interface HTTPHeaderMatch {
  type?: "Exact" | "RegularExpression";
  name: string;
  value: string;
}

export interface HTTPRouteMatch {
  path?: { type?: "Exact" | "PathPrefix" | "RegularExpression"; value?: string };
  headers?: HTTPHeaderMatch[];
  queryParams?: HTTPHeaderMatch[];
  method?: string;
}

export interface HTTPHeaderFilter {
  set?: Array<{ name: string; value: string }>;
  add?: Array<{ name: string; value: string }>;
  remove?: string[];
}

export interface HTTPPathModifier {
  type: "ReplaceFullPath" | "ReplacePrefixMatch";
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRouteFilter {
  type: string; // RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror, CORS, ExtensionRef
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestRedirect?: { scheme?: string; hostname?: string; path?: HTTPPathModifier; port?: number; statusCode?: number };
  urlRewrite?: { hostname?: string; path?: HTTPPathModifier };
  requestMirror?: { backendRef: BackendRef; percent?: number; fraction?: { numerator: number; denominator?: number } };
  cors?: HTTPCORSFilter;
  extensionRef?: ObjectReference;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: BackendRef[];
  timeouts?: { request?: string; backendRequest?: string };
  sessionPersistence?: SessionPersistenceSpec;
}

export interface HTTPCORSFilter {
  allowOrigins?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
  allowCredentials?: boolean;
}

export interface SessionPersistenceSpec {
  sessionName?: string;
  absoluteTimeout?: string;
  idleTimeout?: string;
  type?: "Cookie" | "Header";
  cookieConfig?: { lifetimeType?: "Permanent" | "Session" };
}

export interface RouteSpec<Rule> {
  parentRefs?: ParentReference[];
  hostnames?: string[];
  rules?: Rule[];
}

export interface GRPCRouteRule {
  name?: string;
  matches?: Array<{ method?: { type?: "Exact" | "RegularExpression"; service?: string; method?: string }; headers?: HTTPHeaderMatch[] }>;
  filters?: HTTPRouteFilter[];
  backendRefs?: BackendRef[];
}

/** TLSRoute and TCPRoute rules: backends only. */
export interface StreamRouteRule {
  name?: string;
  backendRefs?: BackendRef[];
}

export interface ReferenceGrantSpec {
  from: Array<{ group: string; kind: string; namespace: string }>;
  to: Array<{ group: string; kind: string; name?: string }>;
}

export interface BackendTLSPolicySpec {
  targetRefs: Array<{ group: string; kind: string; name: string; sectionName?: string }>;
  validation: {
    caCertificateRefs?: ObjectReference[]; // ConfigMap or Secret, in the policy's namespace
    wellKnownCACertificates?: string; // "System", or an implementation's own name
    hostname: string;
    subjectAltNames?: Array<{ type: "Hostname" | "URI"; hostname?: string; uri?: string }>;
  };
  options?: Record<string, string>;
}

export type GatewayClass = Object<"GatewayClass", GatewayClassSpec>;
export type Gateway = Object<"Gateway", GatewaySpec>;
export type HTTPRoute = Object<"HTTPRoute", RouteSpec<HTTPRouteRule>>;
export type GRPCRoute = Object<"GRPCRoute", RouteSpec<GRPCRouteRule>>;
/** TLSRoute: `hostnames` are SNI names. */
export type TLSRoute = Object<"TLSRoute", RouteSpec<StreamRouteRule>>;
export type TCPRoute = Object<"TCPRoute", Omit<RouteSpec<StreamRouteRule>, "hostnames">>;
export type ReferenceGrant = Object<"ReferenceGrant", ReferenceGrantSpec>;
export type BackendTLSPolicy = Object<"BackendTLSPolicy", BackendTLSPolicySpec>;
/** A Namespace as the sources keep it: name and labels only (for allowedRoutes selectors). */
export interface NamespaceLabels {
  name: string;
  labels: Record<string, string>;
}

/** Every Gateway API object in the cache, sorted by namespace/name, as the sources delivered them. */
export interface GatewayApiObjects {
  gatewayClasses: GatewayClass[];
  gateways: Gateway[];
  httpRoutes: HTTPRoute[];
  grpcRoutes: GRPCRoute[];
  tlsRoutes: TLSRoute[];
  tcpRoutes: TCPRoute[];
  referenceGrants: ReferenceGrant[];
  backendTLSPolicies: BackendTLSPolicy[];
  namespaces: NamespaceLabels[];
}
