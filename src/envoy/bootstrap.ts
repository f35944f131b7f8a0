// Envoy's bootstrap, as `agent bootstrap` writes it: how Envoy reaches the agent (delta ADS by
// default), admin on a unix socket only, and — in split mode — mTLS with certificates that Envoy
// reads through SDS files on disk, so rotated files are picked up without a restart.
import { isIP } from "node:net";
import { join } from "node:path";

export type XdsMode = "delta" | "sotw" | "per-type";

export interface BootstrapOptions {
  /** The agent's address: an IP (STATIC cluster) or a DNS name (STRICT_DNS), never "localhost". */
  xdsAddress: string;
  xdsPort: number;
  mode: XdsMode;
  /** Envoy's admin interface: a unix socket path. */
  adminSocketPath: string;
  nodeId: string;
  nodeCluster: string;
  /** Envoy's side of mTLS: all three or none. */
  tls?: {
    caFile: string;
    certFile: string;
    keyFile: string;
    /** The SAN the agent's certificate must carry (pinned); also sent as SNI. */
    serverName: string;
    /** Where the SDS resource files are written (Envoy watches this directory). */
    resourcesDir: string;
  };
  /** Seconds to wait for the xDS connection before Envoy gives up on initial fetch. */
  initialFetchTimeoutSeconds?: number;
  /** How Envoy resolves a DNS name in xdsAddress (default V4_PREFERRED); unused for an IP. */
  dnsLookupFamily?: DnsLookupFamily;
  /** Envoy's overload manager: shrink the heap at 95% of this many bytes, stop accepting requests at 98% (0 or absent: no limit). */
  overloadMaxHeapBytes?: number;
  /** Static runtime keys (Contour sets these over RTDS): per-listener connection limits, requests per I/O cycle. */
  runtime?: Record<string, number>;
}

/** Envoy's DNS lookup families, by the names Contour's `bootstrap --dns-lookup-family` takes. */
export const dnsLookupFamilies = { v4: "V4_ONLY", v6: "V6_ONLY", auto: "AUTO", all: "ALL" } as const;
export type DnsLookupFamily = (typeof dnsLookupFamilies)[keyof typeof dnsLookupFamilies] | "V4_PREFERRED";

export const XDS_CLUSTER = "isobar";
const TLS_CERT_SECRET = "isobar_xds_tls_certificate";
const VALIDATION_SECRET = "isobar_xds_validation_context";

export class BootstrapError extends Error {
  override name = "BootstrapError";
}

/** Checks options a person gave; throws BootstrapError with a one-line reason. */
export function checkBootstrapOptions(options: BootstrapOptions): void {
  if (options.xdsAddress === "" || /^localhost\.?$/i.test(options.xdsAddress)) {
    throw new BootstrapError(`--xds-address ${JSON.stringify(options.xdsAddress)} is not allowed: use 127.0.0.1 (the resolver is not trusted for "localhost")`);
  }
  if (!Number.isInteger(options.xdsPort) || options.xdsPort < 1 || options.xdsPort > 65535) throw new BootstrapError(`--xds-port must be 1-65535, got ${options.xdsPort}`);
  const admin = options.adminSocketPath;
  if (!admin.startsWith("/") || isIP(admin) !== 0 || /^localhost(:\d+)?$/i.test(admin) || /^[\d.:[\]]+$/.test(admin)) {
    throw new BootstrapError(`--admin-address must be an absolute unix socket path (Envoy's admin is never on the network), got ${JSON.stringify(admin)}`);
  }
  if (options.nodeId === "") throw new BootstrapError("--node-id must not be empty");
}

function xdsGrpcService(): object {
  return { envoy_grpc: { cluster_name: XDS_CLUSTER } };
}

function sdsFileConfig(resourcesDir: string, file: string): object {
  return {
    path_config_source: { path: join(resourcesDir, file), watched_directory: { path: resourcesDir } },
    resource_api_version: "V3",
  };
}

/** The xDS cluster: HTTP/2 to the agent, mTLS when configured. */
function xdsCluster(options: BootstrapOptions): object {
  const cluster: Record<string, unknown> = {
    name: XDS_CLUSTER,
    type: isIP(options.xdsAddress) ? "STATIC" : "STRICT_DNS",
    connect_timeout: "5s",
    load_assignment: {
      cluster_name: XDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: options.xdsAddress, port_value: options.xdsPort } } } }] }],
    },
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: "30s", timeout: "5s" } } },
      },
    },
    circuit_breakers: { thresholds: [{ priority: "HIGH", max_connections: 100000, max_pending_requests: 100000, max_requests: 60000000, max_retries: 50 }, { priority: "DEFAULT", max_connections: 100000, max_pending_requests: 100000, max_requests: 60000000, max_retries: 50 }] },
    upstream_connection_options: { tcp_keepalive: { keepalive_probes: 3, keepalive_time: 30, keepalive_interval: 5 } },
  };
  if (!isIP(options.xdsAddress)) cluster.dns_lookup_family = options.dnsLookupFamily ?? "V4_PREFERRED";
  if (options.tls) {
    cluster.transport_socket = {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        sni: options.tls.serverName,
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_3" },
          alpn_protocols: ["h2"],
          tls_certificate_sds_secret_configs: [{ name: TLS_CERT_SECRET, sds_config: sdsFileConfig(options.tls.resourcesDir, "xds-tls-certificate.json") }],
          validation_context_sds_secret_config: { name: VALIDATION_SECRET, sds_config: sdsFileConfig(options.tls.resourcesDir, "xds-validation-context.json") },
        },
      },
    };
  }
  return cluster;
}

