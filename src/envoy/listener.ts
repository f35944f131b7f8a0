// Envoy Listeners from the DAG's listener nodes, in Contour's shape: `ingress_http` (one HTTP
// connection manager over RDS), `ingress_https` (TLS inspector, one filter chain per SNI name,
// certificates by SDS, TLS passthrough and TCP proxying, a fallback-certificate chain for clients
// without SNI) and `stats-health`, which exposes only /ready and /stats of Envoy's admin interface.
// What each listener serves was decided by the DAG (dag/listeners.ts); this only renders it.
import { STATS_LISTENER } from "../dag/names.ts";
import type { DownstreamValidation, FallbackFilterChain, Listener, SecureFilterChain, TcpProxy, VirtualHost } from "../dag/types.ts";
import { ADMIN_CLUSTER } from "./cluster.ts";
import { adsConfigSource, any, duration, type JsonObject, socketAddress, sortedBy } from "./common.ts";
import { filterNeeds, filterNames, httpFilters } from "./http-filters.ts";
import { downstreamTlsContext, tlsTransportSocket } from "./tls.ts";

const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

/** Connection manager settings shared by every listener (Contour's defaults). */
export interface ListenerSettings {
  address: string;
  accessLog: boolean;
  connectionIdleTimeoutMs: number;
  streamIdleTimeoutMs: number;
  /** 0 disables the request timeout (Envoy's and Contour's default). */
  requestTimeoutMs: number;
  delayedCloseTimeoutMs: number;
  drainTimeoutMs: number;
  mergeSlashes: boolean;
  /** Proxies in front of Envoy trusted to set X-Forwarded-For (0). */
  numTrustedHops: number;
}

/** Envoy's stream access logger to stdout, in Envoy's default format. */
export function accessLogs(settings: ListenerSettings): JsonObject[] | undefined {
  if (!settings.accessLog) return undefined;
  return [{ name: "envoy.access_loggers.stdout", typed_config: any("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog") }];
}

interface HcmOptions {
  routeConfigName: string;
  statPrefix: string;
  virtualHosts: VirtualHost[];
  forwardClientCertificate?: DownstreamValidation["forwardClientCertificate"];
}

/** An HTTP connection manager network filter that takes its routes from RDS over ADS. */
export function httpConnectionManager(options: HcmOptions, settings: ListenerSettings): JsonObject {
  const hcm: JsonObject = {
    stat_prefix: options.statPrefix,
    rds: { route_config_name: options.routeConfigName, config_source: adsConfigSource() },
    http_filters: httpFilters(filterNeeds(options.virtualHosts)),
    common_http_protocol_options: { idle_timeout: duration(settings.connectionIdleTimeoutMs) },
    // HTTP/1.0 clients that send a Host header are served (Contour #537).
    http_protocol_options: { accept_http_10: true },
    stream_idle_timeout: duration(settings.streamIdleTimeoutMs),
    request_timeout: duration(settings.requestTimeoutMs),
    drain_timeout: duration(settings.drainTimeoutMs),
    delayed_close_timeout: duration(settings.delayedCloseTimeoutMs),
    use_remote_address: true,
    normalize_path: true,
    merge_slashes: settings.mergeSlashes,
    strip_trailing_host_dot: true,
    preserve_external_request_id: true,
  };
  if (settings.numTrustedHops > 0) hcm.xff_num_trusted_hops = settings.numTrustedHops;
  const logs = accessLogs(settings);
  if (logs) hcm.access_log = logs;
  const forward = options.forwardClientCertificate;
  if (forward) {
    hcm.forward_client_cert_details = "SANITIZE_SET";
    hcm.set_current_client_cert_details = {
      subject: forward.subject,
      cert: forward.cert,
      chain: forward.chain,
      dns: forward.dns,
      uri: forward.uri,
    };
  }
  return { name: "envoy.filters.network.http_connection_manager", typed_config: any(HCM, hcm) };
}

/** A tcp_proxy network filter to the given weighted clusters (zero weights dropped, as Contour). */
export function tcpProxyFilter(statPrefix: string, proxy: TcpProxy, settings: ListenerSettings): JsonObject {
  // Contour's idle timeout for proxied TCP: long-lived connections are the point (Contour #1074).
  const config: JsonObject = { stat_prefix: statPrefix, idle_timeout: "9001s" };
  const weighted = proxy.clusters.filter((c) => c.weight > 0);
  const keep = weighted.length > 0 ? weighted : proxy.clusters;
  const sorted = sortedBy(keep, (c) => c.cluster.name);
  if (sorted.length === 1) config.cluster = sorted[0]!.cluster.name;
  else config.weighted_clusters = { clusters: sorted.map((c) => ({ name: c.cluster.name, weight: c.weight > 0 ? c.weight : 1 })) };
  const logs = accessLogs(settings);
  if (logs) config.access_log = logs;
  return { name: "envoy.filters.network.tcp_proxy", typed_config: any(TCP_PROXY, config) };
}

