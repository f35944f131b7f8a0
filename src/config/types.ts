// The one typed global configuration that Contour's configuration file (`serve --config-path`) and
// its ContourConfiguration resource (`serve --contour-config-name`) both map onto, with Contour
// 1.33's defaults. The translator and the DAG read it; nothing downstream knows which form it came from.
import type { CircuitBreakers, TlsVersion } from "../dag/types.ts";

export type AccessLogFormat = "envoy" | "json";
/** info logs every request, error those answered >= 300 or with a response flag, critical >= 500. */
export type AccessLogLevel = "info" | "error" | "critical" | "disabled";
export type CompressionAlgorithm = "gzip" | "brotli" | "zstd" | "disabled";
export type ServerHeaderTransformation = "overwrite" | "append_if_absent" | "pass_through";
export type HttpVersion = "http/1.1" | "http/2";
export type ClusterDnsLookupFamily = "auto" | "v4" | "v6" | "all";

export interface SecretName {
  namespace: string;
  name: string;
}

/** A global header policy: headers set (overwritten) and removed. */
export interface GlobalHeadersPolicy {
  set: Record<string, string>;
  remove: string[];
}

export interface Timeouts {
  /** Whole-request timeout; 0 disables it. */
  requestMs: number;
  connectionIdleMs: number;
  streamIdleMs: number;
  /** 0: no maximum. */
  maxConnectionDurationMs: number;
  /** 0 disables the delayed close. */
  delayedCloseMs: number;
  /** Envoy's drain_timeout: the grace period after a GOAWAY before the connection is closed. */
  connectionShutdownGracePeriodMs: number;
  /** Upstream connect timeout. */
  connectMs: number;
}

export interface AccessLog {
  format: AccessLogFormat;
  /** A custom format (envoy format only), ending in a newline. */
  formatString?: string;
  /** JSON field name → Envoy command operator (json format only). */
  jsonFields: Record<string, string>;
  level: AccessLogLevel;
}

export interface ListenerLimits {
  useProxyProtocol: boolean;
  /** IP_TOS (IPv4) and IPV6_TCLASS (IPv6); 0 leaves them alone. */
  socketOptions: { tos: number; trafficClass: number };
  maxRequestsPerConnection?: number;
  perConnectionBufferLimitBytes?: number;
  http2MaxConcurrentStreams?: number;
  /** Enforced through Envoy's runtime (the bootstrap's static layer), as Contour does through RTDS. */
  maxConnectionsPerListener?: number;
  /** Likewise a runtime key (http.max_requests_per_io_cycle). */
  maxRequestsPerIoCycle?: number;
  maxConnectionsToAcceptPerSocketEvent?: number;
  /** "exact": Envoy balances connections across worker threads exactly. */
  connectionBalancer?: "exact";
}

export interface ClusterDefaults {
  dnsLookupFamily: ClusterDnsLookupFamily;
  /** Applied to every cluster whose Service sets no circuit breaker annotation. */
  circuitBreakers?: CircuitBreakers;
  maxRequestsPerConnection?: number;
  perConnectionBufferLimitBytes?: number;
  /** TLS towards upstreams that speak TLS; absent: Envoy's defaults. */
  upstreamTls?: { minVersion: TlsVersion; maxVersion: TlsVersion; cipherSuites: string[] };
}

/** An Envoy listener's address and port, when the configuration gives them (ContourConfiguration only). */
export interface ListenerAddress {
  address?: string;
  port?: number;
}

export interface GlobalConfig {
  timeouts: Timeouts;
  accessLog: AccessLog;
  /** The TLS versions and TLS 1.2 cipher suites of every terminating filter chain (a host may narrow them). */
  tls: { minVersion: TlsVersion; maxVersion: TlsVersion; cipherSuites: string[] };
  fallbackCertificate?: SecretName;
  clientCertificate?: SecretName;
  /** Empty: both (codec AUTO, ALPN h2 and http/1.1). */
  defaultHttpVersions: HttpVersion[];
  serverHeaderTransformation: ServerHeaderTransformation;
  mergeSlashes: boolean;
  allowChunkedLength: boolean;
  numTrustedHops: number;
  stripTrailingHostDot: boolean;
  compression: CompressionAlgorithm;
  policy: { requestHeaders: GlobalHeadersPolicy; responseHeaders: GlobalHeadersPolicy; applyToIngress: boolean };
  disablePermitInsecure: boolean;
  enableExternalNameService?: boolean;
  cluster: ClusterDefaults;
  listener: ListenerLimits;
  /** Only from a ContourConfiguration: Envoy's listeners. */
  http: ListenerAddress;
  https: ListenerAddress;
  stats: ListenerAddress;
  rootNamespaces?: string[];
  ingressClassNames?: string[];
  ingressStatusAddress?: string;
  envoyService?: SecretName;
  /** The one Gateway this agent serves (`gateway.gatewayRef`; `--gateway-ref`). */
  gatewayRef?: SecretName;
}

export { ConfigError } from "./error.ts";
