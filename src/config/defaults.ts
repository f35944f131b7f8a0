// Contour's configuration defaults: what a setting is when neither the configuration file nor a
// ContourConfiguration gives it.
import type { GlobalConfig } from "./types.ts";
import { defaultJsonFields, jsonFieldMap } from "./values.ts";

/**
 * Contour's defaults, except strip-trailing-host-dot: isobar has always stripped the trailing dot
 * (so `example.com.` reaches the `example.com` host), and a configuration can turn that off.
 */
export function defaultGlobalConfig(): GlobalConfig {
  return {
    timeouts: { requestMs: 0, connectionIdleMs: 60_000, streamIdleMs: 300_000, maxConnectionDurationMs: 0, delayedCloseMs: 1_000, connectionShutdownGracePeriodMs: 5_000, connectMs: 2_000 },
    accessLog: { format: "envoy", jsonFields: jsonFieldMap("json-fields", defaultJsonFields), level: "info" },
    tls: { minVersion: "1.2", maxVersion: "1.3", cipherSuites: [] },
    defaultHttpVersions: [],
    serverHeaderTransformation: "overwrite",
    mergeSlashes: true,
    allowChunkedLength: true,
    numTrustedHops: 0,
    stripTrailingHostDot: true,
    compression: "gzip",
    policy: { requestHeaders: { set: {}, remove: [] }, responseHeaders: { set: {}, remove: [] }, applyToIngress: false },
    disablePermitInsecure: false,
    cluster: { dnsLookupFamily: "auto" },
    listener: { useProxyProtocol: false, socketOptions: { tos: 0, trafficClass: 0 } },
    http: {},
    https: {},
    stats: {},
  };
}
