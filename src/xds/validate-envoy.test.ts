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
