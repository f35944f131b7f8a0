// The routing DAG: what every input API (Ingress, HTTPProxy, later Gateway API) is reduced to, and
// all the translator (src/envoy/) reads. Plain data, no Envoy types: processors fill it, the
// translator turns it into Envoy v3 resources. Modelled on Contour's internal/dag.
import type { ObjectRef, StatusRecorder } from "./status.ts";

/** The Kubernetes Service port a route sends to. */
export interface ServicePortRef {
  namespace: string;
  name: string; // Service name
  port: number; // Service port number
  portName: string; // Service port name ("" when unnamed)
  targetPort?: number | string;
}

export type UpstreamProtocol = "http1" | "h2" | "h2c" | "tls";

export type LoadBalancerStrategy = "RoundRobin" | "WeightedLeastRequest" | "Random" | "Cookie" | "RequestHash";

export interface RequestHashPolicy {
  headerName?: string;
  queryParameterName?: string;
  hashSourceIP?: boolean;
  terminal?: boolean;
}

export interface HealthCheckPolicy {
  path: string;
  host?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  unhealthyThresholdCount: number;
  healthyThresholdCount: number;
  expectedStatuses?: Array<{ start: number; end: number }>;
}

export interface TcpHealthCheckPolicy {
  intervalSeconds: number;
  timeoutSeconds: number;
  unhealthyThresholdCount: number;
  healthyThresholdCount: number;
}

/** Upstream TLS validation: a CA bundle (PEM) and the subject names (DNS; URI from a BackendTLSPolicy) the certificate must carry one of. */
export interface UpstreamValidation {
  caSecret: Secret;
  subjectNames: string[];
  uriSubjectNames?: string[];
}

export interface CircuitBreakers {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
  perHostMaxConnections?: number;
}

/**
 * One upstream cluster. Two routes sending to the same Service port with the same settings share
 * one Cluster: `name` is derived from everything that changes the Envoy Cluster.
 */
