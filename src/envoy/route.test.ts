import { describe, expect, test } from "bun:test";
import type { Route } from "../dag/types.ts";
import { resourceTypes } from "./common.ts";
import { COOKIE_REWRITE_HEADER } from "./cookie-rewrite.ts";
import { domains, envoyRoute, virtualHost } from "./route.ts";
import { sortRoutes } from "./route-match.ts";
import {
  expectEnvoyAccepts,
  fallbackRouteConfiguration,
  httpRouteConfiguration,
  secureRouteConfiguration,
  testCluster,
  testRef,
  testRoute,
  testSecureVirtualHost,
  testVirtualHost,
  weighted,
} from "./testing.ts";

type J = Record<string, any>;
const ROUTE_CONFIG = resourceTypes.routes;

async function acceptedHttpConfig(routes: Route[], host = "foo.com"): Promise<J> {
  return (await expectEnvoyAccepts(ROUTE_CONFIG, httpRouteConfiguration([testVirtualHost(host, routes)]))) as J;
}

describe("matches", () => {
  test("segment prefix without trailing slash is path_separated_prefix; with one, or string prefix, is prefix", async () => {
    const config = await acceptedHttpConfig([
      testRoute("/foo"),
      testRoute("/bar/"),
      testRoute("/baz", { pathMatch: { kind: "prefix", value: "/baz", segment: false } }),
      testRoute("/"),
    ]);
    const matches = config.virtual_hosts[0].routes.map((r: J) => r.match);
    expect(matches).toContainEqual({ path_separated_prefix: "/foo" });
    expect(matches).toContainEqual({ prefix: "/bar/" });
    expect(matches).toContainEqual({ prefix: "/baz" });
    expect(matches).toContainEqual({ prefix: "/" });
  });

  test("exact, regex, headers of every kind and query parameters", async () => {
    const route = testRoute("/", {
      pathMatch: { kind: "regex", value: "/api/v[0-9]+/.*" },
      headerMatches: [
        { name: "x-present", match: { kind: "present" } },
        { name: "x-absent", match: { kind: "notpresent" } },
        { name: "x-exact", match: { kind: "exact", value: "A", ignoreCase: true } },
        { name: "x-not-contains", match: { kind: "contains", value: "bad" }, invert: true, treatMissingAsEmpty: true },
        { name: "x-regex", match: { kind: "regex", value: "v[12]" } },
      ],
      queryParamMatches: [
        { name: "q", match: { kind: "exact", value: "1" } },
        { name: "p", match: { kind: "prefix", value: "ab", ignoreCase: true } },
        { name: "r", match: { kind: "regex", value: "x+" } },
        { name: "s", match: { kind: "present" } },
      ],
    });
    const exact = testRoute("/", { pathMatch: { kind: "exact", value: "/healthz" } });
    const config = await acceptedHttpConfig([route, exact]);
    const [first, second] = config.virtual_hosts[0].routes;
    expect(first.match).toEqual({ path: "/healthz" });
    expect(second.match.safe_regex).toEqual({ regex: "/api/v[0-9]+/.*" });
    expect(second.match.headers).toEqual([
      { name: "x-absent", present_match: true, invert_match: true },
      { name: "x-exact", string_match: { exact: "A", ignore_case: true } },
      { name: "x-not-contains", string_match: { contains: "bad" }, invert_match: true, treat_missing_header_as_empty: true },
      { name: "x-present", present_match: true },
      { name: "x-regex", string_match: { safe_regex: { regex: "v[12]" } } },
    ]);
    expect(second.match.query_parameters).toEqual([
      { name: "p", string_match: { prefix: "ab", ignore_case: true } },
      { name: "q", string_match: { exact: "1" } },
      { name: "r", string_match: { safe_regex: { regex: "x+" } } },
      { name: "s", present_match: true },
    ]);
  });
});

