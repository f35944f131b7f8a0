// Envoy Listeners from the DAG's listener nodes, in Contour's shape: `ingress_http` (one HTTP
// connection manager over RDS), `ingress_https` (TLS inspector, one filter chain per SNI name,
// certificates by SDS, TLS passthrough and TCP proxying, a fallback-certificate chain for clients
// without SNI), a Gateway's plain TCP listeners (one tcp_proxy chain each) and `stats-health`, which exposes only /ready and /stats of Envoy's admin interface.
// What each listener serves was decided by the DAG (dag/listeners.ts); this only renders it.
import { deepFreeze } from "../base/values.ts";
import type { GlobalConfig, HttpVersion } from "../config/types.ts";
import { STATS_LISTENER } from "../dag/names.ts";
import type { DownstreamValidation, FallbackFilterChain, Listener, SecureFilterChain, SecureVirtualHost, TcpProxy, TlsVersion, VirtualHost } from "../dag/types.ts";
import { accessLogs } from "./access-log.ts";
import { ADMIN_CLUSTER } from "./cluster.ts";
import { adsConfigSource, any, duration, type JsonObject, socketAddress, sortedBy } from "./common.ts";
import { filterNeeds, filterNames, httpFilters } from "./http-filters.ts";
import { downstreamTlsContext, tlsTransportSocket } from "./tls.ts";

const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const PROXY_PROTOCOL = "envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol";

/** What every listener shares: its address and the global configuration (Contour's defaults). */
export interface ListenerSettings {
  address: string;
  /** false turns the access log off whatever the configuration says. */
  accessLog: boolean;
  global: GlobalConfig;
  /** Where Envoy fetches RDS and SDS (config-source.ts); the ADS stream when absent. */
  configSource?: JsonObject;
}

const codecs: Record<string, string> = { "http/1.1": "HTTP1", "http/2": "HTTP2" };

/**
 * The parts of a connection manager and TLS context that depend on the settings alone (config
 * source, HTTP filters for the same needs, protocol options, access log, ALPN): made once per
 * settings and shared, frozen, by every filter chain. A TLS listener has one chain per TLS host (50k
 * at 100k Ingresses); a copy each would cost over a kilobyte per chain. The JSON is the same.
 */
const sharedParts = new WeakMap<ListenerSettings, Map<string, unknown>>();

function shared<T>(settings: ListenerSettings, key: string, make: () => T): T {
  let parts = sharedParts.get(settings);
  if (!parts) sharedParts.set(settings, (parts = new Map()));
  if (!parts.has(key)) parts.set(key, deepFreeze(make()));
  return parts.get(key) as T;
}

/** The config source RDS and SDS are fetched from: the configured one as it is, or one shared ADS source. */
const configSourceOf = (settings: ListenerSettings): JsonObject => settings.configSource ?? shared(settings, "ads", adsConfigSource);

/** Contour's default HTTP versions: the connection manager's codec (AUTO for both or none). */
function codecType(versions: HttpVersion[]): string {
  return versions.length === 1 ? codecs[versions[0]!]! : "AUTO";
}

/** ALPN offered on terminating TLS chains, by the default HTTP versions. */
export function alpnProtocols(versions: HttpVersion[]): string[] {
  if (versions.length !== 1) return ["h2", "http/1.1"];
  return versions[0] === "http/2" ? ["h2"] : ["http/1.1"];
}

const serverHeaderTransformations = { overwrite: "OVERWRITE", append_if_absent: "APPEND_IF_ABSENT", pass_through: "PASS_THROUGH" } as const;

interface HcmOptions {
  routeConfigName: string;
  statPrefix: string;
  virtualHosts: VirtualHost[];
  forwardClientCertificate?: DownstreamValidation["forwardClientCertificate"];
}

