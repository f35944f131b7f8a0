// Small, valid Envoy resources in our JSON form for xDS protocol tests: a listener whose HTTP
// connection manager fetches a route config over RDS, an EDS cluster, its load assignment, a secret.
import type { ResourceSet } from "../../src/xds/types.ts";

const ads = { ads: {}, resource_api_version: "V3" };

export function listener(name: string, routeConfig: string, options: { port?: number; secret?: string } = {}): object {
  const hcm = {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
    stat_prefix: name,
    rds: { route_config_name: routeConfig, config_source: ads },
    http_filters: [{ name: "router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
  };
  const transport = options.secret
    ? {
        transport_socket: {
          name: "tls",
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            common_tls_context: { tls_certificate_sds_secret_configs: [{ name: options.secret, sds_config: ads }] },
          },
        },
      }
    : {};
  return {
    name,
    address: { socket_address: { address: "0.0.0.0", port_value: options.port ?? 8080 } },
    filter_chains: [{ filters: [{ name: "hcm", typed_config: hcm }], ...transport }],
  };
}

export function route(name: string, cluster: string, domain = "*"): object {
  return {
    name,
    virtual_hosts: [{ name: `${name}-vh`, domains: [domain], routes: [{ match: { prefix: "/" }, route: { cluster } }] }],
  };
}

export function edsCluster(name: string, options: { timeout?: string } = {}): object {
  return { name, type: "EDS", eds_cluster_config: { eds_config: ads }, connect_timeout: options.timeout ?? "1s" };
}

export function loadAssignment(clusterName: string, ports: number[] = [9000]): object {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        locality: { region: "local" },
        lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } })),
      },
    ],
  };
}

export function secret(name: string): object {
  return { name, tls_certificate: { certificate_chain: { inline_string: "cert" }, private_key: { inline_string: "key" } } };
}

/** A consistent set: `n` clusters with load assignments, one listener and route config using the first. */
export function resourceSet(n = 2, options: { routeDomain?: string } = {}): ResourceSet {
  const clusters = Array.from({ length: n }, (_, i) => edsCluster(`cluster-${i}`));
  return {
    listeners: [listener("listener-0", "route-0")],
    routes: [route("route-0", "cluster-0", options.routeDomain)],
    clusters,
    endpoints: Array.from({ length: n }, (_, i) => loadAssignment(`cluster-${i}`)),
    secrets: [],
  };
}
