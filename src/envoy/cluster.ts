// Envoy Clusters from the DAG: EDS clusters (endpoints arrive separately, by edsServiceName),
// STRICT_DNS clusters for ExternalName Services, and the static `envoy-admin` cluster that the
// stats/ready listener forwards to over Envoy's admin unix socket.
import type { ClusterDefaults as ClusterConfig, ClusterDnsLookupFamily, GlobalConfig } from "../config/types.ts";
import type { CircuitBreakers, Cluster, LoadBalancerStrategy, SlowStart, TcpHealthCheckPolicy } from "../dag/types.ts";
import { deepFreeze } from "../base/values.ts";
import { adsConfigSource, any, duration, type JsonObject } from "./common.ts";
import { tlsTransportSocket, upstreamTlsContext } from "./tls.ts";

/** The ADS config source of every EDS cluster: one frozen object shared by all (100k clusters at 100k Services). */
const adsEdsConfig = deepFreeze(adsConfigSource());
/** Every cluster's common_lb_config (no panic mode, as Contour), shared likewise. */
const noPanicThreshold = deepFreeze({ healthy_panic_threshold: { value: 0 } });

export const ADMIN_CLUSTER = "envoy-admin";
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;

const HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

const lbPolicies: Record<LoadBalancerStrategy, string> = {
  RoundRobin: "ROUND_ROBIN",
  WeightedLeastRequest: "LEAST_REQUEST",
  Random: "RANDOM",
  Cookie: "RING_HASH",
  RequestHash: "RING_HASH",
};

/** What the global configuration sets for every cluster: its cluster section, the connect timeout and where EDS and SDS come from. */
export interface ClusterDefaults extends ClusterConfig {
  connectTimeoutMs: number;
  /** Where Envoy fetches EDS and SDS (config-source.ts); the ADS stream when absent. */
  configSource?: JsonObject;
}

export function clusterDefaults(global: GlobalConfig): ClusterDefaults {
  return { connectTimeoutMs: global.timeouts.connectMs, ...global.cluster };
}

const defaults: ClusterDefaults = { connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, dnsLookupFamily: "auto" };
const dnsLookupFamilies: Record<ClusterDnsLookupFamily, string> = { auto: "AUTO", v4: "V4_ONLY", v6: "V6_ONLY", all: "ALL" };

/** The Envoy Cluster for a DAG cluster. */
export function cluster(source: Cluster, global: ClusterDefaults = defaults): JsonObject {
  const service = source.service;
  const out: JsonObject = {
    name: source.name,
    alt_stat_name: `${service.namespace}_${service.name}_${service.port}`,
  };
  if (source.externalName) {
    out.type = "STRICT_DNS";
    out.load_assignment = {
      cluster_name: source.name,
      endpoints: [
        {
          locality: {},
          lb_endpoints: [
            {
              endpoint: {
                address: { socket_address: { address: source.externalName, port_value: service.port } },
                ...(source.healthPort ? { health_check_config: { port_value: source.healthPort.port } } : {}),
              },
            },
          ],
        },
      ],
    };
    if (global.dnsLookupFamily !== "auto") out.dns_lookup_family = dnsLookupFamilies[global.dnsLookupFamily];
  } else {
    out.type = "EDS";
    out.eds_cluster_config = { eds_config: global.configSource ?? adsEdsConfig, service_name: source.edsServiceName };
  }
  out.connect_timeout = duration(source.connectTimeoutMs ?? global.connectTimeoutMs);
  if (global.perConnectionBufferLimitBytes !== undefined) out.per_connection_buffer_limit_bytes = global.perConnectionBufferLimitBytes;
  out.lb_policy = lbPolicies[source.loadBalancer];
  if (source.slowStart) {
    const slowStart = slowStartConfig(source.slowStart);
    if (source.loadBalancer === "RoundRobin") out.round_robin_lb_config = { slow_start_config: slowStart };
    if (source.loadBalancer === "WeightedLeastRequest") out.least_request_lb_config = { slow_start_config: slowStart };
  }
  // Contour disables panic mode: unhealthy endpoints are never sent traffic.
  out.common_lb_config = noPanicThreshold;

  const protocolOptions = httpProtocolOptions(source, global.maxRequestsPerConnection);
  if (protocolOptions) out.typed_extension_protocol_options = { [HTTP_PROTOCOL_OPTIONS]: protocolOptions };

  const healthChecks = healthCheck(source);
  if (healthChecks) {
    out.health_checks = [healthChecks];
    out.ignore_health_on_host_removal = true;
  }
  const breakers = circuitBreakers({ ...global.circuitBreakers, ...definedOnly(source.circuitBreakers ?? {}) });
  if (breakers) out.circuit_breakers = breakers;

  if (source.protocol === "tls" || source.protocol === "h2") {
    out.transport_socket = tlsTransportSocket(
      upstreamTlsContext({
        sni: source.sni ?? source.externalName,
        params: global.upstreamTls,
        alpn: source.protocol === "h2" ? ["h2"] : [],
        validation: source.validation,
        clientCertificate: source.clientCertificate,
        configSource: global.configSource,
      }),
    );
  }
  return out;
}

