// Envoy's own load-time checks in the validator: each case is a configuration a real Envoy 1.40
// NACKed in the differential fuzz (test/e2e/envoy-fuzz.e2e.test.ts), with Envoy's message.
import { describe, expect, test } from "bun:test";
import { TypeUrls } from "./types.ts";
import { validateResource } from "./validate.ts";

const routeConfig = (route: Record<string, unknown>, vhost: Record<string, unknown> = {}) => ({
  name: "ingress_http",
  virtual_hosts: [{ name: "a", domains: ["a.example.com"], routes: [{ match: { prefix: "/" }, route: { cluster: "c" }, ...route }], ...vhost }],
});

describe("Envoy's header parser", () => {
  test("removing Host or a pseudo-header, at any level, is refused with Envoy's message", () => {
    expect(validateResource(TypeUrls.route, routeConfig({ request_headers_to_remove: ["Host"] }))).toEqual([
      { path: "virtual_hosts[0].routes[0].request_headers_to_remove[0]", rule: "envoy.header_parser", message: ":-prefixed or host headers may not be removed" },
    ]);
    expect(validateResource(TypeUrls.route, routeConfig({}, { response_headers_to_remove: ["x-a", ":status"] }))).toEqual([
      { path: "virtual_hosts[0].response_headers_to_remove[1]", rule: "envoy.header_parser", message: ":-prefixed or host headers may not be removed" },
    ]);
    const weighted = { route: { weighted_clusters: { clusters: [{ name: "c", weight: 1, request_headers_to_remove: ["HOST"] }] } } };
    expect(validateResource(TypeUrls.route, routeConfig(weighted)).map((e) => e.path)).toEqual(["virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0].request_headers_to_remove[0]"]);
  });

  test("adding Host or a pseudo-header is refused; other headers pass", () => {
    const add = (key: string) => routeConfig({ request_headers_to_add: [{ header: { key, value: "x" } }] });
    expect(validateResource(TypeUrls.route, add("host")).map((e) => e.message)).toEqual([":-prefixed or host headers may not be modified"]);
    expect(validateResource(TypeUrls.route, add(":path")).map((e) => e.message)).toEqual([":-prefixed or host headers may not be modified"]);
    expect(validateResource(TypeUrls.route, add("x-host"))).toEqual([]);
    expect(validateResource(TypeUrls.route, routeConfig({ request_headers_to_remove: ["x-a"] }))).toEqual([]);
  });
});

describe("Envoy's direct response body limit", () => {
  const direct = (body: string) => routeConfig({ route: undefined, direct_response: { status: 200, body: { inline_string: body } } });
  test("a body over 4096 bytes (UTF-8) is refused with Envoy's message; the route config's own limit counts", () => {
    expect(validateResource(TypeUrls.route, direct("%".repeat(8200)))).toEqual([
      { path: "virtual_hosts[0].routes[0].direct_response.body", rule: "envoy.direct_response_body", message: "response body size is 8200 bytes; maximum is 4096" },
    ]);
    expect(validateResource(TypeUrls.route, direct("ü".repeat(2049))).map((e) => e.message)).toEqual(["response body size is 4098 bytes; maximum is 4096"]);
    expect(validateResource(TypeUrls.route, direct("x".repeat(4096)))).toEqual([]);
    expect(validateResource(TypeUrls.route, { ...direct("x".repeat(8200)), max_direct_response_body_size_bytes: 10_000 })).toEqual([]);
  });
});

describe("Envoy's CRL rule", () => {
  const crl = { inline_string: "-----BEGIN X509 CRL-----\n" };
  const listener = (common: Record<string, unknown>) => ({
    name: "ingress_https",
    address: { socket_address: { address: "0.0.0.0", port_value: 8443 } },
    filter_chains: [{ filters: [], transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", common_tls_context: common } } }],
  });
  const path = "filter_chains[0].transport_socket.typed_config.common_tls_context";
  test("a CRL with no CA in its validation context is refused with Envoy's message", () => {
    expect(validateResource(TypeUrls.listener, listener({ validation_context: { crl } }))).toEqual([
      { path: `${path}.validation_context.crl`, rule: "envoy.crl_without_ca", message: "Failed to load CRL from <inline> without trusted CA" },
    ]);
  });
  test("a CRL beside a CA, or combined with a CA fetched over SDS, passes", () => {
    expect(validateResource(TypeUrls.listener, listener({ validation_context: { crl, trusted_ca: { inline_string: "ca" } } }))).toEqual([]);
    const sds = { name: "default/ca", sds_config: { ads: {}, resource_api_version: "V3" } };
    expect(validateResource(TypeUrls.listener, listener({ combined_validation_context: { default_validation_context: { crl }, validation_context_sds_secret_config: sds } }))).toEqual([]);
  });
});