/** An HTTP connection manager network filter that takes its routes from RDS over ADS. */
export function httpConnectionManager(options: HcmOptions, settings: ListenerSettings): JsonObject {
  const { global } = settings;
  const { timeouts } = global;
  const needs = filterNeeds(options.virtualHosts);
  const hcm: JsonObject = {
    stat_prefix: options.statPrefix,
    rds: { route_config_name: options.routeConfigName, config_source: configSourceOf(settings) },
    http_filters: shared(settings, `http_filters ${JSON.stringify(needs)}`, () => httpFilters(needs, global.compression)),
    common_http_protocol_options: shared(settings, "common_http_protocol_options", () => commonHttpProtocolOptions(global)),
    // HTTP/1.0 clients that send a Host header are served (Contour #537).
    http_protocol_options: shared(settings, "http_protocol_options", () => ({ accept_http_10: true, ...(global.allowChunkedLength ? { allow_chunked_length: true } : {}) })),
    stream_idle_timeout: duration(timeouts.streamIdleMs),
    request_timeout: duration(timeouts.requestMs),
    drain_timeout: duration(timeouts.connectionShutdownGracePeriodMs),
    delayed_close_timeout: duration(timeouts.delayedCloseMs),
    use_remote_address: true,
    normalize_path: true,
    merge_slashes: global.mergeSlashes,
    strip_trailing_host_dot: global.stripTrailingHostDot,
    preserve_external_request_id: true,
  };
  const codec = codecType(global.defaultHttpVersions);
  if (codec !== "AUTO") hcm.codec_type = codec;
  if (global.serverHeaderTransformation !== "overwrite") hcm.server_header_transformation = serverHeaderTransformations[global.serverHeaderTransformation];
  if (global.listener.http2MaxConcurrentStreams !== undefined) hcm.http2_protocol_options = { max_concurrent_streams: global.listener.http2MaxConcurrentStreams };
  if (global.numTrustedHops > 0) hcm.xff_num_trusted_hops = global.numTrustedHops;
  const logs = shared(settings, "access_log", () => accessLogs(global.accessLog, settings.accessLog));
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
  const logs = accessLogs(settings.global.accessLog, settings.accessLog);
  if (logs) config.access_log = logs;
  return { name: "envoy.filters.network.tcp_proxy", typed_config: any(TCP_PROXY, config) };
}

/**
 * Remembers a TLS listener's filter chains by DAG chain (translate-memo.ts): a chain met again, with
 * the same listener name, gives back the JSON it gave before. Must give what `make` gives.
 */
export type FilterChainMemo = (chain: SecureFilterChain, statPrefix: string, make: () => JsonObject) => JsonObject;

/** The Envoy Listener of one DAG listener. */
export function listener(node: Listener, settings: ListenerSettings, chains?: FilterChainMemo): JsonObject {
  if (node.protocol === "tcp") return tcpListener(node, settings);
  return node.protocol === "http" ? httpListener(node, settings) : httpsListener(node, settings, chains);
}

/** A plain TCP listener (a Gateway's TCP listener): one filter chain proxying every connection to its clusters. */
function tcpListener(node: Listener, settings: ListenerSettings): JsonObject {
  return { ...ingressListener(node, settings, []), filter_chains: [{ filters: [tcpProxyFilter(node.name, node.tcpProxy!, settings)] }] };
}

/** The idle timeout, maximum connection duration and requests per connection of downstream connections. */
function commonHttpProtocolOptions(global: GlobalConfig): JsonObject {
  const options: JsonObject = { idle_timeout: duration(global.timeouts.connectionIdleMs) };
  if (global.timeouts.maxConnectionDurationMs > 0) options.max_connection_duration = duration(global.timeouts.maxConnectionDurationMs);
  if (global.listener.maxRequestsPerConnection !== undefined) options.max_requests_per_connection = global.listener.maxRequestsPerConnection;
  return options;
}

/** Envoy's IP_TOS and IPV6_TCLASS socket options (level, name), as Contour sets them. */
const IP_TOS = { level: 0, name: 1 };
const IPV6_TCLASS = { level: 41, name: 67 };