/** Contour's slow start: the aggression keeps Contour's runtime key, so a runtime override still applies. */
function slowStartConfig(slowStart: SlowStart): JsonObject {
  return {
    slow_start_window: duration(slowStart.windowMs),
    aggression: { default_value: slowStart.aggression, runtime_key: "contour.slowstart.aggression" },
    min_weight_percent: { value: slowStart.minWeightPercent },
  };
}

/** HTTP/2 for h2 and h2c upstreams, and the upstream idle timeout; none for plain HTTP/1.1 defaults. */
function httpProtocolOptions(source: Cluster, maxRequestsPerConnection: number | undefined): JsonObject | undefined {
  const http2 = source.protocol === "h2" || source.protocol === "h2c";
  if (!http2 && source.idleTimeoutMs === undefined && maxRequestsPerConnection === undefined) return undefined;
  const options: JsonObject = {
    explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
  };
  const common: JsonObject = {};
  if (source.idleTimeoutMs !== undefined) common.idle_timeout = duration(source.idleTimeoutMs);
  if (maxRequestsPerConnection !== undefined) common.max_requests_per_connection = maxRequestsPerConnection;
  if (Object.keys(common).length > 0) options.common_http_protocol_options = common;
  return any(HTTP_PROTOCOL_OPTIONS, options);
}

/** Contour's health check defaults, for settings left at zero (Envoy requires them all). */
const healthCheckDefaults = { timeoutSeconds: 2, intervalSeconds: 5, unhealthyThresholdCount: 3, healthyThresholdCount: 2 };

function healthCheckTiming(policy: TcpHealthCheckPolicy): JsonObject {
  const or = (value: number, fallback: number) => (value > 0 ? value : fallback);
  return {
    timeout: duration(or(policy.timeoutSeconds, healthCheckDefaults.timeoutSeconds) * 1000),
    interval: duration(or(policy.intervalSeconds, healthCheckDefaults.intervalSeconds) * 1000),
    unhealthy_threshold: or(policy.unhealthyThresholdCount, healthCheckDefaults.unhealthyThresholdCount),
    healthy_threshold: or(policy.healthyThresholdCount, healthCheckDefaults.healthyThresholdCount),
  };
}

function healthCheck(source: Cluster): JsonObject | undefined {
  const http = source.healthCheck;
  if (http) {
    const check: JsonObject = { path: http.path, host: http.host || "contour-envoy-healthcheck" };
    if (http.expectedStatuses?.length) check.expected_statuses = http.expectedStatuses.map((r) => ({ start: r.start, end: r.end }));
    // An HTTP/2-only upstream answers only HTTP/2 health checks.
    if (source.protocol === "h2" || source.protocol === "h2c") check.codec_client_type = "HTTP2";
    return { ...healthCheckTiming(http), http_health_check: check };
  }
  if (source.tcpHealthCheck) return { ...healthCheckTiming(source.tcpHealthCheck), tcp_health_check: {} };
  return undefined;
}

function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function circuitBreakers(limits: CircuitBreakers): JsonObject | undefined {
  const thresholds: JsonObject = {};
  if (limits.maxConnections !== undefined) thresholds.max_connections = limits.maxConnections;
  if (limits.maxPendingRequests !== undefined) thresholds.max_pending_requests = limits.maxPendingRequests;
  if (limits.maxRequests !== undefined) thresholds.max_requests = limits.maxRequests;
  if (limits.maxRetries !== undefined) thresholds.max_retries = limits.maxRetries;
  const out: JsonObject = {};
  if (Object.keys(thresholds).length > 0) out.thresholds = [thresholds];
  if (limits.perHostMaxConnections !== undefined) out.per_host_thresholds = [{ max_connections: limits.perHostMaxConnections }];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The static cluster reaching Envoy's admin interface on its unix socket. */
export function adminCluster(socketPath: string): JsonObject {
  return {
    name: ADMIN_CLUSTER,
    type: "STATIC",
    connect_timeout: "0.25s",
    load_assignment: {
      cluster_name: ADMIN_CLUSTER,
      endpoints: [{ locality: {}, lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }],
    },
  };
}
