// Contour 1.33's configuration file (`contour serve --config-path`, the `contour` ConfigMap's
// contour.yaml) onto the typed GlobalConfig. Keys are Contour's; a key Contour does not have is an
// error naming it (Contour's decoder rejects unknown fields too), and a setting isobar does not
// implement is refused by name when set.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { checkShape, Reader, refused, type Shape } from "./read.ts";
import { type ClusterDefaults, type ClusterDnsLookupFamily, ConfigError, type GlobalConfig, type HttpVersion, type ListenerLimits, type Timeouts } from "./types.ts";
import { defaultGlobalConfig } from "./defaults.ts";
import { checkFormatString, cipherSuites, defaultJsonFields, headersPolicy, jsonFieldMap, secretName, tlsVersions } from "./values.ts";

const asFlag = "give it as a serve flag";
const circuitBreakerKeys: Shape = { "max-connections": true, "max-pending-requests": true, "max-requests": true, "max-retries": true, "per-host-max-connections": true };
const headers: Shape = { set: true, remove: true };
const namespacedName: Shape = { name: true, namespace: true };

/** Every key of Contour's configuration file. */
const fileShape: Shape = {
  debug: true,
  incluster: true,
  kubeconfig: true,
  kubernetesClientQPS: true,
  kubernetesClientBurst: true,
  server: {},
  gateway: { gatewayRef: namespacedName },
  "ingress-status-address": true,
  "accesslog-format": true,
  "accesslog-format-string": true,
  "json-fields": true,
  "accesslog-level": true,
  tls: {
    "minimum-protocol-version": true,
    "maximum-protocol-version": true,
    "cipher-suites": true,
    "ecdh-curves": refused("Envoy's default curves are used"),
    "fallback-certificate": namespacedName,
    "envoy-client-certificate": namespacedName,
    fingerprint: refused(""),
  },
  disablePermitInsecure: true,
  disableAllowChunkedLength: true,
  disableMergeSlashes: true,
  compression: { algorithm: true },
  serverHeaderTransformation: true,
  enableExternalNameService: true,
  timeouts: {
    "request-timeout": true,
    "connection-idle-timeout": true,
    "stream-idle-timeout": true,
    "max-connection-duration": true,
    "delayed-close-timeout": true,
    "connection-shutdown-grace-period": true,
    "connect-timeout": true,
  },
  policy: { "request-headers": headers, "response-headers": headers, applyToIngress: true },
  "envoy-service-namespace": true,
  "envoy-service-name": true,
  "default-http-versions": true,
  cluster: {
    "dns-lookup-family": true,
    "max-requests-per-connection": true,
    "per-connection-buffer-limit-bytes": true,
    "circuit-breakers": circuitBreakerKeys,
    "upstream-tls": { "minimum-protocol-version": true, "maximum-protocol-version": true, "cipher-suites": true, "ecdh-curves": refused("Envoy's default curves are used") },
  },
  network: {
    "num-trusted-hops": true,
    "admin-port": refused("Envoy's admin listens on a unix socket only"),
    "strip-trailing-host-dot": true,
  },
  listener: {
    "connection-balancer": true,
    "max-requests-per-connection": true,
    "per-connection-buffer-limit-bytes": true,
    "socket-options": { tos: true, "traffic-class": true },
    "max-requests-per-io-cycle": true,
    "http2-max-concurrent-streams": true,
    "max-connections-per-listener": true,
    "max-connections-to-accept-per-socket-event": true,
  },
  rateLimitService: refused(""),
  globalExtAuth: refused(""),
  metrics: refused(`TLS and addresses for metrics: ${asFlag} (--http-address, --http-port)`),
  tracing: refused(""),
  featureFlags: refused("isobar has no feature flags"),
  omEnforcedHealthListener: refused(""),
  "runtime-settings": refused(""),
};

/** Settings of the file that are serve flags too; serve applies them where no flag was given. */
export interface FileFlagSettings {
  debug?: boolean;
  incluster?: boolean;
  kubeconfig?: string;
}

export interface LoadedConfig {
  config: GlobalConfig;
  flags: FileFlagSettings;
  /** Settings given that change nothing in isobar, each with why (logged, as the matching flags are). */
  ignored: string[];
}

/** Reads and checks the configuration file at `path`; throws ConfigError with one line naming the file and the setting. */
export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(`${path} is not YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  try {
    return configFromFile(document);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${path}: ${error.message}`);
    throw error;
  }
}