/** What the ingress listeners share beyond their filter chains: buffer limit, socket options, the PROXY protocol. */
function ingressListener(node: Listener, settings: ListenerSettings, listenerFilters: JsonObject[]): JsonObject {
  const limits = settings.global.listener;
  const listener: JsonObject = { name: node.name, address: socketAddress(node.address, node.port) };
  const filters = limits.useProxyProtocol ? [{ name: "envoy.filters.listener.proxy_protocol", typed_config: any(PROXY_PROTOCOL) }, ...listenerFilters] : listenerFilters;
  if (filters.length > 0) listener.listener_filters = filters;
  if (limits.perConnectionBufferLimitBytes !== undefined) listener.per_connection_buffer_limit_bytes = limits.perConnectionBufferLimitBytes;
  if (limits.maxConnectionsToAcceptPerSocketEvent !== undefined) listener.max_connections_to_accept_per_socket_event = limits.maxConnectionsToAcceptPerSocketEvent;
  if (limits.connectionBalancer === "exact") listener.connection_balance_config = { exact_balance: {} };
  const socketOptions: JsonObject[] = [];
  if (limits.socketOptions.tos > 0) socketOptions.push({ ...IP_TOS, int_value: limits.socketOptions.tos, state: "STATE_LISTENING" });
  // IPV6_TCLASS cannot be set on an IPv4 socket (Envoy then fails the listener): IPv6 addresses only.
  if (limits.socketOptions.trafficClass > 0 && node.address.includes(":")) socketOptions.push({ ...IPV6_TCLASS, int_value: limits.socketOptions.trafficClass, state: "STATE_LISTENING" });
  if (socketOptions.length > 0) listener.socket_options = socketOptions;
  return listener;
}

/** The plaintext listener (`ingress_http`): one connection manager over its route configuration. */
function httpListener(node: Listener, settings: ListenerSettings): JsonObject {
  const hcm = httpConnectionManager({ routeConfigName: node.routeConfigName!, statPrefix: node.name, virtualHosts: node.virtualHosts }, settings);
  return { ...ingressListener(node, settings, []), filter_chains: [{ filters: [hcm] }] };
}

/**
 * A host's TLS versions within the global ones: the higher minimum, the lower maximum (never below
 * that minimum), so the configuration's minimum holds for every host.
 */
export function listenerTlsVersions(vhost: SecureVirtualHost, global: GlobalConfig): { minVersion: TlsVersion; maxVersion: TlsVersion } {
  const minVersion = vhost.minTlsVersion > global.tls.minVersion ? vhost.minTlsVersion : global.tls.minVersion;
  const lower = vhost.maxTlsVersion < global.tls.maxVersion ? vhost.maxTlsVersion : global.tls.maxVersion;
  return { minVersion, maxVersion: lower < minVersion ? minVersion : lower };
}

/** The filter chain of one TLS virtual host, matched by SNI (`statPrefix`: its listener's name). */
export function secureFilterChain(chain: SecureFilterChain, statPrefix: string, settings: ListenerSettings): JsonObject {
  const vhost = chain.virtualHost;
  // `*` (a Gateway TLS listener without a hostname) takes every TLS connection no other chain's SNI name matches.
  const match = vhost.name === "*" ? { transport_protocol: "tls" } : { server_names: [vhost.name] };
  const out: JsonObject = { name: chain.name, filter_chain_match: match };
  if (vhost.passthrough) {
    out.filters = [tcpProxyFilter(statPrefix, vhost.tcpProxy!, settings)];
    return out;
  }
  const tcp = vhost.tcpProxy;
  out.transport_socket = tlsTransportSocket(
    downstreamTlsContext({
      secret: vhost.secret!,
      ...listenerTlsVersions(vhost, settings.global),
      cipherSuites: settings.global.tls.cipherSuites,
      alpn: tcp ? [] : shared(settings, "alpn", () => alpnProtocols(settings.global.defaultHttpVersions)),
      validation: vhost.downstreamValidation,
      validationSecret: chain.clientValidationSecret,
      configSource: configSourceOf(settings),
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
    transport_socket: tlsTransportSocket(
      downstreamTlsContext({ secret: fallback.secret, ...settings.global.tls, alpn: alpnProtocols(settings.global.defaultHttpVersions), configSource: settings.configSource }),
    ),
    filters: [httpConnectionManager({ routeConfigName: fallback.routeConfigName, statPrefix, virtualHosts: fallback.virtualHosts }, settings)],
  };
}

/** The TLS listener (`ingress_https`): the TLS inspector, one chain per TLS virtual host, the fallback chain last. */
function httpsListener(node: Listener, settings: ListenerSettings, memo?: FilterChainMemo): JsonObject {
  const make = (chain: SecureFilterChain) => secureFilterChain(chain, node.name, settings);
  const chains = node.filterChains.map((chain) => (memo ? memo(chain, node.name, () => make(chain)) : make(chain)));
  if (node.fallback) chains.push(fallbackFilterChain(node.fallback, node.name, settings));
  const tlsInspector = { name: "envoy.filters.listener.tls_inspector", typed_config: any("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector") };
  return { ...ingressListener(node, settings, [tlsInspector]), filter_chains: chains };
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
