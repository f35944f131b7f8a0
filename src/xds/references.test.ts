import { describe, expect, test } from "bun:test";
import { findReferences, missingReferences, referencesOf } from "./references.ts";
import { TypeUrls } from "./types.ts";

const sds = (name: string) => ({ name, sds_config: { ads: {}, resource_api_version: "V3" } });

describe("referencesOf", () => {
  test("many filter chains or virtual hosts: each entry's references found once per entry object, with the paths of a whole walk", () => {
    const chain = (i: number) => ({
      name: `c${i}`,
      filters: [{ name: "hcm", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", rds: { route_config_name: `https/h${i}` } } }],
      transport_socket: { typed_config: { common_tls_context: { tls_certificate_sds_secret_configs: [sds(`cert${i}`)] } } },
    });
    const chains = Array.from({ length: 12 }, (_, i) => chain(i));
    const expected = (list: Array<ReturnType<typeof chain>>) =>
      list.flatMap((c, i) => [
        { kind: "routeConfig" as const, name: c.filters[0]!.typed_config.rds.route_config_name, path: `filter_chains[${i}].filters[0].typed_config.rds.route_config_name` },
        { kind: "secret" as const, name: c.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0]!.name, path: `filter_chains[${i}].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name` },
      ]);
    expect(referencesOf(TypeUrls.listener, { name: "https", filter_chains: chains })).toEqual(expected(chains));
    // The same entries at other places, one replaced: paths follow the places, the new entry its own content.
    const moved = [chain(99), ...chains.slice(1).reverse()];
    expect(referencesOf(TypeUrls.listener, { name: "https", filter_chains: moved })).toEqual(expected(moved));
    const hosts = Array.from({ length: 9 }, (_, i) => ({ name: `h${i}`, domains: [`h${i}`], routes: [{ match: { prefix: "/" }, route: { cluster: `k${i}` } }] }));
    expect(referencesOf(TypeUrls.route, { name: "ingress_http", virtual_hosts: hosts })).toEqual(hosts.map((_, i) => ({ kind: "cluster" as const, name: `k${i}`, path: `virtual_hosts[${i}].routes[0].route.cluster` })));
  });

  test("a VHDS virtual host names the clusters of its routes, as the route config's virtual host does", () => {
    const vhost = { name: "ingress_http/a.com", domains: ["a.com"], routes: [{ match: { prefix: "/" }, route: { weighted_clusters: { clusters: [{ name: "c1", weight: 1 }] }, request_mirror_policies: [{ cluster: "m" }] } }] };
    expect(referencesOf(TypeUrls.virtualHost, vhost)).toEqual([
      { kind: "cluster", name: "m", path: "routes[0].route.request_mirror_policies[0].cluster" },
      { kind: "cluster", name: "c1", path: "routes[0].route.weighted_clusters.clusters[0].name" },
    ]);
  });

  test("a listener names its RDS route config and its SDS secrets (certificates, CA and CRL contexts), with paths", () => {
    const listener = {
      name: "https",
      filter_chains: [
        {
          filters: [{ name: "hcm", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", rds: { route_config_name: "https/a" } } }],
          transport_socket: {
            typed_config: {
              common_tls_context: {
                tls_certificate_sds_secret_configs: [sds("cert")],
                combined_validation_context: { validation_context_sds_secret_config: sds("ca") },
              },
            },
          },
        },
        { filters: [{ typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", cluster: "tcp/x" } }] },
      ],
      // A static secret of the bootstrap (no sds_config) is not an SDS reference.
      listener_filters: [{ tls_certificate_sds_secret_configs: [{ name: "static" }] }],
    };
    expect(referencesOf(TypeUrls.listener, listener)).toEqual([
      { kind: "routeConfig", name: "https/a", path: "filter_chains[0].filters[0].typed_config.rds.route_config_name" },
      { kind: "secret", name: "cert", path: "filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name" },
      { kind: "secret", name: "ca", path: "filter_chains[0].transport_socket.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name" },
      { kind: "cluster", name: "tcp/x", path: "filter_chains[1].filters[0].typed_config.cluster" },
    ]);
  });

  test("a route config names its clusters: plain, weighted and mirrors", () => {
    const routeConfig = {
      name: "ingress_http",
      virtual_hosts: [
        {
          name: "a",
          routes: [
            { match: { prefix: "/" }, route: { cluster: "a/one", request_mirror_policies: [{ cluster: "a/mirror" }] } },
            { match: { prefix: "/w" }, route: { weighted_clusters: { clusters: [{ name: "a/w1", weight: 1 }, { name: "a/w2", weight: 1 }] } } },
          ],
        },
      ],
    };
    expect(findReferences(TypeUrls.route, routeConfig)).toEqual({ routes: [], clusters: ["a/one", "a/mirror", "a/w1", "a/w2"], endpoints: [], secrets: [] });
  });

  test("an EDS cluster names its load assignment (service_name or its own name) and its upstream CRL secret", () => {
    const cluster = {
      name: "c",
      type: "EDS",
      eds_cluster_config: { service_name: "c/eds" },
      transport_socket: { typed_config: { common_tls_context: { validation_context_sds_secret_config: sds("crl") } } },
    };
    expect(findReferences(TypeUrls.cluster, cluster)).toEqual({ routes: [], clusters: [], endpoints: ["c/eds"], secrets: ["crl"] });
    expect(referencesOf(TypeUrls.cluster, { name: "d", type: "EDS" })).toEqual([{ kind: "endpoint", name: "d", path: "name" }]);
  });
});

describe("missingReferences", () => {
  test("reports what must exist and does not; a route's cluster may be missing (Envoy answers 503)", () => {
    const refs = [
      { kind: "routeConfig" as const, name: "r", path: "a" },
      { kind: "secret" as const, name: "s", path: "b" },
      { kind: "endpoint" as const, name: "e", path: "c" },
      { kind: "cluster" as const, name: "gone", path: "d" },
    ];
    const exists = (typeUrl: string, name: string) => typeUrl === TypeUrls.secret && name === "s";
    expect(missingReferences(refs, exists).map((ref) => ref.name)).toEqual(["r", "e"]);
  });
});
