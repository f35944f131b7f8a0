import { describe, expect, test } from "bun:test";
import { adminCluster, cluster } from "./cluster.ts";
import { resourceTypes } from "./common.ts";
import { expectEnvoyAccepts, testCluster, testSecret } from "./testing.ts";

type J = Record<string, any>;
const CLUSTER = resourceTypes.clusters;
const HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

describe("cluster", () => {
  test("an EDS cluster over ADS with Contour's defaults", async () => {
    const source = testCluster("echo");
    const out = (await expectEnvoyAccepts(CLUSTER, cluster(source))) as J;
    expect(out).toEqual({
      name: source.name,
      alt_stat_name: "default_echo_80",
      type: "EDS",
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: "default/echo/http" },
      connect_timeout: "2s",
      lb_policy: "ROUND_ROBIN",
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
    });
  });

  test("load balancer strategies", async () => {
    const policies = [];
    for (const loadBalancer of ["RoundRobin", "WeightedLeastRequest", "Random", "Cookie", "RequestHash"] as const) {
      policies.push(((await expectEnvoyAccepts(CLUSTER, cluster(testCluster("x", { loadBalancer })))) as J).lb_policy);
    }
    expect(policies).toEqual(["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "RING_HASH"]);
  });

  test("h2c is HTTP/2 in clear; h2 is HTTP/2 over TLS with ALPN h2; tls is HTTP/1.1 over TLS", async () => {
    const h2c = (await expectEnvoyAccepts(CLUSTER, cluster(testCluster("x", { protocol: "h2c" })))) as J;
    expect(h2c.typed_extension_protocol_options[HTTP_OPTIONS].explicit_http_config).toEqual({ http2_protocol_options: {} });
    expect(h2c.transport_socket).toBeUndefined();

    const h2 = (await expectEnvoyAccepts(CLUSTER, cluster(testCluster("x", { protocol: "h2", sni: "backend.local" })))) as J;
    expect(h2.typed_extension_protocol_options[HTTP_OPTIONS].explicit_http_config).toEqual({ http2_protocol_options: {} });
    expect(h2.transport_socket.name).toBe("envoy.transport_sockets.tls");
    expect(h2.transport_socket.typed_config).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      common_tls_context: { alpn_protocols: ["h2"] },
      sni: "backend.local",
    });

    const tls = (await expectEnvoyAccepts(CLUSTER, cluster(testCluster("x", { protocol: "tls" })))) as J;
    expect(tls.typed_extension_protocol_options).toBeUndefined();
    expect(tls.transport_socket.typed_config.common_tls_context).toEqual({});
  });

  test("upstream validation: CA by SDS, subject names as typed SAN matchers; client certificate by SDS", async () => {
    const ca = testSecret("default/ca/abc", "ca");
    const client = testSecret("isobar/client/def");
    const out = (await expectEnvoyAccepts(
      CLUSTER,
      cluster(testCluster("x", { protocol: "tls", validation: { caSecret: ca, subjectNames: ["b.svc", "a.svc"] }, clientCertificate: client })),
    )) as J;
    expect(out.transport_socket.typed_config.common_tls_context).toEqual({
      tls_certificate_sds_secret_configs: [{ name: client.name, sds_config: { ads: {}, resource_api_version: "V3" } }],
      combined_validation_context: {
        default_validation_context: {
          match_typed_subject_alt_names: [
            { san_type: "DNS", matcher: { exact: "a.svc" } },
            { san_type: "DNS", matcher: { exact: "b.svc" } },
          ],
        },
        validation_context_sds_secret_config: { name: ca.name, sds_config: { ads: {}, resource_api_version: "V3" } },
      },
    });
  });

  test("HTTP and TCP health checks, circuit breakers, timeouts", async () => {
    const http = (await expectEnvoyAccepts(
      CLUSTER,
      cluster(
        testCluster("x", {
          healthCheck: {
            path: "/healthz",
            intervalSeconds: 5,
            timeoutSeconds: 2,
            unhealthyThresholdCount: 3,
            healthyThresholdCount: 2,
            expectedStatuses: [{ start: 200, end: 300 }],
          },
          circuitBreakers: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 1000, maxRetries: 3, perHostMaxConnections: 5 },
          connectTimeoutMs: 500,
          idleTimeoutMs: 30_000,
        }),
      ),
    )) as J;
    expect(http.health_checks).toEqual([
      {
        timeout: "2s",
        interval: "5s",
        unhealthy_threshold: 3,
        healthy_threshold: 2,
        http_health_check: { path: "/healthz", host: "contour-envoy-healthcheck", expected_statuses: [{ start: 200, end: 300 }] },
      },
    ]);
    expect(http.ignore_health_on_host_removal).toBe(true);
    expect(http.circuit_breakers).toEqual({
      thresholds: [{ max_connections: 100, max_pending_requests: 10, max_requests: 1000, max_retries: 3 }],
      per_host_thresholds: [{ max_connections: 5 }],
    });
    expect(http.connect_timeout).toBe("0.5s");
    expect(http.typed_extension_protocol_options[HTTP_OPTIONS]).toEqual({
      "@type": `type.googleapis.com/${HTTP_OPTIONS}`,
      explicit_http_config: { http_protocol_options: {} },
      common_http_protocol_options: { idle_timeout: "30s" },
    });

    const tcp = (await expectEnvoyAccepts(
      CLUSTER,
      cluster(testCluster("x", { tcpHealthCheck: { intervalSeconds: 10, timeoutSeconds: 1, unhealthyThresholdCount: 2, healthyThresholdCount: 1 } })),
    )) as J;
    expect(tcp.health_checks[0].tcp_health_check).toEqual({});

    // Zero settings take Contour's defaults; an HTTP/2 upstream is checked over HTTP/2.
    const h2 = (await expectEnvoyAccepts(
      CLUSTER,
      cluster(testCluster("x", { protocol: "h2c", healthCheck: { path: "/", intervalSeconds: 0, timeoutSeconds: 0, unhealthyThresholdCount: 0, healthyThresholdCount: 0 } })),
    )) as J;
    expect(h2.health_checks[0]).toEqual({
      timeout: "2s",
      interval: "5s",
      unhealthy_threshold: 3,
      healthy_threshold: 2,
      http_health_check: { path: "/", host: "contour-envoy-healthcheck", codec_client_type: "HTTP2" },
    });
  });

  test("an ExternalName Service is a STRICT_DNS cluster with its load assignment inline", async () => {
    const out = (await expectEnvoyAccepts(CLUSTER, cluster(testCluster("ext", { externalName: "api.example.com", protocol: "tls" })))) as J;
    expect(out.type).toBe("STRICT_DNS");
    expect(out.eds_cluster_config).toBeUndefined();
    expect(out.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: "api.example.com",
      port_value: 80,
    });
    expect(out.transport_socket.typed_config.sni).toBe("api.example.com");
  });

  test("envoy-admin is a static cluster on the admin unix socket", async () => {
    const out = (await expectEnvoyAccepts(CLUSTER, adminCluster("/admin/admin.sock"))) as J;
    expect(out.name).toBe("envoy-admin");
    expect(out.type).toBe("STATIC");
    expect(out.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).toEqual({ pipe: { path: "/admin/admin.sock" } });
  });
});