describe("route order (Contour's sortRoutes)", () => {
  test("exact before regex before prefix; longer prefix first; segment before string; more conditions first", () => {
    const header = { name: "x", match: { kind: "present" as const } };
    const routes = [
      testRoute("/"),
      testRoute("/a", { pathMatch: { kind: "prefix", value: "/a", segment: false } }),
      testRoute("/a"),
      testRoute("/a", { headerMatches: [header] }),
      testRoute("/abc"),
      testRoute("/", { pathMatch: { kind: "regex", value: "/r.*" } }),
      testRoute("/", { pathMatch: { kind: "exact", value: "/e" } }),
      testRoute("/a", { queryParamMatches: [{ name: "q", match: { kind: "present" } }] }),
    ];
    const describeRoute = (r: Route) =>
      `${r.pathMatch.kind}:${r.pathMatch.value}${r.pathMatch.kind === "prefix" && !r.pathMatch.segment ? "(string)" : ""}` +
      `${r.headerMatches.length ? "+h" : ""}${r.queryParamMatches.length ? "+q" : ""}`;
    expect(sortRoutes(routes).map(describeRoute)).toEqual([
      "exact:/e",
      "regex:/r.*",
      "prefix:/abc",
      "prefix:/a+h",
      "prefix:/a+q",
      "prefix:/a",
      "prefix:/a(string)",
      "prefix:/",
    ]);
  });

  test("the order does not depend on input order", () => {
    const routes = [testRoute("/b"), testRoute("/a"), testRoute("/c", { source: testRef("other") }), testRoute("/c")];
    const forward = JSON.stringify(sortRoutes(routes));
    const backward = JSON.stringify(sortRoutes([...routes].reverse()));
    expect(forward).toBe(backward);
  });
});

