import { describe, expect, test } from "bun:test";
import protobuf from "protobufjs";
import { encodeStrict, root } from "./registry.ts";
import { TypeUrls } from "./types.ts";
import { createResourceValidator, type ValidationError, validateResource } from "./validate.ts";
import { edsCluster, httpListener, httpsListener, loadAssignment, routeConfig, tlsSecret } from "./validate-testing.ts";

const Cluster = "envoy.config.cluster.v3.Cluster";
const RouteConfiguration = "envoy.config.route.v3.RouteConfiguration";
const Listener = "envoy.config.listener.v3.Listener";
const hcmUrl = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/** A route config of one virtual host holding `route`, and the path prefix of that route. */
function withRoute(route: object): object {
  return { name: "r", virtual_hosts: [{ name: "v", domains: ["*"], routes: [route] }] };
}
const route0 = "virtual_hosts[0].routes[0]";

function listenerWithHcm(hcm: object): object {
  const typedConfig = { "@type": hcmUrl, stat_prefix: "http", rds: { route_config_name: "r", config_source: { ads: {} } }, http_filters: [], ...hcm };
  return { name: "l", filter_chains: [{ filters: [{ name: "hcm", typed_config: typedConfig }] }] };
}
const hcmPath = "filter_chains[0].filters[0].typed_config";

function expectOnly(errors: ValidationError[], expected: ValidationError): void {
  expect(errors).toEqual([expected]);
}

describe("realistic resources pass", () => {
  const cases: Array<[string, string, object]> = [
    ["an HCM listener with the router filter and RDS", TypeUrls.listener, httpListener()],
    ["a TLS listener with tls_inspector and DownstreamTlsContext over SDS", TypeUrls.listener, httpsListener()],
    ["an EDS cluster with HTTP/2 and upstream TLS", TypeUrls.cluster, edsCluster("default/web/80", { http2: true, tls: true })],
    ["a load assignment with locality", TypeUrls.endpoint, loadAssignment("default/web/80")],
    ["a route config with regex, prefix, exact and header matches, weighted clusters, retries, redirects", TypeUrls.route, routeConfig("ingress_http", 3)],
    ["a TLS secret", TypeUrls.secret, tlsSecret("default/foo-tls")],
  ];
  for (const [what, typeUrl, resource] of cases) {
    test(what, () => {
      expect(() => encodeStrict(typeUrl, resource)).not.toThrow(); // the fixtures are real resources
      expect(validateResource(typeUrl, resource)).toEqual([]);
    });
  }

  test("by full type name as well as by type URL", () => {
    expect(validateResource(Cluster, edsCluster("a"))).toEqual([]);
  });
});

describe("every rule in the vendored protos is supported", () => {
  test("a validator compiles for every message type", () => {
    let types = 0;
    const visit = (namespace: protobuf.NamespaceBase): void => {
      for (const nested of namespace.nestedArray) {
        if (nested instanceof protobuf.Type) {
          expect(() => validateResource(nested.fullName.slice(1), {})).not.toThrow();
          types++;
        }
        if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
      }
    };
    visit(root);
    expect(types).toBeGreaterThan(500);
  });
});