export interface Cluster {
  /** Envoy cluster name: `namespace/service/port/hash` (hash of the settings, 10 hex chars). */
  name: string;
  /** The EDS service name shared by clusters of one Service port: `namespace/service/portName-or-port`. */
  edsServiceName: string;
  service: ServicePortRef;
  protocol: UpstreamProtocol;
  /** ExternalName Services become STRICT_DNS clusters of this host instead of EDS. */
  externalName?: string;
  loadBalancer: LoadBalancerStrategy;
  healthCheck?: HealthCheckPolicy;
  tcpHealthCheck?: TcpHealthCheckPolicy;
  validation?: UpstreamValidation;
  /** SNI sent to a TLS upstream. */
  sni?: string;
  circuitBreakers?: CircuitBreakers;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Client certificate presented to TLS upstreams (Contour's envoy-client-certificate). */
  clientCertificate?: Secret;
  /** Health checks go to this Service port's endpoints instead (HTTPProxy `healthPort`). */
  healthPort?: Omit<ServicePortRef, "namespace" | "name">;
  /** New endpoints get a growing share of traffic during a window (HTTPProxy `slowStartPolicy`). */
  slowStart?: SlowStart;
}

/** Envoy's slow_start_config: weight grows from minWeightPercent to full over the window. */
export interface SlowStart {
  windowMs: number;
  aggression: number;
  minWeightPercent: number;
}

export interface HeaderValue {
  name: string;
  value: string; // passed to Envoy as data; `%` already escaped by the processor
}

export interface HeadersPolicy {
  set: HeaderValue[];
  add: HeaderValue[];
  remove: string[];
  hostRewrite?: string;
}

/** A weighted backend of a route. */
export interface WeightedCluster {
  cluster: Cluster;
  weight: number;
  requestHeaders?: HeadersPolicy;
  responseHeaders?: HeadersPolicy;
  cookieRewrites?: CookieRewritePolicy[];
}

export type PathMatch =
  | { kind: "prefix"; value: string; segment: boolean } // segment: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`
  | { kind: "exact"; value: string }
  | { kind: "regex"; value: string };

export interface HeaderMatch {
  name: string;
  match:
    | { kind: "present" }
    | { kind: "notpresent" }
    | { kind: "exact"; value: string; ignoreCase?: boolean }
    | { kind: "contains"; value: string; ignoreCase?: boolean }
    | { kind: "regex"; value: string };
  invert?: boolean; // notexact, notcontains
  /** With invert: a missing header counts as the empty string (so `notcontains: x` matches it). */
  treatMissingAsEmpty?: boolean;
}

export interface QueryParamMatch {
  name: string;
  match:
    | { kind: "exact"; value: string; ignoreCase?: boolean }
    | { kind: "prefix"; value: string; ignoreCase?: boolean }
    | { kind: "suffix"; value: string; ignoreCase?: boolean }
    | { kind: "contains"; value: string; ignoreCase?: boolean }
    | { kind: "regex"; value: string }
    | { kind: "present" };
}

export interface TimeoutPolicy {
  /** Response timeout in ms; 0 disables the timeout ("infinity"); undefined keeps Envoy's default. */
  responseMs?: number;
  idleMs?: number;
  idleConnectionMs?: number;
}

export interface RetryPolicy {
  retryOn: string[]; // Envoy retry_on conditions: "5xx", "gateway-error", "reset", …
  numRetries: number;
  perTryTimeoutMs?: number;
  retriableStatusCodes?: number[];
}

export interface MirrorPolicy {
  cluster: Cluster;
  weightPercent: number; // 0–100
}

export interface CookieRewritePolicy {
  name: string;
  pathRewrite?: string;
  domainRewrite?: string;
  secure?: boolean;
  sameSite?: "Strict" | "Lax" | "None";
}

export interface PathRewrite {
  /** Replace the matched prefix with this. */
  prefixReplacement?: string;
  /** Replace the whole path. */
  fullReplacement?: string;
}

export interface Redirect {
  scheme?: "http" | "https";
  hostname?: string;
  port?: number;
  path?: string;
  prefix?: string;
  statusCode: 301 | 302 | 303 | 307 | 308;
}

export type DirectResponse = { statusCode: number; body?: string };

export interface InternalRedirectPolicy {
  maxInternalRedirects?: number;
  redirectResponseCodes: number[];
  allowCrossSchemeRedirect: "Always" | "Never" | "SafeOnly";
  denyRepeatedRouteRedirect?: boolean;
}

/** One route of a virtual host. Exactly one of clusters, redirect, directResponse is the action. */
export interface Route {
  pathMatch: PathMatch;
  headerMatches: HeaderMatch[];
  queryParamMatches: QueryParamMatch[];
  clusters: WeightedCluster[];
  /**
   * The weight of backends that do not resolve (Gateway API backendRefs): that share of requests
   * answers 500, beside `clusters`' shares.
   */
  invalidBackendWeight?: number;
  redirect?: Redirect;
  directResponse?: DirectResponse;
  /** Plain-HTTP route of a TLS virtual host: answer with a 301 to https instead of routing. */
  httpsRedirect?: boolean;
  websocket?: boolean;
  timeout?: TimeoutPolicy;
  retry?: RetryPolicy;
  mirrors: MirrorPolicy[];
  requestHeaders?: HeadersPolicy;
  responseHeaders?: HeadersPolicy;
  pathRewrite?: PathRewrite;
  internalRedirect?: InternalRedirectPolicy;
  cookieRewrites?: CookieRewritePolicy[];
  requestHashPolicies?: RequestHashPolicy[];
  /** Cookie load balancing (sticky sessions). */
  cookieHash?: boolean;
  /** Per-route local rate limit (HTTPProxy routes[].rateLimitPolicy.local). */
  rateLimit?: LocalRateLimitPolicy;
  /** Per-route IP allow/deny filter (HTTPProxy routes[].ipAllowPolicy / ipDenyPolicy). */
  ipFilter?: IpFilterPolicy;
  cors?: CorsPolicy; // Gateway API's CORS filter: this route's own, over its host's
  sessionPersistence?: SessionPersistence; // Gateway API's, by Envoy's stateful session filter
  /** The object that produced this route: NACKs and validation failures are reported on it. */
  source: ObjectRef;
  /**
   * Among routes with equal matches, the lower goes first (Gateway API: the oldest route wins);
   * without it, the sources' names decide.
   */
  precedence?: number;
}

export interface CorsPolicy {
  allowOrigin: string[]; // "*" or exact origins; regexes were RE2-checked by the processor
  allowOriginRegex?: boolean[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge?: string; // Envoy form, seconds
  allowCredentials: boolean;
  allowPrivateNetwork?: boolean;
}

/** A session kept in a cookie (`ttlMs`: its Max-Age; none, a session cookie) or in a request/response header. */
export type SessionPersistence = { kind: "cookie"; name: string; path: string; ttlMs?: number } | { kind: "header"; name: string };

export interface LocalRateLimitPolicy {
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
  responseStatusCode?: number;
  responseHeaders?: HeaderValue[];
}

export interface IpFilterRule {
  cidr: string; // "10.0.0.0/8", "2001:db8::/32"
  remote: boolean; // match the remote address (true) or the direct peer (false)
}

export interface IpFilterPolicy {
  allow: boolean; // true: allow-list, false: deny-list
  rules: IpFilterRule[];
}

/** A plaintext (port 8080) virtual host. `name` is the fqdn, `*` for the default catch-all. */
export interface VirtualHost {
  name: string;
  routes: Route[];
  cors?: CorsPolicy;
  rateLimit?: LocalRateLimitPolicy;
  ipFilter?: IpFilterPolicy;
  /** The objects that produced this virtual host (several Ingresses may share a host). */
  sources: ObjectRef[];
}

/** A TLS Secret, validated by the processor that referenced it. */
export interface Secret {
  /** Envoy SDS name: `namespace/name/hash-of-content` (so rotated content is a new resource). */
  name: string;
  ref: ObjectRef;
  /** PEM. For a CA-only secret, `certificateChain` holds the CA bundle and privateKey is empty. */
  certificateChain: string;
  privateKey: string;
  /** Present on CA secrets and CRL secrets used for validation. */
  kind: "tls" | "ca" | "crl";
  /** A CA secret joined with a CRL (listeners.ts): the CRL's PEM, served in the same SDS validation context. */
  crl?: string;
}

export interface DownstreamValidation {
  caSecret?: Secret;
  skipClientCertValidation: boolean;
  optionalClientCertificate: boolean;
  crlSecret?: Secret;
  crlOnlyVerifyLeafCert?: boolean;
  forwardClientCertificate?: { subject: boolean; cert: boolean; chain: boolean; dns: boolean; uri: boolean };
}

export type TlsVersion = "1.2" | "1.3";

export type TcpProxy = { clusters: WeightedCluster[] };

/** A TLS (port 8443) virtual host: its own filter chain, matched by SNI. */
export interface SecureVirtualHost extends VirtualHost {
  secret?: Secret; // absent only for passthrough
  minTlsVersion: TlsVersion;
  maxTlsVersion: TlsVersion;
  /** TLS passthrough: no termination, SNI-routed straight to tcpProxy. */
  passthrough: boolean;
  tcpProxy?: TcpProxy;
  downstreamValidation?: DownstreamValidation;
  /** Serve the fallback certificate to clients that send no SNI. */
  fallbackCertificate?: boolean;
}

/** A listener's protocol: plaintext HTTP, TLS (terminated, or passed through by SNI), or plain TCP proxied as is (a Gateway's TCP listener). */
export type ListenerProtocol = "http" | "https" | "tcp";

/** One filter chain of the TLS listener: a TLS virtual host, matched by its SNI name. */
export interface SecureFilterChain {
  /** The filter chain's name. */
  name: string;
  virtualHost: SecureVirtualHost;
  /** Its own route configuration, when it routes HTTP (not a TCP proxy, not passthrough). */
  routeConfigName?: string;
  /**
   * The one secret the chain fetches over SDS to validate client certificates: the CA, or the CA
   * joined with the CRL (Envoy takes one SDS validation context per chain).
   */
  clientValidationSecret?: Secret;
}

/** The chain for TLS clients without SNI (or an unknown one): the fallback certificate. */
export interface FallbackFilterChain {
  name: string;
  secret: Secret;
  routeConfigName: string;
  /** The TLS virtual hosts whose routes it serves, sorted by name. */
  virtualHosts: SecureVirtualHost[];
}

/**
 * A listener on Envoy, made by the builder's last pass (listeners.ts): what it serves is decided
 * there and only there. Accessors (accessors.ts) answer what is reachable from the listeners.
 */
export interface Listener {
  name: string;
  protocol: ListenerProtocol;
  address: string;
  port: number;
  /** HTTP: the route configuration of all its virtual hosts. */
  routeConfigName?: string;
  /** HTTP: the served virtual hosts (each with at least one route), sorted by name. */
  virtualHosts: VirtualHost[];
  /** TLS: one chain per served TLS virtual host, sorted by name. */
  filterChains: SecureFilterChain[];
  /** TLS: the fallback certificate's chain, when a served host allows clients without SNI. */
  fallback?: FallbackFilterChain;
  /** TCP: where its one filter chain proxies connections, and the objects (TCPRoutes) that said so. */
  tcpProxy?: TcpProxy & { sources: ObjectRef[] };
}

/** The whole DAG of one build. Maps are keyed by fqdn (lower-case; `*` for the default host). */
export interface Dag {
  virtualHosts: Map<string, VirtualHost>;
  secureVirtualHosts: Map<string, SecureVirtualHost>;
  /** Every cluster any route, mirror or tcpProxy uses, by cluster name. */
  clusters: Map<string, Cluster>;
  /** Every secret a secure virtual host or cluster uses, by SDS name. */
  secrets: Map<string, Secret>;
  /** Fallback certificate, when configured and used by at least one virtual host. */
  fallbackSecret?: Secret;
  /** What Envoy listens on and serves, HTTP first; set by the builder's last pass (listeners.ts). */
  listeners: Listener[];
  status: StatusRecorder;
}

/** A Service port resolved for a backend reference. */
export interface ResolvedService extends ServicePortRef {
  /** From the port's appProtocol when set (Contour's mapping), else `projectcontour.io/upstream-protocol.{h2,h2c,tls}` on the Service. */
  serviceProtocol?: UpstreamProtocol;
  /** An appProtocol Contour does not map: the port is spoken to as HTTP/1.1, and this says so in a warning. */
  appProtocolProblem?: string;
  externalName?: string;
  /** From the `projectcontour.io/max-connections` family on the Service. */
  circuitBreakers?: Cluster["circuitBreakers"];
  /** Service annotations that did not parse and were ignored (`projectcontour.io/<name>: why`), for a warning. */
  annotationProblems?: string[];
}
