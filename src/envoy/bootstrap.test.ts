import { describe, expect, test } from "bun:test";
import { encodeStrict } from "../xds/registry.ts";
import { decodeToJson } from "../xds/registry-decode.ts";
import { validateResource } from "../xds/validate.ts";
import { type BootstrapOptions, BootstrapError, bootstrapConfig, sdsResourceFiles } from "./bootstrap.ts";

const base: BootstrapOptions = { xdsAddress: "127.0.0.1", xdsPort: 8001, mode: "delta", adminSocketPath: "/admin/admin.sock", nodeId: "envoy-0", nodeCluster: "envoy" };
const tls = { caFile: "/certs/ca.crt", certFile: "/certs/tls.crt", keyFile: "/certs/tls.key", serverName: "isobar", resourcesDir: "/config/resources" };
const BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap";
type Json = Record<string, any>;

describe("bootstrap", () => {
  test("defaults: delta ADS to a STATIC 127.0.0.1 cluster over HTTP/2, admin on a unix socket only", () => {
    const config = bootstrapConfig(base) as Json;
    expect(config.dynamic_resources.ads_config.api_type).toBe("DELTA_GRPC");
    expect(config.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: "V3" });
    expect(config.admin).toEqual({ address: { pipe: { path: "/admin/admin.sock", mode: 0o600 } } });
    const cluster = config.static_resources.clusters[0];
    expect(cluster.type).toBe("STATIC");
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: "127.0.0.1", port_value: 8001 });
    expect(cluster.transport_socket).toBeUndefined();
    expect(decodeToJson(BOOTSTRAP, encodeStrict(BOOTSTRAP, config))).toEqual(config);
    expect(validateResource(BOOTSTRAP, config)).toEqual([]);
  });

  test("state-of-the-world and per-type modes", () => {
    expect((bootstrapConfig({ ...base, mode: "sotw" }) as Json).dynamic_resources.ads_config.api_type).toBe("GRPC");
    const perType = bootstrapConfig({ ...base, mode: "per-type" }) as Json;
    expect(perType.dynamic_resources.ads_config).toBeUndefined();
    expect(perType.dynamic_resources.cds_config.api_config_source.api_type).toBe("GRPC");
    expect(validateResource(BOOTSTRAP, perType)).toEqual([]);
  });

  test("a DNS name gives a STRICT_DNS cluster; localhost is refused", () => {
    expect((bootstrapConfig({ ...base, xdsAddress: "isobar.projectcontour" }) as Json).static_resources.clusters[0].type).toBe("STRICT_DNS");
    expect(() => bootstrapConfig({ ...base, xdsAddress: "localhost" })).toThrow(BootstrapError);
    expect(() => bootstrapConfig({ ...base, xdsAddress: "localhost" })).toThrow("use 127.0.0.1");
  });

  test("an admin address that is an IP, localhost or relative is refused", () => {
    for (const admin of ["127.0.0.1", "0.0.0.0:9001", "localhost:9001", "admin.sock", "::1"]) {
      expect(() => bootstrapConfig({ ...base, adminSocketPath: admin })).toThrow("never on the network");
    }
  });

  test("mTLS: TLS 1.3 only, certificates by SDS files on disk, the agent's SAN pinned", () => {
    const config = bootstrapConfig({ ...base, xdsAddress: "isobar.projectcontour", tls }) as Json;
    const socket = config.static_resources.clusters[0].transport_socket.typed_config;
    expect(socket.sni).toBe("isobar");
    expect(socket.common_tls_context.tls_params).toEqual({ tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_3" });
    expect(socket.common_tls_context.tls_certificate_sds_secret_configs[0].sds_config.path_config_source).toEqual({
      path: "/config/resources/xds-tls-certificate.json",
      watched_directory: { path: "/config/resources" },
    });
    expect(validateResource(BOOTSTRAP, config)).toEqual([]);
    const files = sdsResourceFiles(tls);
    const validation = (files[1]!.content as Json).resources[0];
    expect(validation.validation_context).toEqual({ trusted_ca: { filename: "/certs/ca.crt" }, match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "isobar" } }] });
    const certificate = (files[0]!.content as Json).resources[0];
    expect(certificate.tls_certificate.private_key).toEqual({ filename: "/certs/tls.key" });
    expect(JSON.stringify(files)).not.toContain("BEGIN");
  });
});