describe("each kind of rule is caught, with the path of the value", () => {
  test("string.min_len, also on a field left out (proto3 checks the default)", () => {
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), name: "" }), { path: "name", rule: "string.min_len", message: "must not be empty" });
    const { name: _, ...unnamed } = edsCluster("a") as { name: string };
    expectOnly(validateResource(Cluster, unnamed), { path: "name", rule: "string.min_len", message: "must not be empty" });
  });

  test("string.max_bytes", () => {
    const header = { header: { key: "x".repeat(16385), value: "v" } };
    expectOnly(validateResource(RouteConfiguration, { name: "r", request_headers_to_add: [header] }), {
      path: "request_headers_to_add[0].header.key",
      rule: "string.max_bytes",
      message: "must be at most 16384 bytes long, got 16385",
    });
  });

  test("well_known_regex HTTP_HEADER_VALUE, not strict: no NUL, CR or LF", () => {
    const header = { header: { key: "x-ok", value: "a\nb" } };
    expectOnly(validateResource(RouteConfiguration, { name: "r", response_headers_to_add: [header] }), {
      path: "response_headers_to_add[0].header.value",
      rule: "string.well_known_regex",
      message: '"a\\nb" is not a valid HTTP header value (no NUL, CR or LF)',
    });
  });

  test("well_known_regex HTTP_HEADER_VALUE, strict: no control characters", () => {
    const healthCheck = { timeout: "1s", interval: "5s", healthy_threshold: 1, unhealthy_threshold: 3, http_health_check: { path: "/healthz\u0001" } };
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), health_checks: [healthCheck] }), {
      path: "health_checks[0].http_health_check.path",
      rule: "string.well_known_regex",
      message: '"/healthz\\u0001" is not a valid HTTP header value (no control characters)',
    });
  });

  test("well_known_regex HTTP_HEADER_NAME, strict, with ignore_empty, inside an Any in a map", () => {
    const options = (sni: string) => ({
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        upstream_http_protocol_options: { auto_sni: true, override_auto_sni_header: sni },
        explicit_http_config: { http_protocol_options: {} },
      },
    });
    expect(validateResource(Cluster, { ...edsCluster("a"), typed_extension_protocol_options: options("") })).toEqual([]);
    expect(validateResource(Cluster, { ...edsCluster("a"), typed_extension_protocol_options: options(":authority") })).toEqual([]);
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), typed_extension_protocol_options: options("x sni") }), {
      path: 'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].upstream_http_protocol_options.override_auto_sni_header',
      rule: "string.well_known_regex",
      message: '"x sni" is not a valid HTTP header name (RFC 7230 token characters)',
    });
  });

  test("string.pattern, matched with RE2", () => {
    expect(validateResource(RouteConfiguration, withRoute({ match: { path_separated_prefix: "/foo" }, route: { cluster: "c" } }))).toEqual([]);
    expectOnly(validateResource(RouteConfiguration, withRoute({ match: { path_separated_prefix: "/foo/" }, route: { cluster: "c" } })), {
      path: `${route0}.match.path_separated_prefix`,
      rule: "string.pattern",
      message: '"/foo/" does not match the pattern "^[^?#]+[^?#/]$"',
    });
  });

  test("string.in, every value of the list (protobufjs kept only one)", () => {
    const listener = (scheme: string) => listenerWithHcm({ scheme_header_transformation: { scheme_to_overwrite: scheme } });
    expect(validateResource(Listener, listener("http"))).toEqual([]);
    expect(validateResource(Listener, listener("https"))).toEqual([]);
    expectOnly(validateResource(Listener, listener("ftp")), {
      path: `${hcmPath}.scheme_header_transformation.scheme_to_overwrite`,
      rule: "string.in",
      message: 'must be one of "http", "https", got "ftp"',
    });
  });

  test("message.required", () => {
    expectOnly(validateResource(RouteConfiguration, withRoute({ route: { cluster: "c" } })), { path: `${route0}.match`, rule: "message.required", message: "is required" });
  });

  test("(validate.required) on a oneof, and a oneof set twice", () => {
    expectOnly(validateResource(RouteConfiguration, withRoute({ match: { prefix: "/" } })), {
      path: route0,
      rule: "oneof.required",
      message: "one of route, redirect, direct_response, filter_action, non_forwarding_action is required (oneof action)",
    });
    expectOnly(validateResource(RouteConfiguration, withRoute({ match: { prefix: "/" }, route: { cluster: "c" }, redirect: { https_redirect: true } })), {
      path: route0,
      rule: "oneof.single",
      message: "only one of route, redirect, direct_response, filter_action, non_forwarding_action may be set (oneof action)",
    });
  });

  test("enum.defined_only, by name and by number", () => {
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), lb_policy: "FASTEST" }), {
      path: "lb_policy",
      rule: "enum.defined_only",
      message: '"FASTEST" is not a value of envoy.config.cluster.v3.Cluster.LbPolicy',
    });
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), lb_policy: 42 }), { path: "lb_policy", rule: "enum.defined_only", message: "42 is not a value of envoy.config.cluster.v3.Cluster.LbPolicy" });
  });

  test("enum.not_in, also on the default of a field left out", () => {
    const cluster = (matcher: object) => ({
      ...edsCluster("a"),
      transport_socket: {
        name: "tls",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
          common_tls_context: { validation_context: { match_typed_subject_alt_names: [matcher] } },
        },
      },
    });
    expect(validateResource(Cluster, cluster({ san_type: "DNS", matcher: { exact: "a.example.com" } }))).toEqual([]);
    expectOnly(validateResource(Cluster, cluster({ matcher: { exact: "a.example.com" } })), {
      path: "transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type",
      rule: "enum.not_in",
      message: "must not be SAN_TYPE_UNSPECIFIED",
    });
  });

  test("repeated.min_items, and items of a repeated field", () => {
    const host = (domains: unknown) => ({ name: "r", virtual_hosts: [{ name: "v", domains, routes: [] }] });
    expectOnly(validateResource(RouteConfiguration, host([])), { path: "virtual_hosts[0].domains", rule: "repeated.min_items", message: "must not be empty" });
    expectOnly(validateResource(RouteConfiguration, host(undefined)), { path: "virtual_hosts[0].domains", rule: "repeated.min_items", message: "must not be empty" });
    expectOnly(validateResource(RouteConfiguration, { name: "r", virtual_hosts: [{ name: "v", domains: ["*"], request_headers_to_remove: ["x-ok", ""] }] }), {
      path: "virtual_hosts[0].request_headers_to_remove[1]",
      rule: "string.min_len",
      message: "must not be empty",
    });
  });

  test("repeated.max_items and repeated.unique", () => {
    const policy = { redirect_response_codes: [301, 302, 303, 307, 308, 301], response_headers_to_copy: ["x-a", "x-a"] };
    const errors = validateResource(RouteConfiguration, withRoute({ match: { prefix: "/" }, route: { cluster: "c", internal_redirect_policy: policy } }));
    expect(errors).toEqual([
      { path: `${route0}.route.internal_redirect_policy.redirect_response_codes`, rule: "repeated.max_items", message: "must have at most 5 items, got 6" },
      { path: `${route0}.route.internal_redirect_policy.response_headers_to_copy`, rule: "repeated.unique", message: "items must be unique" },
    ]);
  });

  test("uint32 lte, and a range of gte and lt", () => {
    const { address: _, ...listener } = httpListener() as { address: unknown };
    expectOnly(validateResource(Listener, { ...listener, address: { socket_address: { address: "0.0.0.0", port_value: 70000 } } }), {
      path: "address.socket_address.port_value",
      rule: "uint32.lte",
      message: "must be at most 65535, got 70000",
    });
    const status = (code: number) => validateResource(RouteConfiguration, withRoute({ match: { prefix: "/" }, direct_response: { status: code } }));
    expect(status(503)).toEqual([]);
    expectOnly(status(700), { path: `${route0}.direct_response.status`, rule: "uint32.lt", message: "must be less than 600, got 700" });
    expectOnly(status(100), { path: `${route0}.direct_response.status`, rule: "uint32.gte", message: "must be at least 200, got 100" });
  });

  test("uint32 gt on a wrapper (UInt32Value), only when set", () => {
    const assignment = (policy: object) => ({ ...loadAssignment("a"), policy });
    expect(validateResource(TypeUrls.endpoint, assignment({}))).toEqual([]);
    expect(validateResource(TypeUrls.endpoint, assignment({ overprovisioning_factor: 140 }))).toEqual([]);
    expectOnly(validateResource(TypeUrls.endpoint, assignment({ overprovisioning_factor: 0 })), {
      path: "policy.overprovisioning_factor",
      rule: "uint32.gt",
      message: "must be greater than 0, got 0",
    });
    expectOnly(validateResource(TypeUrls.endpoint, assignment({ overprovisioning_factor: { value: 0 } })), {
      path: "policy.overprovisioning_factor",
      rule: "uint32.gt",
      message: "must be greater than 0, got 0",
    });
  });

  test("double gte and lte", () => {
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), common_lb_config: { healthy_panic_threshold: { value: 150 } } }), {
      path: "common_lb_config.healthy_panic_threshold.value",
      rule: "double.lte",
      message: "must be at most 100, got 150",
    });
  });

  test("duration gt {} (protobufjs dropped it), gt with nanos, and a malformed duration", () => {
    for (const timeout of ["0s", "-1s"]) {
      expectOnly(validateResource(Cluster, { ...edsCluster("a"), connect_timeout: timeout }), {
        path: "connect_timeout",
        rule: "duration.gt",
        message: `must be greater than 0s, got ${timeout}`,
      });
    }
    expect(validateResource(Cluster, { ...edsCluster("a"), connect_timeout: { seconds: 0, nanos: 1 } })).toEqual([]);
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), dns_refresh_rate: "0.0005s" }), {
      path: "dns_refresh_rate",
      rule: "duration.gt",
      message: "must be greater than 0.001s, got 0.0005s",
    });
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), connect_timeout: "5 seconds" }), {
      path: "connect_timeout",
      rule: "duration.type",
      message: 'expected a duration like "1.5s", got "5 seconds"',
    });
  });

  test("duration.required", () => {
    const errors = validateResource(Cluster, { ...edsCluster("a"), health_checks: [{ healthy_threshold: 1, unhealthy_threshold: 1, tcp_health_check: {} }] });
    expect(errors).toEqual([
      { path: "health_checks[0].timeout", rule: "duration.required", message: "is required" },
      { path: "health_checks[0].interval", rule: "duration.required", message: "is required" },
    ]);
  });

  test("map keys", () => {
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), metadata: { filter_metadata: { "": { a: 1 }, ok: {} } } }), {
      path: 'metadata.filter_metadata[""]',
      rule: "string.min_len",
      message: "must not be empty",
    });
  });

  test("any.required, and an Any of an unknown type", () => {
    const policy = (typed: object) => ({ ...edsCluster("a"), load_balancing_policy: { policies: [{ typed_extension_config: typed }] } });
    expectOnly(validateResource(Cluster, policy({ name: "rr" })), {
      path: "load_balancing_policy.policies[0].typed_extension_config.typed_config",
      rule: "any.required",
      message: "is required",
    });
    expectOnly(validateResource(Cluster, policy({ name: "rr", typed_config: { "@type": "type.googleapis.com/acme.Balancer" } })), {
      path: "load_balancing_policy.policies[0].typed_extension_config.typed_config",
      rule: "any.type",
      message: "unknown type type.googleapis.com/acme.Balancer",
    });
  });

  test("bytes max_len", () => {
    const raw = Buffer.alloc(16385, 1).toString("base64");
    expectOnly(validateResource(RouteConfiguration, { name: "r", request_headers_to_add: [{ header: { key: "x-raw", raw_value: raw } }] }), {
      path: "request_headers_to_add[0].header.raw_value",
      rule: "bytes.max_len",
      message: "must be at most 16384 bytes long, got 16385",
    });
  });

  test("bool.const, in an HTTP filter's typed config inside the HCM's", () => {
    const rbac = (any: boolean) =>
      listenerWithHcm({
        http_filters: [
          {
            name: "envoy.filters.http.rbac",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
              rules: { policies: { admins: { permissions: [{ any }], principals: [{ any: true }] } } },
            },
          },
        ],
      });
    expect(validateResource(Listener, rbac(true))).toEqual([]);
    expectOnly(validateResource(Listener, rbac(false)), {
      path: `${hcmPath}.http_filters[0].typed_config.rules.policies["admins"].permissions[0].any`,
      rule: "bool.const",
      message: "must be true",
    });
  });

  test("rules of the typed config of an Any apply (HCM stat_prefix)", () => {
    expectOnly(validateResource(Listener, listenerWithHcm({ stat_prefix: "" })), { path: `${hcmPath}.stat_prefix`, rule: "string.min_len", message: "must not be empty" });
  });

  test("a field that does not exist", () => {
    expectOnly(validateResource(Cluster, { ...edsCluster("a"), conect_timeout: "1s" }), { path: "conect_timeout", rule: "field.known", message: "no such field in envoy.config.cluster.v3.Cluster" });
  });

  test("several errors are all reported", () => {
    expect(validateResource(Cluster, { ...edsCluster("a"), name: "", connect_timeout: "0s", lb_policy: "NOPE" }).map((e) => e.path)).toEqual(["name", "connect_timeout", "lb_policy"]);
  });
});