describe("actions", () => {
  test("a single simple cluster is a plain cluster; several are weighted (Envoy sums the weights)", async () => {
    const a = testCluster("a");
    const b = testCluster("b");
    const config = await acceptedHttpConfig([
      testRoute("/one", { clusters: [weighted(a, 5)] }),
      testRoute("/two", { clusters: [weighted(b, 30), weighted(a, 70)] }),
      testRoute("/zero", { clusters: [weighted(a, 0), weighted(b, 0)] }),
    ]);
    const byPath = (p: string) => config.virtual_hosts[0].routes.find((r: J) => r.match.path_separated_prefix === p);
    expect(byPath("/one").route.cluster).toBe(a.name);
    expect(byPath("/two").route.weighted_clusters).toEqual({
      clusters: [
        { name: a.name, weight: 70 },
        { name: b.name, weight: 30 },
      ],
    });
    // All weights zero: evenly spread, as Contour.
    expect(byPath("/zero").route.weighted_clusters.clusters.map((c: J) => c.weight)).toEqual([1, 1]);
  });

  test("redirects with every response code, https redirect, direct responses", async () => {
    const codes = [301, 302, 303, 307, 308] as const;
    const routes = codes.map((code) =>
      testRoute(`/r${code}`, {
        clusters: [],
        redirect: { scheme: "https", hostname: "bar.com", port: 8443, prefix: "/new", statusCode: code },
      }),
    );
    routes.push(testRoute("/path", { clusters: [], redirect: { path: "/exact", statusCode: 301 } }));
    routes.push(testRoute("/dr", { clusters: [], directResponse: { statusCode: 418, body: "teapot" } }));
    routes.push(testRoute("/upgrade", { httpsRedirect: true }));
    routes.push(testRoute("/nowhere", { clusters: [] }));
    const config = await acceptedHttpConfig(routes);
    const byPath = (p: string) => config.virtual_hosts[0].routes.find((r: J) => r.match.path_separated_prefix === p);
    expect(codes.map((c) => byPath(`/r${c}`).redirect.response_code)).toEqual([
      "MOVED_PERMANENTLY",
      "FOUND",
      "SEE_OTHER",
      "TEMPORARY_REDIRECT",
      "PERMANENT_REDIRECT",
    ]);
    expect(byPath("/r302").redirect).toEqual({
      scheme_redirect: "https",
      host_redirect: "bar.com",
      port_redirect: 8443,
      prefix_rewrite: "/new",
      response_code: "FOUND",
    });
    expect(byPath("/path").redirect).toEqual({ path_redirect: "/exact", response_code: "MOVED_PERMANENTLY" });
    expect(byPath("/dr").direct_response).toEqual({ status: 418, body: { inline_string: "teapot" } });
    expect(byPath("/upgrade").redirect).toEqual({ https_redirect: true });
    expect(byPath("/upgrade").route).toBeUndefined();
    expect(byPath("/nowhere").direct_response).toEqual({ status: 503 });
  });

  test("an https redirect route on a TLS host routes instead", () => {
    const route = envoyRoute(testRoute("/", { httpsRedirect: true }), { secure: true });
    expect(route.redirect).toBeUndefined();
    expect(route.route).toBeDefined();
  });

  test("timeouts, retries, mirrors, websockets, hashing, rewrites, internal redirects", async () => {
    const mirror = testCluster("shadow");
    const config = await acceptedHttpConfig([
      testRoute("/", {
        timeout: { responseMs: 0, idleMs: 1500 },
        retry: { retryOn: ["5xx", "retriable-status-codes"], numRetries: 3, perTryTimeoutMs: 250, retriableStatusCodes: [503, 502] },
        mirrors: [{ cluster: mirror, weightPercent: 25 }, { cluster: testCluster("shadow-third"), weightPercent: 100 / 3 }],
        websocket: true,
        cookieHash: true,
        requestHashPolicies: [{ headerName: "x-user", terminal: true }, { queryParameterName: "id" }, { hashSourceIP: true }],
        pathRewrite: { fullReplacement: "/new\\1" },
        internalRedirect: { maxInternalRedirects: 2, redirectResponseCodes: [307, 302], allowCrossSchemeRedirect: "Always" },
      }),
    ]);
    const action = config.virtual_hosts[0].routes[0].route;
    expect(action.timeout).toBe("0s");
    expect(action.idle_timeout).toBe("1.5s");
    expect(action.retry_policy).toEqual({
      retry_on: "5xx,retriable-status-codes",
      num_retries: 3,
      per_try_timeout: "0.25s",
      retriable_status_codes: [502, 503],
    });
    expect(action.request_mirror_policies).toEqual([
      // A share that is no whole percent (a Gateway API fraction of 1/3) in millionths.
      { cluster: testCluster("shadow-third").name, runtime_fraction: { default_value: { numerator: 333333, denominator: "MILLION" } } },
      { cluster: mirror.name, runtime_fraction: { default_value: { numerator: 25, denominator: "HUNDRED" } } },
    ]);
    expect(action.upgrade_configs).toEqual([{ upgrade_type: "websocket" }]);
    expect(action.hash_policy).toEqual([
      { cookie: { name: "X-Contour-Session-Affinity", ttl: "0s", path: "/" } },
      { header: { header_name: "x-user" }, terminal: true },
      { query_parameter: { name: "id" } },
      { connection_properties: { source_ip: true } },
    ]);
    // The user's text is the substitution, literally: no capture-group reference.
    expect(action.regex_rewrite).toEqual({ pattern: { regex: "^/.*$" }, substitution: "/new\\\\1" });
    expect(action.internal_redirect_policy).toEqual({
      max_internal_redirects: 2,
      redirect_response_codes: [302, 307],
      allow_cross_scheme_redirect: true,
    });
  });

  test("internal redirects: SafeOnly and denyRepeatedRouteRedirect become Envoy's predicates", async () => {
    const config = await acceptedHttpConfig([
      testRoute("/", { internalRedirect: { redirectResponseCodes: [302], allowCrossSchemeRedirect: "SafeOnly", denyRepeatedRouteRedirect: true } }),
      testRoute("/never", { internalRedirect: { redirectResponseCodes: [], allowCrossSchemeRedirect: "Never" } }),
    ]);
    const [never, safe] = config.virtual_hosts[0].routes;
    expect(safe.route.internal_redirect_policy).toEqual({
      redirect_response_codes: [302],
      allow_cross_scheme_redirect: true,
      predicates: [
        { name: "envoy.internal_redirect_predicates.safe_cross_scheme", typed_config: { "@type": "type.googleapis.com/envoy.extensions.internal_redirect.safe_cross_scheme.v3.SafeCrossSchemeConfig" } },
        { name: "envoy.internal_redirect_predicates.previous_routes", typed_config: { "@type": "type.googleapis.com/envoy.extensions.internal_redirect.previous_routes.v3.PreviousRoutesConfig" } },
      ],
    });
    expect(never.route.internal_redirect_policy).toEqual({});
  });

  test("header policies: set overwrites, add appends, values passed through unescaped again, host rewrite", async () => {
    const a = testCluster("a");
    const b = testCluster("b");
    const config = await acceptedHttpConfig([
      testRoute("/", {
        pathRewrite: { prefixReplacement: "/v2" },
        requestHeaders: { set: [{ name: "x-b", value: "100%%" }, { name: "x-a", value: "1" }], add: [{ name: "x-c", value: "c" }], remove: ["x-z", "x-y", "x-z"], hostRewrite: "internal.svc" },
        responseHeaders: { set: [], add: [{ name: "x-r", value: "r" }], remove: [] },
        clusters: [weighted(a, 1, { requestHeaders: { set: [{ name: "x-w", value: "w" }], add: [], remove: ["x-q"], hostRewrite: "a.svc" } }), weighted(b, 1)],
      } as Partial<Route>),
    ]);
    const route = config.virtual_hosts[0].routes[0];
    expect(route.request_headers_to_add).toEqual([
      { header: { key: "x-a", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
      { header: { key: "x-b", value: "100%%" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
      { header: { key: "x-c", value: "c" }, append_action: "APPEND_IF_EXISTS_OR_ADD" },
    ]);
    expect(route.request_headers_to_remove).toEqual(["x-y", "x-z"]);
    expect(route.response_headers_to_add).toEqual([{ header: { key: "x-r", value: "r" }, append_action: "APPEND_IF_EXISTS_OR_ADD" }]);
    expect(route.route.host_rewrite_literal).toBe("internal.svc");
    expect(route.route.prefix_rewrite).toBe("/v2");
    expect(route.route.weighted_clusters.clusters[0]).toEqual({
      name: a.name,
      weight: 1,
      request_headers_to_add: [{ header: { key: "x-w", value: "w" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }],
      request_headers_to_remove: ["x-q"],
      host_rewrite_literal: "a.svc",
    });
  });

  test("cookie rewrites are route metadata (data) and a per-cluster marker, never code", async () => {
    const a = testCluster("a");
    const b = testCluster("b");
    const evil = 'x"; os.execute("rm -rf /") --';
    const config = await acceptedHttpConfig([
      testRoute("/", {
        cookieRewrites: [{ name: "SESSION", pathRewrite: evil, secure: true }],
        clusters: [weighted(a, 1, { cookieRewrites: [{ name: "SESSION", sameSite: "Strict", pathRewrite: "/a" }] }), weighted(b, 1)],
      }),
    ]);
    const route = config.virtual_hosts[0].routes[0];
    expect(route.metadata.filter_metadata["envoy.filters.http.lua"].cookie_rewrites).toEqual({
      "0": { SESSION: { path: "/a", secure: true, same_site: "Strict" } },
      "1": { SESSION: { path: evil, secure: true } },
    });
    const markers = route.route.weighted_clusters.clusters.map((c: J) => c.response_headers_to_add);
    expect(markers).toEqual([
      [{ header: { key: COOKIE_REWRITE_HEADER, value: "0" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }],
      [{ header: { key: COOKIE_REWRITE_HEADER, value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }],
    ]);
  });

  test("per-route rate limit and IP filter become typed_per_filter_config", async () => {
    const config = await acceptedHttpConfig([
      testRoute("/", {
        rateLimit: { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 },
        ipFilter: { allow: true, rules: [{ cidr: "10.0.0.0/8", remote: true }] },
      }),
    ]);
    const perFilter = config.virtual_hosts[0].routes[0].typed_per_filter_config;
    expect(Object.keys(perFilter).sort()).toEqual(["envoy.filters.http.local_ratelimit", "envoy.filters.http.rbac"]);
  });
});

describe("route configurations", () => {
  test("ingress_http: one host per DAG host, sorted, domains with any port, the default host is *; empty hosts left out", async () => {
    const config = (await expectEnvoyAccepts(
      ROUTE_CONFIG,
      httpRouteConfiguration([
        testVirtualHost("zed.com", [testRoute()]),
        testVirtualHost("*", [testRoute()]),
        testVirtualHost("*.wild.com", [testRoute()]),
        testVirtualHost("empty.com", []),
        testVirtualHost("abc.com", [testRoute()], { cors: { allowOrigin: ["*"], allowMethods: ["GET"], allowHeaders: [], exposeHeaders: [], allowCredentials: false } }),
      ]),
    )) as J;
    expect(config.name).toBe("ingress_http");
    expect(config.virtual_hosts.map((vh: J) => [vh.name, vh.domains])).toEqual([
      ["*", ["*"]],
      ["*.wild.com", ["*.wild.com"]],
      ["abc.com", ["abc.com", "abc.com:*"]],
      ["zed.com", ["zed.com", "zed.com:*"]],
    ]);
    expect(config.virtual_hosts[2].typed_per_filter_config["envoy.filters.http.cors"]["@type"]).toContain("cors.v3.CorsPolicy");
    expect(domains("foo.com")).toEqual(["foo.com", "foo.com:*"]);
  });

  test("https/<fqdn>: its host, then a catch-all that answers 421 to any other :authority", async () => {
    const vhost = testSecureVirtualHost("secure.com", [testRoute()]);
    const config = (await expectEnvoyAccepts(ROUTE_CONFIG, secureRouteConfiguration(vhost))) as J;
    expect(config.name).toBe("https/secure.com");
    expect(config.virtual_hosts.map((vh: J) => vh.domains)).toEqual([["secure.com", "secure.com:*"], ["*"]]);
    expect(config.virtual_hosts[1].routes).toEqual([
      { match: { prefix: "/" }, direct_response: { status: 421, body: { inline_string: "misdirected request\n" } } },
    ]);
  });

  test("the fallback route configuration holds the fallback hosts", async () => {
    const config = (await expectEnvoyAccepts(
      ROUTE_CONFIG,
      fallbackRouteConfiguration([testSecureVirtualHost("b.com", [testRoute()]), testSecureVirtualHost("a.com", [testRoute()])]),
    )) as J;
    expect(config.name).toBe("ingress_fallbackcert");
    expect(config.virtual_hosts.map((vh: J) => vh.name)).toEqual(["a.com", "b.com"]);
  });

  test("virtualHost carries vhost-level rate limit and IP filter", async () => {
    const vh = virtualHost(
      testVirtualHost("foo.com", [testRoute()], {
        rateLimit: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60000, responseStatusCode: 429, responseHeaders: [{ name: "x-limited", value: "yes" }] },
        ipFilter: { allow: false, rules: [{ cidr: "192.168.1.1", remote: false }, { cidr: "2001:db8::/32", remote: true }] },
      }),
      { secure: false },
    ) as J;
    const limit = vh.typed_per_filter_config["envoy.filters.http.local_ratelimit"];
    expect(limit.token_bucket).toEqual({ max_tokens: 1, tokens_per_fill: 1, fill_interval: "60s" });
    expect(limit.status).toEqual({ code: "TooManyRequests" });
    const rbac = vh.typed_per_filter_config["envoy.filters.http.rbac"];
    expect(rbac.rbac.rules.action).toBe("DENY");
    expect(rbac.rbac.rules.policies["ip-rules"].principals).toEqual([
      { direct_remote_ip: { address_prefix: "192.168.1.1", prefix_len: 32 } },
      { remote_ip: { address_prefix: "2001:db8::", prefix_len: 32 } },
    ]);
    await expectEnvoyAccepts(resourceTypes.routes, { name: "x", virtual_hosts: [vh] });
  });
});
