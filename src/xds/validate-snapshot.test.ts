import { describe, expect, test } from "bun:test";
import { findReferences } from "./references.ts";
import { type ResourceSet, TypeUrls } from "./types.ts";
import { validateSnapshot } from "./validate-snapshot.ts";
import { createValidationMemo } from "./validate-memo.ts";
import { edsCluster, httpListener, httpsListener, loadAssignment, routeConfig, tlsFilterChain, tlsSecret, virtualHost } from "./validate-testing.ts";

/** A consistent set: both listeners, their route configs, two EDS clusters, their endpoints, two secrets. */
function goodSet(): ResourceSet {
  const https = (name: string) => ({ name: `https/${name}`, virtual_hosts: [virtualHost(name, "default/web/80")] });
  return {
    listeners: [httpListener(), httpsListener()],
    routes: [routeConfig("ingress_http", 2), https("foo.example.com"), https("bar.example.com")],
    clusters: [edsCluster("default/web/80", { http2: true }), edsCluster("default/api/80")],
    endpoints: [loadAssignment("default/web/80"), loadAssignment("default/api/80")],
    secrets: [tlsSecret("default/foo-tls"), tlsSecret("default/bar-tls")],
  };
}

type Json = Record<string, unknown>;
const names = (resources: object[], field = "name") => resources.map((r) => (r as Json)[field]);

/** Every name the valid set points at is in it: what the snapshot store demands. */
function expectConsistent(valid: ResourceSet): void {
  const have = { routes: new Set(names(valid.routes)), endpoints: new Set(names(valid.endpoints, "cluster_name")), secrets: new Set(names(valid.secrets)) };
  for (const [typeUrl, resources] of [
    [TypeUrls.listener, valid.listeners],
    [TypeUrls.cluster, valid.clusters],
  ] as const) {
    for (const resource of resources) {
      const refs = findReferences(typeUrl, resource);
      for (const kind of ["routes", "endpoints", "secrets"] as const) for (const name of refs[kind]) expect(have[kind].has(name)).toBe(true);
    }
  }
}

