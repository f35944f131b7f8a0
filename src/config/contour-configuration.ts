// Contour 1.33's ContourConfiguration resource (`contour serve --contour-config-name`), its spec
// onto the same typed GlobalConfig as the configuration file. Unknown fields are errors naming
// them; fields isobar does not implement are refused by name when set.
import { checkShape, Reader, refused, type Shape } from "./read.ts";
import { ConfigError, type GlobalConfig, type ListenerAddress } from "./types.ts";
import { defaultGlobalConfig } from "./defaults.ts";
import { clusterDefaults, httpVersions, listenerLimits, readTimeouts } from "./file.ts";
import { checkFormatString, cipherSuites, defaultJsonFields, headersPolicy, jsonFieldMap, secretName, tlsVersions } from "./values.ts";

const asFlag = (flags: string) => `give it as serve flags (${flags})`;
const namespacedName: Shape = { name: true, namespace: true };
const headers: Shape = { set: true, remove: true };
const listener: Shape = { address: true, port: true, accessLog: refused("Envoy's access log goes to its standard output") };
const envoyTls: Shape = { minimumProtocolVersion: true, maximumProtocolVersion: true, cipherSuites: true };

const specShape: Shape = {
  xdsServer: refused(asFlag("--xds-address, --xds-port, --contour-cafile, --contour-cert-file, --contour-key-file")),
  ingress: { classNames: true, statusAddress: true },
  debug: refused(asFlag("--debug-address, --debug-port")),
  health: refused(asFlag("--http-address, --http-port: /healthz is served beside /metrics")),
  envoy: {
    listener: {
      useProxyProtocol: true,
      compression: { algorithm: true },
      disableAllowChunkedLength: true,
      disableMergeSlashes: true,
      serverHeaderTransformation: true,
      connectionBalancer: true,
      maxRequestsPerConnection: true,
      "per-connection-buffer-limit-bytes": true,
      tls: envoyTls,
      socketOptions: { tos: true, trafficClass: true },
      maxRequestsPerIOCycle: true,
      httpMaxConcurrentStreams: true,
      maxConnectionsPerListener: true,
    },
    service: namespacedName,
    http: listener,
    https: listener,
    health: { address: true, port: true },
    metrics: { address: true, port: true, tls: refused("") },
    clientCertificate: namespacedName,
    logging: { accessLogFormat: true, accessLogFormatString: true, accessLogJSONFields: true, accessLogLevel: true },
    defaultHTTPVersions: true,
    timeouts: {
      requestTimeout: true,
      connectionIdleTimeout: true,
      streamIdleTimeout: true,
      maxConnectionDuration: true,
      delayedCloseTimeout: true,
      connectionShutdownGracePeriod: true,
      connectTimeout: true,
    },
    cluster: {
      dnsLookupFamily: true,
      maxRequestsPerConnection: true,
      "per-connection-buffer-limit-bytes": true,
      circuitBreakers: { maxConnections: true, maxPendingRequests: true, maxRequests: true, maxRetries: true, perHostMaxConnections: true },
      upstreamTLS: envoyTls,
    },
    network: { numTrustedHops: true, adminPort: refused("Envoy's admin listens on a unix socket only"), stripTrailingHostDot: true },
    omEnforcedHealth: refused(""),
  },
  gateway: { gatewayRef: namespacedName },
  httpproxy: { disablePermitInsecure: true, rootNamespaces: true, fallbackCertificate: namespacedName },
  enableExternalNameService: true,
  globalExtAuth: refused(""),
  rateLimitService: refused(""),
  policy: { requestHeaders: headers, responseHeaders: headers, applyToIngress: true },
  metrics: refused(asFlag("--http-address, --http-port")),
  tracing: refused(""),
  featureFlags: refused("isobar has no feature flags"),
};

function listenerAddress(r: Reader, path: string): ListenerAddress {
  return { address: r.string(`${path}.address`), port: r.int(`${path}.port`, 0, 65535) || undefined };
}

