// The benchmark's snapshot: `size` EDS clusters, their load assignments (three endpoints each, with
// locality), one listener and one route config of `size` virtual hosts. `generation` changes exactly
// one virtual host and one load assignment, the change every client must then receive.
import type { ResourceSet } from "../src/xds/types.ts";

export const benchListenerName = "ingress_http";
export const benchRouteConfigName = "ingress_http";

export function clusterName(index: number): string {
  return `default/service-${index}/80`;
}

export function benchResources(size: number, generation: number): ResourceSet {
  const clusters: object[] = [];
  const endpoints: object[] = [];
  const virtualHosts: object[] = [];
  for (let i = 0; i < size; i++) {
    const name = clusterName(i);
    clusters.push({
      name,
      type: "EDS",
      connect_timeout: "2s",
      lb_policy: "ROUND_ROBIN",
      eds_cluster_config: { service_name: name, eds_config: { ads: {}, resource_api_version: "V3" } },
    });
    const changed = i === 0 ? generation : 0;
    endpoints.push({
      cluster_name: name,
      endpoints: [
        {
          locality: { region: "bench", zone: "a" },
          lb_endpoints: [0, 1, 2].map((e) => ({
            endpoint: { address: { socket_address: { address: `10.${(i >> 8) & 255}.${i & 255}.${e + 1}`, port_value: 8080 + (e === 0 ? changed : 0) } } },
          })),
        },
      ],
    });
    virtualHosts.push({
      name: `service-${i}.example.com`,
      domains: [`service-${i}.example.com`, `service-${i}.example.com:*`],
      routes: [
        {
          match: { prefix: "/" },
          route: { cluster: name, timeout: `${15 + (i === 0 ? generation : 0)}s` },
        },
      ],
    });
  }
  const listener = {
    name: benchListenerName,
    address: { socket_address: { address: "0.0.0.0", port_value: 8080 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: benchListenerName,
              rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: benchRouteConfigName },
              http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
            },
          },
        ],
      },
    ],
  };
  return {
    listeners: [listener],
    routes: [{ name: benchRouteConfigName, virtual_hosts: virtualHosts }],
    clusters,
    endpoints,
    secrets: [],
  };
}