function dynamicResources(mode: XdsMode): object {
  if (mode === "per-type") {
    const source = { api_config_source: { api_type: "GRPC", transport_api_version: "V3", grpc_services: [xdsGrpcService()] }, resource_api_version: "V3" };
    return { lds_config: source, cds_config: source };
  }
  return {
    ads_config: { api_type: mode === "delta" ? "DELTA_GRPC" : "GRPC", transport_api_version: "V3", grpc_services: [xdsGrpcService()], set_node_on_first_message_only: true },
    lds_config: { ads: {}, resource_api_version: "V3" },
    cds_config: { ads: {}, resource_api_version: "V3" },
  };
}

/** The bootstrap, in our JSON form (proto field names; Envoy's JSON loader accepts them). */
export function bootstrapConfig(options: BootstrapOptions): object {
  checkBootstrapOptions(options);
  return {
    node: { id: options.nodeId, cluster: options.nodeCluster },
    admin: { address: { pipe: { path: options.adminSocketPath, mode: 0o600 } } },
    dynamic_resources: dynamicResources(options.mode),
    static_resources: { clusters: [xdsCluster(options)] },
    // The global connection limit as a resource monitor: the runtime key that used to set it
    // (overload.global_downstream_max_connections) is deprecated and Envoy 1.40 warns on it.
    overload_manager: overloadManager(options.overloadMaxHeapBytes ?? 0),
    layered_runtime: {
      layers: [
        { name: "static", static_layer: { "re2.max_program_size.error_level": 1000, ...sortedKeys(options.runtime ?? {}) } },
        { name: "admin", admin_layer: {} },
      ],
    },
  };
}

function sortedKeys(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const FIXED_HEAP = "envoy.resource_monitors.fixed_heap";

/** The global connection limit, and with a maximum heap Contour's two heap actions. */
function overloadManager(maxHeapBytes: number): object {
  const monitors: object[] = [
    {
      name: "envoy.resource_monitors.global_downstream_max_connections",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig", max_active_downstream_connections: 50000 },
    },
  ];
  if (maxHeapBytes <= 0) return { resource_monitors: monitors };
  monitors.push({ name: FIXED_HEAP, typed_config: { "@type": "type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig", max_heap_size_bytes: maxHeapBytes } });
  const action = (name: string, threshold: number) => ({ name, triggers: [{ name: FIXED_HEAP, threshold: { value: threshold } }] });
  return {
    refresh_interval: "0.250s",
    resource_monitors: monitors,
    actions: [action("envoy.overload_actions.shrink_heap", 0.95), action("envoy.overload_actions.stop_accepting_requests", 0.98)],
  };
}

/** The static runtime keys of a global configuration's listener limits (Contour serves these over RTDS). */
export function runtimeFromConfig(limits: { maxConnectionsPerListener?: number; maxRequestsPerIoCycle?: number }, listeners: string[]): Record<string, number> {
  const runtime: Record<string, number> = {};
  if (limits.maxConnectionsPerListener !== undefined) for (const name of listeners) runtime[`envoy.resource_limits.listener.${name}.connection_limit`] = limits.maxConnectionsPerListener;
  if (limits.maxRequestsPerIoCycle !== undefined) runtime["http.max_requests_per_io_cycle"] = limits.maxRequestsPerIoCycle;
  return runtime;
}

/**
 * The SDS resource files the bootstrap points at: Envoy's certificate and key, and the CA plus the
 * agent's pinned SAN. They name the PEM files by path, so Envoy re-reads them when they rotate.
 */
export function sdsResourceFiles(tls: NonNullable<BootstrapOptions["tls"]>): Array<{ file: string; content: object }> {
  const secretType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
  return [
    {
      file: join(tls.resourcesDir, "xds-tls-certificate.json"),
      content: {
        resources: [{ "@type": secretType, name: TLS_CERT_SECRET, tls_certificate: { certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } } }],
      },
    },
    {
      file: join(tls.resourcesDir, "xds-validation-context.json"),
      content: {
        resources: [
          {
            "@type": secretType,
            name: VALIDATION_SECRET,
            validation_context: { trusted_ca: { filename: tls.caFile }, match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: tls.serverName } }] },
          },
        ],
      },
    },
  ];
}