/** The typed configuration of a ContourConfiguration's spec (Contour's defaults for what it leaves out). */
export function configFromSpec(spec: unknown): GlobalConfig {
  checkShape(spec, specShape, "spec");
  const r = new Reader({ spec });
  const config = defaultGlobalConfig();
  readTimeouts(r, "spec.envoy.timeouts", ["requestTimeout", "connectionIdleTimeout", "streamIdleTimeout", "maxConnectionDuration", "delayedCloseTimeout", "connectionShutdownGracePeriod", "connectTimeout"], config.timeouts);

  const logging = "spec.envoy.logging";
  const formatString = r.string(`${logging}.accessLogFormatString`);
  if (formatString !== undefined) checkFormatString(`${logging}.accessLogFormatString`, formatString);
  config.accessLog = {
    format: r.choice(`${logging}.accessLogFormat`, ["envoy", "json"] as const) ?? "envoy",
    formatString,
    jsonFields: jsonFieldMap(`${logging}.accessLogJSONFields`, r.strings(`${logging}.accessLogJSONFields`) ?? defaultJsonFields),
    level: r.choice(`${logging}.accessLogLevel`, ["info", "error", "critical", "disabled"] as const) ?? "info",
  };

  const l = "spec.envoy.listener";
  config.tls = { ...tlsVersions(r, `${l}.tls.minimumProtocolVersion`, `${l}.tls.maximumProtocolVersion`), cipherSuites: cipherSuites(`${l}.tls.cipherSuites`, r.strings(`${l}.tls.cipherSuites`) ?? []) };
  config.fallbackCertificate = secretName(r, "spec.httpproxy.fallbackCertificate");
  config.clientCertificate = secretName(r, "spec.envoy.clientCertificate");
  config.gatewayRef = secretName(r, "spec.gateway.gatewayRef");
  config.disablePermitInsecure = r.bool("spec.httpproxy.disablePermitInsecure") ?? false;
  config.rootNamespaces = r.strings("spec.httpproxy.rootNamespaces");
  config.ingressClassNames = r.strings("spec.ingress.classNames");
  config.ingressStatusAddress = r.string("spec.ingress.statusAddress");
  config.envoyService = secretName(r, "spec.envoy.service");
  config.enableExternalNameService = r.bool("spec.enableExternalNameService");
  config.allowChunkedLength = !(r.bool(`${l}.disableAllowChunkedLength`) ?? false);
  config.mergeSlashes = !(r.bool(`${l}.disableMergeSlashes`) ?? false);
  config.compression = r.choice(`${l}.compression.algorithm`, ["gzip", "brotli", "zstd", "disabled"] as const) ?? "gzip";
  config.serverHeaderTransformation = r.choice(`${l}.serverHeaderTransformation`, ["overwrite", "append_if_absent", "pass_through"] as const) ?? "overwrite";
  config.policy = { requestHeaders: headersPolicy(r, "spec.policy.requestHeaders"), responseHeaders: headersPolicy(r, "spec.policy.responseHeaders"), applyToIngress: r.bool("spec.policy.applyToIngress") ?? false };
  config.defaultHttpVersions = httpVersions(r, "spec.envoy.defaultHTTPVersions");
  config.cluster = clusterDefaults(r, "spec.envoy.cluster", {
    dnsLookupFamily: "dnsLookupFamily",
    maxRequestsPerConnection: "maxRequestsPerConnection",
    perConnectionBufferLimitBytes: "per-connection-buffer-limit-bytes",
    circuitBreakers: ["circuitBreakers", ["maxConnections", "maxPendingRequests", "maxRequests", "maxRetries", "perHostMaxConnections"]],
    upstreamTls: ["upstreamTLS", ["minimumProtocolVersion", "maximumProtocolVersion", "cipherSuites"]],
  });
  config.numTrustedHops = r.int("spec.envoy.network.numTrustedHops", 0, 4294967295) ?? 0;
  config.stripTrailingHostDot = r.bool("spec.envoy.network.stripTrailingHostDot") ?? config.stripTrailingHostDot;
  config.listener = listenerLimits(r, l, {
    useProxyProtocol: "useProxyProtocol",
    tos: "socketOptions.tos",
    trafficClass: "socketOptions.trafficClass",
    maxRequestsPerConnection: "maxRequestsPerConnection",
    perConnectionBufferLimitBytes: "per-connection-buffer-limit-bytes",
    http2MaxConcurrentStreams: "httpMaxConcurrentStreams",
    maxConnectionsPerListener: "maxConnectionsPerListener",
    maxRequestsPerIoCycle: "maxRequestsPerIOCycle",
    connectionBalancer: "connectionBalancer",
  });
  config.http = listenerAddress(r, "spec.envoy.http");
  config.https = listenerAddress(r, "spec.envoy.https");
  const health = listenerAddress(r, "spec.envoy.health");
  const metrics = listenerAddress(r, "spec.envoy.metrics");
  if (health.port && metrics.port && health.port !== metrics.port) throw new ConfigError(`spec.envoy.health.port ${health.port} differs from spec.envoy.metrics.port ${metrics.port}: isobar serves /ready and /stats on one listener`);
  config.stats = { address: metrics.address ?? health.address, port: metrics.port ?? health.port };
  return config;
}

/** A ContourConfiguration object (kind, metadata, spec) to its typed configuration; errors name the object. */
export function configFromObject(object: { metadata?: { namespace?: string; name?: string }; spec?: unknown }): GlobalConfig {
  try {
    return configFromSpec(object.spec ?? {});
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`ContourConfiguration ${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}: ${error.message}`);
    throw error;
  }
}