describe("validateSnapshot", () => {
  test("a valid, consistent set passes unchanged", () => {
    const set = goodSet();
    const { valid, rejected } = validateSnapshot(set);
    expect(rejected).toEqual([]);
    expect(valid).toEqual(set);
    expectConsistent(valid);
  });

  test("a broken virtual host is dropped from its route config; the rest and the listener stay", () => {
    const set = goodSet();
    const routes = set.routes[0] as { virtual_hosts: Json[] };
    const broken = virtualHost("bad.example.com", "default/web/80") as { routes: Json[] };
    broken.routes[1] = { match: { safe_regex: { regex: "^/api(?=/v1)" } }, route: { cluster: "default/web/80" } };
    routes.virtual_hosts.splice(1, 0, broken);
    const { valid, rejected } = validateSnapshot(set);
    const regexError = {
      path: "virtual_hosts[1].routes[1].match.safe_regex.regex",
      rule: "re2",
      message: 'invalid RE2 regex "^/api(?=/v1)": lookaround ((?=, (?!, (?<=, (?<!) not supported by RE2',
    };
    // The left-out virtual host is named, so its owners are a lookup, not a parse of the path.
    expect(rejected).toEqual([{ typeUrl: TypeUrls.route, name: "ingress_http", partial: true, errors: [regexError], parts: [{ name: "bad.example.com", errors: [regexError] }] }]);
    const published = valid.routes[0] as { virtual_hosts: Json[] };
    expect(published.virtual_hosts.map((v) => v.name)).toEqual(["app0.example.com", "app1.example.com", "redirect.example.com"]);
    expect(routes.virtual_hosts).toHaveLength(4); // the input is not modified
    expect(names(valid.listeners)).toEqual(["ingress_http", "ingress_https"]);
    expectConsistent(valid);
  });

  test("a route config broken outside its virtual hosts is rejected, and so is the listener that needs it", () => {
    const set = goodSet();
    (set.routes[0] as Json).request_headers_to_add = [{ header: { key: "", value: "x" } }];
    const { valid, rejected } = validateSnapshot(set);
    expect(rejected).toEqual([
      { typeUrl: TypeUrls.route, name: "ingress_http", partial: false, errors: [{ path: "request_headers_to_add[0].header.key", rule: "string.min_len", message: "must not be empty" }] },
      {
        typeUrl: TypeUrls.listener,
        name: "ingress_http",
        partial: false,
        errors: [{ path: "filter_chains[0].filters[0].typed_config.rds.route_config_name", rule: "snapshot.reference", message: 'route config "ingress_http" was rejected' }],
      },
    ]);
    expect(names(valid.routes)).toEqual(["https/foo.example.com", "https/bar.example.com"]);
    expect(names(valid.listeners)).toEqual(["ingress_https"]);
    expectConsistent(valid);
  });

  test("a filter chain whose SDS secret is missing is dropped; the other SNI names keep serving", () => {
    const set = goodSet();
    set.secrets = [tlsSecret("default/bar-tls")];
    const { valid, rejected } = validateSnapshot(set);
    const secretError = {
      path: "filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name",
      rule: "snapshot.reference",
      message: 'secret "default/foo-tls" is not in the snapshot',
    };
    expect(rejected).toEqual([{ typeUrl: TypeUrls.listener, name: "ingress_https", partial: true, errors: [secretError], parts: [{ name: "https/foo.example.com", errors: [secretError] }] }]);
    const https = valid.listeners[1] as { filter_chains: Array<{ filter_chain_match: { server_names: string[] } }> };
    expect(https.filter_chains.map((c) => c.filter_chain_match.server_names)).toEqual([["bar.example.com"]]);
    expectConsistent(valid);
  });

  test("a listener left with no filter chain is rejected whole", () => {
    const set = goodSet();
    set.listeners = [{ ...(httpsListener() as Json), filter_chains: [tlsFilterChain("foo.example.com", "default/gone")] }];
    const { valid, rejected } = validateSnapshot(set);
    expect(rejected.map((r) => [r.name, r.partial])).toEqual([["ingress_https", false]]);
    expect(valid.listeners).toEqual([]);
  });

  test("an EDS cluster without its load assignment is rejected, as is one whose load assignment was rejected", () => {
    const set = goodSet();
    set.endpoints = [{ ...(loadAssignment("default/web/80") as Json), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 70000 } } } }] }] }];
    const { valid, rejected } = validateSnapshot(set);
    expect(rejected).toEqual([
      {
        typeUrl: TypeUrls.endpoint,
        name: "default/web/80",
        partial: false,
        errors: [{ path: "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value", rule: "uint32.lte", message: "must be at most 65535, got 70000" }],
      },
      { typeUrl: TypeUrls.cluster, name: "default/web/80", partial: false, errors: [{ path: "eds_cluster_config.service_name", rule: "snapshot.reference", message: 'load assignment "default/web/80" was rejected' }] },
      { typeUrl: TypeUrls.cluster, name: "default/api/80", partial: false, errors: [{ path: "eds_cluster_config.service_name", rule: "snapshot.reference", message: 'load assignment "default/api/80" is not in the snapshot' }] },
    ]);
    expect(valid.clusters).toEqual([]);
    // Routes may name clusters that are absent (Envoy answers 503): they stay.
    expect(valid.routes).toHaveLength(3);
    expectConsistent(valid);
  });

  test("an upstream TLS context fetching a missing secret over SDS rejects the cluster; a static one does not", () => {
    const set = goodSet();
    const withSecret = (sdsConfig: object | undefined) => ({
      ...(edsCluster("default/api/80") as Json),
      transport_socket: {
        name: "tls",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
          common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "client-cert", ...(sdsConfig ? { sds_config: sdsConfig } : {}) }] },
        },
      },
    });
    set.clusters[1] = withSecret({ ads: {} });
    expect(validateSnapshot(set).rejected.map((r) => [r.name, r.errors[0]?.message])).toEqual([["default/api/80", 'secret "client-cert" is not in the snapshot']]);
    set.clusters[1] = withSecret(undefined);
    expect(validateSnapshot(set).rejected).toEqual([]);
  });

  test("a second resource of the same name is rejected", () => {
    const set = goodSet();
    set.clusters.push(edsCluster("default/web/80"));
    const { valid, rejected } = validateSnapshot(set);
    expect(rejected).toEqual([
      { typeUrl: TypeUrls.cluster, name: "default/web/80", partial: false, errors: [{ path: "name", rule: "snapshot.unique_name", message: 'another resource of this type is already named "default/web/80"' }] },
    ]);
    expect(valid.clusters).toEqual(goodSet().clusters);
  });

  test("a secret that breaks a rule is rejected, with the filter chains that use it", () => {
    const set = goodSet();
    set.secrets[0] = { ...(tlsSecret("default/foo-tls") as Json), tls_certificate: { certificate_chain: { inline_string: "x" }, private_key: { filename: "" } }, extra: 1 };
    const { rejected } = validateSnapshot(set);
    expect(rejected.map((r) => [r.typeUrl, r.name, r.partial])).toEqual([
      [TypeUrls.secret, "default/foo-tls", false],
      [TypeUrls.listener, "ingress_https", true],
    ]);
    expect(rejected[0]!.errors).toContainEqual({ path: "extra", rule: "field.known", message: "no such field in envoy.extensions.transport_sockets.tls.v3.Secret" });
  });
});

describe("validateSnapshot with a memo", () => {
  test("over a sequence of sets sharing resource objects (some broken), each outcome is the memo-less one", () => {
    const memo = createValidationMemo();
    const good = goodSet();
    const badEndpoint = { ...(loadAssignment("default/web/80") as Json), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 70000 } } } }] }] };
    const badHost = routeConfig("ingress_http", 2);
    ((badHost as Json).virtual_hosts as Json[])[1]!.domains = ["bad domain with spaces"];
    const variants: Array<(set: ResourceSet) => ResourceSet> = [
      (set) => set,
      (set) => ({ ...set, endpoints: [badEndpoint, set.endpoints[1]!] }),
      (set) => ({ ...set, endpoints: set.endpoints.slice(1) }),
      (set) => ({ ...set, secrets: set.secrets.slice(0, 1) }),
      (set) => ({ ...set, routes: [badHost, ...set.routes.slice(1)] }),
      (set) => ({ ...set, clusters: [...set.clusters, set.clusters[0]!] }),
    ];
    let random = 5;
    const next = (n: number) => ((random = (random * 1103515245 + 12345) % 2147483648), random % n);
    for (let step = 0; step < 60; step++) {
      // The same objects in new lists, as a build hands unchanged translations over.
      let set: ResourceSet = { listeners: [...good.listeners], routes: [...good.routes], clusters: [...good.clusters], endpoints: [...good.endpoints], secrets: [...good.secrets] };
      set = variants[next(variants.length)]!(set);
      if (next(2) === 0) set = variants[next(variants.length)]!(set);
      expect(validateSnapshot(set, { memo })).toEqual(validateSnapshot(set));
    }
  });
});
