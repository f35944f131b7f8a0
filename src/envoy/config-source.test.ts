import { describe, expect, test } from "bun:test";
import { bootstrapConfig, XDS_CLUSTER } from "./bootstrap.ts";
import { configSourceFor } from "./config-source.ts";
import { testCluster, testDag, testSecret, testSecureVirtualHost, testVirtualHost, testRoute, weighted, expectEnvoyAccepts } from "./testing.ts";
import { translate } from "./translate.ts";
import { resourceTypes } from "./common.ts";

type J = Record<string, any>;

/** Every config source object anywhere in `value`. */
function configSources(value: unknown, found: J[] = []): J[] {
  if (Array.isArray(value)) value.forEach((v) => configSources(v, found));
  else if (value && typeof value === "object") {
    const object = value as J;
    if (object.resource_api_version === "V3" && ("ads" in object || "api_config_source" in object)) found.push(object);
    else Object.values(object).forEach((v) => configSources(v, found));
  }
  return found;
}

describe("xDS config sources", () => {
  const dag = () => {
    const cluster = testCluster("web");
    return testDag({
      plain: [testVirtualHost("a.example.com", [testRoute("/", { clusters: [weighted(cluster, 1)] })])],
      secure: [testSecureVirtualHost("b.example.com", [testRoute("/", { clusters: [weighted(cluster, 1)] })], { secret: testSecret() })],
    });
  };

  test("by default RDS, EDS and SDS come over ADS", () => {
    const out = translate(dag());
    const sources = configSources([...out.listeners, ...out.clusters]);
    expect(sources.length).toBeGreaterThanOrEqual(4); // 2 RDS, 1 EDS, 1 SDS at least
    expect(sources.every((s) => JSON.stringify(s) === JSON.stringify({ ads: {}, resource_api_version: "V3" }))).toBe(true);
  });

  test("per-type: every one points at the xDS cluster's per-type gRPC services, and Envoy's rules accept them", async () => {
    const out = translate(dag(), { xdsConfigSource: { kind: "per-type", cluster: XDS_CLUSTER } });
    const sources = configSources([...out.listeners, ...out.clusters]);
    expect(sources.length).toBeGreaterThanOrEqual(4);
    for (const source of sources) expect(source).toEqual(configSourceFor({ kind: "per-type", cluster: "isobar" }));
    for (const listener of out.listeners) await expectEnvoyAccepts(resourceTypes.listeners, listener);
    for (const cluster of out.clusters) await expectEnvoyAccepts(resourceTypes.clusters, cluster);
    // The cluster they name is the one `agent bootstrap --xds-mode per-type` defines.
    const bootstrap = bootstrapConfig({ xdsAddress: "127.0.0.1", xdsPort: 8001, mode: "per-type", adminSocketPath: "/admin/admin.sock", nodeId: "n", nodeCluster: "c" }) as J;
    expect(bootstrap.static_resources.clusters.map((c: J) => c.name)).toContain(sources[0]!.api_config_source.grpc_services[0].envoy_grpc.cluster_name);
    expect(bootstrap.dynamic_resources.ads_config).toBeUndefined();
  });

  test("per-type: the translators write it everywhere they name a resource, the CA and client certificate secrets of both sides included", () => {
    const ca = { ...testSecret(), name: "default/ca" };
    const client = { ...testSecret(), name: "default/client" };
    const upstream = testCluster("tls", { protocol: "tls", validation: { caSecret: ca, subjectNames: ["tls.example.com"] }, clientCertificate: client });
    const out = translate(
      testDag({
        secure: [
          testSecureVirtualHost("c.example.com", [testRoute("/", { clusters: [weighted(upstream, 1)] })], {
            secret: testSecret(),
            downstreamValidation: { caSecret: ca, skipClientCertValidation: false, optionalClientCertificate: false },
          }),
        ],
      }),
      { xdsConfigSource: { kind: "per-type", cluster: XDS_CLUSTER } },
    );
    const text = JSON.stringify([...out.listeners, ...out.clusters]);
    expect(text).not.toContain('"ads"');
    // RDS, the server certificate, the client CA; EDS, the upstream CA and client certificate.
    expect(configSources([...out.listeners, ...out.clusters]).length).toBeGreaterThanOrEqual(6);
  });
});