describe("every regex Envoy compiles must be RE2", () => {
  const lookahead = 'invalid RE2 regex "^/api(?=/v1)": lookaround ((?=, (?!, (?<=, (?<!) not supported by RE2';

  test("a lookahead in a route's safe_regex", () => {
    expectOnly(validateResource(RouteConfiguration, withRoute({ match: { safe_regex: { regex: "^/api(?=/v1)" } }, route: { cluster: "c" } })), {
      path: `${route0}.match.safe_regex.regex`,
      rule: "re2",
      message: lookahead,
    });
  });

  test("header matchers, string matchers and regex_rewrite", () => {
    const errors = validateResource(
      RouteConfiguration,
      withRoute({
        match: {
          prefix: "/",
          headers: [
            { name: "x-a", safe_regex_match: { regex: "(a)\\1" } },
            { name: "x-b", string_match: { safe_regex: { regex: "^/api(?=/v1)" } } },
          ],
        },
        route: { cluster: "c", regex_rewrite: { pattern: { regex: "[" }, substitution: "/" } },
      }),
    );
    expect(errors).toEqual([
      { path: `${route0}.match.headers[0].safe_regex_match.regex`, rule: "re2", message: 'invalid RE2 regex "(a)\\\\1": backreferences (\\1 …) not supported by RE2' },
      { path: `${route0}.match.headers[1].string_match.safe_regex.regex`, rule: "re2", message: lookahead },
      { path: `${route0}.route.regex_rewrite.pattern.regex`, rule: "re2", message: 'invalid RE2 regex "[": missing closing ]: `[`' },
    ]);
  });

  test("the program size bound is Envoy's default, and can be raised", () => {
    const big = withRoute({ match: { safe_regex: { regex: "^/(abc|xyz){20}$" } }, route: { cluster: "c" } });
    const [error] = validateResource(RouteConfiguration, big);
    expect(error?.rule).toBe("re2");
    expect(error?.message).toBe(`invalid RE2 regex "^/(abc|xyz){20}$": program size 185 is over the limit of 100 (Envoy's re2.max_program_size.error_level)`);
    expect(validateResource(RouteConfiguration, big, { maxRegexProgramSize: 1000 })).toEqual([]);
  });

  test("each validator keeps its own bound: used in turn, neither sees the other's", () => {
    const big = withRoute({ match: { safe_regex: { regex: "^/(abc|xyz){20}$" } }, route: { cluster: "c" } });
    const strict = createResourceValidator();
    const loose = createResourceValidator({ maxRegexProgramSize: 1000 });
    for (let round = 0; round < 2; round++) {
      expect(loose.validate(RouteConfiguration, big)).toEqual([]);
      expect(strict.validate(RouteConfiguration, big).map((e) => e.rule)).toEqual(["re2"]);
    }
  });
});

describe("values must fit their field's type, rules or not", () => {
  test("an integer past 32 bits is an error, not a silent wrap to 0", () => {
    const route = { name: "r", virtual_hosts: [{ name: "h", domains: ["h"], routes: [{ match: { prefix: "/" }, route: { cluster: "c", retry_policy: { num_retries: 2 ** 32 } } }] }] };
    expect(validateResource(TypeUrls.route, route)).toEqual([
      { path: "virtual_hosts[0].routes[0].route.retry_policy.num_retries", rule: "uint32.type", message: "expected a whole number from 0 to 4294967295, got 4294967296" },
    ]);
    const cluster = { ...edsCluster("c"), per_connection_buffer_limit_bytes: -1 };
    expect(validateResource(TypeUrls.cluster, cluster).map((e) => e.rule)).toEqual(["uint32.type"]);
    expect(validateResource(TypeUrls.cluster, { ...edsCluster("c"), per_connection_buffer_limit_bytes: 2 ** 32 - 1 })).toEqual([]);
  });
});