/** The typed configuration a parsed configuration file gives (Contour's defaults for what it leaves out). */
export function configFromFile(document: unknown): LoadedConfig {
  checkShape(document, fileShape);
  const r = new Reader(document);
  const config = defaultGlobalConfig();
  readTimeouts(r, "timeouts", ["request-timeout", "connection-idle-timeout", "stream-idle-timeout", "max-connection-duration", "delayed-close-timeout", "connection-shutdown-grace-period", "connect-timeout"], config.timeouts);

  const format = r.choice("accesslog-format", ["envoy", "json"] as const) ?? "envoy";
  const formatString = r.string("accesslog-format-string");
  if (formatString !== undefined) checkFormatString("accesslog-format-string", formatString);
  config.accessLog = {
    format,
    formatString,
    jsonFields: jsonFieldMap("json-fields", r.strings("json-fields") ?? defaultJsonFields),
    level: r.choice("accesslog-level", ["info", "error", "critical", "disabled"] as const) ?? "info",
  };

  config.tls = { ...tlsVersions(r, "tls.minimum-protocol-version", "tls.maximum-protocol-version"), cipherSuites: cipherSuites("tls.cipher-suites", r.strings("tls.cipher-suites") ?? []) };
  config.fallbackCertificate = secretName(r, "tls.fallback-certificate");
  config.clientCertificate = secretName(r, "tls.envoy-client-certificate");
  config.gatewayRef = secretName(r, "gateway.gatewayRef");
  config.disablePermitInsecure = r.bool("disablePermitInsecure") ?? false;
  config.allowChunkedLength = !(r.bool("disableAllowChunkedLength") ?? false);
  config.mergeSlashes = !(r.bool("disableMergeSlashes") ?? false);
  config.compression = r.choice("compression.algorithm", ["gzip", "brotli", "zstd", "disabled"] as const) ?? "gzip";
  config.serverHeaderTransformation = r.choice("serverHeaderTransformation", ["overwrite", "append_if_absent", "pass_through"] as const) ?? "overwrite";
  config.enableExternalNameService = r.bool("enableExternalNameService");
  config.policy = { requestHeaders: headersPolicy(r, "policy.request-headers"), responseHeaders: headersPolicy(r, "policy.response-headers"), applyToIngress: r.bool("policy.applyToIngress") ?? false };
  config.ingressStatusAddress = r.string("ingress-status-address");
  const serviceName = r.string("envoy-service-name");
  const serviceNamespace = r.string("envoy-service-namespace");
  if (serviceName !== undefined || serviceNamespace !== undefined) config.envoyService = { name: serviceName ?? "envoy", namespace: serviceNamespace ?? (process.env.CONTOUR_NAMESPACE || "projectcontour") };
  config.defaultHttpVersions = httpVersions(r, "default-http-versions");

  config.cluster = clusterDefaults(r, "cluster", {
    dnsLookupFamily: "dns-lookup-family",
    maxRequestsPerConnection: "max-requests-per-connection",
    perConnectionBufferLimitBytes: "per-connection-buffer-limit-bytes",
    circuitBreakers: ["circuit-breakers", ["max-connections", "max-pending-requests", "max-requests", "max-retries", "per-host-max-connections"]],
    upstreamTls: ["upstream-tls", ["minimum-protocol-version", "maximum-protocol-version", "cipher-suites"]],
  });
  config.numTrustedHops = r.int("network.num-trusted-hops", 0, 4294967295) ?? 0;
  config.stripTrailingHostDot = r.bool("network.strip-trailing-host-dot") ?? config.stripTrailingHostDot;
  config.listener = listenerLimits(r, "listener", {
    tos: "socket-options.tos",
    trafficClass: "socket-options.traffic-class",
    maxRequestsPerConnection: "max-requests-per-connection",
    perConnectionBufferLimitBytes: "per-connection-buffer-limit-bytes",
    http2MaxConcurrentStreams: "http2-max-concurrent-streams",
    maxConnectionsPerListener: "max-connections-per-listener",
    maxRequestsPerIoCycle: "max-requests-per-io-cycle",
    maxConnectionsToAcceptPerSocketEvent: "max-connections-to-accept-per-socket-event",
    connectionBalancer: "connection-balancer",
  });
  const ignored = ["kubernetesClientQPS", "kubernetesClientBurst"]
    .filter((key) => r.raw(key) !== undefined)
    .map((key) => `${key} is ignored: isobar's Kubernetes client has no client-side rate limit`);
  return { config, flags: { debug: r.bool("debug"), incluster: r.bool("incluster"), kubeconfig: r.string("kubeconfig") }, ignored };
}

/** Contour's default HTTP versions, matched without regard to case. */
export function httpVersions(r: Reader, path: string): HttpVersion[] {
  const versions = (r.strings(path) ?? []).map((v) => v.toLowerCase());
  for (const v of versions) if (v !== "http/1.1" && v !== "http/2") throw new ConfigError(`${path}: invalid HTTP version ${JSON.stringify(v)} (http/1.1 or http/2)`);
  return [...new Set(versions)] as HttpVersion[];
}