/** The Envoy Listener of one DAG listener. */
export function listener(node: Listener, settings: ListenerSettings): JsonObject {
  return node.protocol === "http" ? httpListener(node, settings) : httpsListener(node, settings);
}

/** The plaintext listener (`ingress_http`): one connection manager over its route configuration. */
function httpListener(node: Listener, settings: ListenerSettings): JsonObject {
  const hcm = httpConnectionManager({ routeConfigName: node.routeConfigName!, statPrefix: node.name, virtualHosts: node.virtualHosts }, settings);
  return { name: node.name, address: socketAddress(node.address, node.port), filter_chains: [{ filters: [hcm] }] };
}

/** The filter chain of one TLS virtual host, matched by SNI. */
function secureFilterChain(chain: SecureFilterChain, statPrefix: string, settings: ListenerSettings): JsonObject {
  const vhost = chain.virtualHost;
  const out: JsonObject = { name: chain.name, filter_chain_match: { server_names: [vhost.name] } };
  if (vhost.passthrough) {
    out.filters = [tcpProxyFilter(statPrefix, vhost.tcpProxy!, settings)];
    return out;
  }
  const tcp = vhost.tcpProxy;
  out.transport_socket = tlsTransportSocket(
    downstreamTlsContext({
      secret: vhost.secret!,
      minVersion: vhost.minTlsVersion,
      maxVersion: vhost.maxTlsVersion,
      alpn: tcp ? [] : ["h2", "http/1.1"],
      validation: vhost.downstreamValidation,
      validationSecret: chain.clientValidationSecret,
    }),
  );
  out.filters = tcp
    ? [tcpProxyFilter(statPrefix, tcp, settings)]
    : [
        httpConnectionManager(
          {
            routeConfigName: chain.routeConfigName!,
            statPrefix,
            virtualHosts: [vhost],
            forwardClientCertificate: vhost.downstreamValidation?.forwardClientCertificate,
          },
          settings,
        ),
      ];
  return out;
}

/** The filter chain for clients without SNI (or an unknown one): the fallback certificate. */
function fallbackFilterChain(fallback: FallbackFilterChain, statPrefix: string, settings: ListenerSettings): JsonObject {
  return {
    name: fallback.name,
    filter_chain_match: { transport_protocol: "tls" },
    transport_socket: tlsTransportSocket(downstreamTlsContext({ secret: fallback.secret, minVersion: "1.2", maxVersion: "1.3", alpn: ["h2", "http/1.1"] })),
    filters: [httpConnectionManager({ routeConfigName: fallback.routeConfigName, statPrefix, virtualHosts: fallback.virtualHosts }, settings)],
  };
}

/** The TLS listener (`ingress_https`): the TLS inspector, one chain per TLS virtual host, the fallback chain last. */
function httpsListener(node: Listener, settings: ListenerSettings): JsonObject {
  const chains = node.filterChains.map((chain) => secureFilterChain(chain, node.name, settings));
  if (node.fallback) chains.push(fallbackFilterChain(node.fallback, node.name, settings));
  return {
    name: node.name,
    address: socketAddress(node.address, node.port),
    listener_filters: [
      { name: "envoy.filters.listener.tls_inspector", typed_config: any("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector") },
    ],
    filter_chains: chains,
  };
}

const getOnly = { name: ":method", string_match: { exact: "GET" } };

/** The `stats-health` listener: GET /ready (exact) and /stats (prefix) go to Envoy's admin; the rest is 404. */
export function statsListener(port: number, settings: ListenerSettings): JsonObject {
  const hcm = {
    stat_prefix: "stats",
    route_config: {
      name: STATS_LISTENER,
      virtual_hosts: [
        {
          name: "backend",
          domains: ["*"],
          routes: [
            // Reads only: Envoy's admin changes state on POST (e.g. /stats/recentlookups/enable).
            { match: { path: "/ready", headers: [getOnly] }, route: { cluster: ADMIN_CLUSTER } },
            { match: { prefix: "/stats", headers: [getOnly] }, route: { cluster: ADMIN_CLUSTER } },
            { match: { prefix: "/" }, direct_response: { status: 404 } },
          ],
        },
      ],
    },
    http_filters: [{ name: filterNames.router, typed_config: any("envoy.extensions.filters.http.router.v3.Router") }],
    normalize_path: true,
    merge_slashes: true,
  };
  return {
    name: STATS_LISTENER,
    address: socketAddress(settings.address, port),
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: any(HCM, hcm) }] }],
  };
}