/** Global circuit breaker defaults; `keys` are the form's spellings of the five limits, in order. */
export function circuitBreakers(r: Reader, path: string, keys: string[]): GlobalConfig["cluster"]["circuitBreakers"] {
  const [maxConnections, maxPendingRequests, maxRequests, maxRetries, perHostMaxConnections] = keys.map((key) => r.count(`${path}.${key}`));
  const limits = { maxConnections, maxPendingRequests, maxRequests, maxRetries, perHostMaxConnections };
  const given = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
  return Object.keys(given).length > 0 ? given : undefined;
}

/** TLS parameters towards upstreams, when the configuration gives any; `keys` are the form's spellings of min, max and ciphers. */
export function upstreamTls(r: Reader, path: string, keys: [string, string, string]): GlobalConfig["cluster"]["upstreamTls"] {
  const [min, max, ciphers] = keys.map((key) => `${path}.${key}`) as [string, string, string];
  if (r.raw(min) === undefined && r.raw(max) === undefined && (r.strings(ciphers) ?? []).length === 0) return undefined;
  return { ...tlsVersions(r, min, max), cipherSuites: cipherSuites(ciphers, r.strings(ciphers) ?? []) };
}

const timeoutFields = ["requestMs", "connectionIdleMs", "streamIdleMs", "maxConnectionDurationMs", "delayedCloseMs", "connectionShutdownGracePeriodMs", "connectMs"] as const;

/** Sets the timeouts the configuration gives; `keys` are the form's spellings of the seven, in the order of Timeouts (only the connect timeout cannot be infinite). */
export function readTimeouts(r: Reader, path: string, keys: string[], timeouts: Timeouts): void {
  timeoutFields.forEach((field, i) => {
    timeouts[field] = r.duration(`${path}.${keys[i]}`, { infinite: field !== "connectMs" }) ?? timeouts[field];
  });
}

/** The form's spellings of the cluster defaults under its cluster path (with those of the circuit breakers and upstream TLS). */
export interface ClusterKeys {
  dnsLookupFamily: string;
  maxRequestsPerConnection: string;
  perConnectionBufferLimitBytes: string;
  circuitBreakers: [string, string[]];
  upstreamTls: [string, [string, string, string]];
}

export function clusterDefaults(r: Reader, path: string, keys: ClusterKeys): ClusterDefaults {
  const [breakers, breakerKeys] = keys.circuitBreakers;
  const [tls, tlsKeys] = keys.upstreamTls;
  return {
    dnsLookupFamily: r.choice<ClusterDnsLookupFamily>(`${path}.${keys.dnsLookupFamily}`, ["auto", "v4", "v6", "all"]) ?? "auto",
    maxRequestsPerConnection: r.count(`${path}.${keys.maxRequestsPerConnection}`),
    perConnectionBufferLimitBytes: r.count(`${path}.${keys.perConnectionBufferLimitBytes}`),
    circuitBreakers: circuitBreakers(r, `${path}.${breakers}`, breakerKeys),
    upstreamTls: upstreamTls(r, `${path}.${tls}`, tlsKeys),
  };
}

/** The form's spellings of the listener settings under its listener path; one the form lacks keeps its default. */
export interface ListenerKeys {
  useProxyProtocol?: string;
  tos: string;
  trafficClass: string;
  maxRequestsPerConnection: string;
  perConnectionBufferLimitBytes: string;
  http2MaxConcurrentStreams: string;
  maxConnectionsPerListener: string;
  maxRequestsPerIoCycle: string;
  maxConnectionsToAcceptPerSocketEvent?: string;
  connectionBalancer: string;
}

export function listenerLimits(r: Reader, path: string, keys: ListenerKeys): ListenerLimits {
  const at = (key: string) => `${path}.${key}`;
  const limits: ListenerLimits = {
    useProxyProtocol: keys.useProxyProtocol === undefined ? false : (r.bool(at(keys.useProxyProtocol)) ?? false),
    socketOptions: { tos: r.int(at(keys.tos), 0, 255) ?? 0, trafficClass: r.int(at(keys.trafficClass), 0, 255) ?? 0 },
    maxRequestsPerConnection: r.count(at(keys.maxRequestsPerConnection)),
    perConnectionBufferLimitBytes: r.count(at(keys.perConnectionBufferLimitBytes)),
    http2MaxConcurrentStreams: r.count(at(keys.http2MaxConcurrentStreams)),
    maxConnectionsPerListener: r.count(at(keys.maxConnectionsPerListener)),
    maxRequestsPerIoCycle: r.count(at(keys.maxRequestsPerIoCycle)),
  };
  if (keys.maxConnectionsToAcceptPerSocketEvent !== undefined) limits.maxConnectionsToAcceptPerSocketEvent = r.count(at(keys.maxConnectionsToAcceptPerSocketEvent));
  limits.connectionBalancer = r.choice(at(keys.connectionBalancer), ["exact"] as const);
  return limits;
}
