import { describe, expect, test } from "bun:test";
import { escapeHeaderValue } from "./httpproxy-policies.ts";
import { canonicalHeaderKey, parseGoDuration, parseTimeout } from "./httpproxy-spec.ts";
import { parseCidr } from "./httpproxy-vhost-policies.ts";
import { service } from "./testing.ts";
import { build, paths, proxy, routesOf, statusOf } from "./httpproxy-testing.ts";

function withRoutes(routes: unknown[]) {
  return build([proxy("roots", "r", { virtualhost: { fqdn: "r.example.com" }, routes }), service("roots", "app")]);
}
const svc = [{ name: "app", port: 80 }];
const errorsOf = (dag: ReturnType<typeof build>) => statusOf(dag, "roots", "r")?.errors;
const warningsOf = (dag: ReturnType<typeof build>) => statusOf(dag, "roots", "r")?.warnings;
const only = (dag: ReturnType<typeof build>) => routesOf(dag, "r.example.com")[0]!;

describe("parsers", () => {
  test("Go durations and Contour timeouts", () => {
    expect(parseGoDuration("1h2m3.5s")).toBe(3_723_500);
    expect(parseGoDuration("250ms")).toBe(250);
    expect(parseGoDuration("10")).toBe('time: invalid duration "10"');
    expect(parseGoDuration("abc")).toBe('time: invalid duration "abc"');
    expect(parseTimeout("")).toEqual({ kind: "default" });
    expect(parseTimeout("infinity")).toEqual({ kind: "disabled" });
    expect(parseTimeout("0s")).toEqual({ kind: "disabled" });
    expect(parseTimeout("30s")).toEqual({ kind: "duration", ms: 30_000 });
  });

  test("header keys are canonicalised as Go does", () => {
    expect(canonicalHeaderKey("x-forwarded-FOR")).toBe("X-Forwarded-For");
    expect(canonicalHeaderKey("bad header")).toBe("bad header");
  });

  test("`%` is escaped except for Envoy's known variables and %REQ()%", () => {
    expect(escapeHeaderValue("100%", {})).toBe("100%%");
    expect(escapeHeaderValue("%DOWNSTREAM_REMOTE_ADDRESS%", {})).toBe("%DOWNSTREAM_REMOTE_ADDRESS%");
    expect(escapeHeaderValue("%REQ(x-id)%", {})).toBe("%REQ(x-id)%");
    expect(escapeHeaderValue("%UNKNOWN(x)%", {})).toBe("%%UNKNOWN(x)%%");
    expect(escapeHeaderValue("%CONTOUR_NAMESPACE%", { CONTOUR_NAMESPACE: "roots" })).toBe("roots");
  });

  test("CIDRs normalise to their network; bare addresses get a full mask", () => {
    expect(parseCidr("10.1.2.3/8")).toBe("10.0.0.0/8");
    expect(parseCidr("192.168.1.1")).toBe("192.168.1.1/32");
    expect(parseCidr("2001:db8::1/32")).toBe("2001:db8::/32");
    expect(parseCidr("::1")).toBe("::1/128");
    expect(parseCidr("10.0.0.1/33")).toBeUndefined();
    expect(parseCidr("nope")).toBeUndefined();
  });
});

describe("route policies", () => {
  test("request and response header policies; Host is a request-only rewrite", () => {
    const dag = withRoutes([
      {
        services: svc,
        requestHeadersPolicy: { set: [{ name: "x-ns", value: "%CONTOUR_NAMESPACE%" }, { name: "host", value: "internal" }], remove: ["x-secret"] },
        responseHeadersPolicy: { set: [{ name: "x-pct", value: "%DOWNSTREAM_LOCAL_PORT% 5%" }] },
      },
    ]);
    expect(only(dag).requestHeaders).toEqual({ set: [{ name: "X-Ns", value: "roots" }], add: [], remove: ["X-Secret"], hostRewrite: "internal" });
    expect(only(dag).responseHeaders).toEqual({ set: [{ name: "X-Pct", value: "%DOWNSTREAM_LOCAL_PORT% 5%%" }], add: [], remove: [] });
  });

  test("invalid header policies", () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ requestHeadersPolicy: { set: [{ name: "x a", value: "1" }] } }, "RequestHeadersPolicyInvalid",
        "invalid set header \"x a\": [a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')] on request headers"],
      [{ requestHeadersPolicy: { set: [{ name: "x", value: "1" }, { name: "X", value: "2" }] } }, "RequestHeadersPolicyInvalid", 'duplicate header addition: "X" on request headers'],
      [{ requestHeadersPolicy: { remove: ["x", "x"] } }, "RequestHeadersPolicyInvalid", 'duplicate header removal: "X" on request headers'],
      [{ requestHeadersPolicy: { set: [{ name: "x", value: "a\r\nb: c" }] } }, "RequestHeadersPolicyInvalid", 'invalid set header value for "X": must not contain CR, LF or NUL on request headers'],
      [{ responseHeadersPolicy: { set: [{ name: "Host", value: "x" }] } }, "ResponseHeaderPolicyInvalid", 'rewriting "Host" header is not supported on response headers'],
      // Found by the differential fuzz: Envoy NACKs a route config that removes Host.
      [{ requestHeadersPolicy: { remove: ["host"] } }, "RequestHeadersPolicyInvalid", 'removing "Host" header is not supported on request headers'],
      [{ requestHeadersPolicy: { set: [{ name: "Host", value: "h".repeat(256) }] } }, "RequestHeadersPolicyInvalid", 'rewriting "Host" header to a value longer than 255 bytes is not supported on request headers'],
      // Escaping doubles each %: the limit (Envoy's) is on the value Envoy gets.
      [{ requestHeadersPolicy: { set: [{ name: "x", value: "%".repeat(8193) }] } }, "RequestHeadersPolicyInvalid", 'set header value for "X" is longer than 16384 bytes on request headers'],
    ];
    for (const [policy, reason, message] of cases) {
      expect(errorsOf(withRoutes([{ services: svc, ...policy }]))).toEqual([{ type: "RouteError", reason, message }]);
    }
  });

  test("timeoutPolicy: response, idle, idleConnection (on the cluster), infinity", () => {
    const dag = withRoutes([{ services: svc, timeoutPolicy: { response: "infinity", idle: "5m", idleConnection: "90s" } }]);
    expect(only(dag).timeout).toEqual({ responseMs: 0, idleMs: 300_000 });
    expect(only(dag).clusters[0]!.cluster.idleTimeoutMs).toBe(90_000);
    expect(errorsOf(withRoutes([{ services: svc, timeoutPolicy: { response: "soon" } }]))).toEqual([
      { type: "RouteError", reason: "TimeoutPolicyNotValid", message: 'route.timeoutPolicy failed to parse: error parsing response timeout: time: invalid duration "soon"' },
    ]);
  });

  test("retryPolicy", () => {
    const dag = withRoutes([
      { conditions: [{ prefix: "/a" }], services: svc, retryPolicy: { count: 3, perTryTimeout: "150ms", retryOn: ["gateway-error", "retriable-status-codes"], retriableStatusCodes: [502, 503] } },
      { conditions: [{ prefix: "/b" }], services: svc, retryPolicy: {} },
      { conditions: [{ prefix: "/c" }], services: svc, retryPolicy: { count: -1, perTryTimeout: "nonsense" } },
    ]);
    expect(routesOf(dag, "r.example.com").map((r) => r.retry)).toEqual([
      { retryOn: ["gateway-error", "retriable-status-codes"], numRetries: 3, perTryTimeoutMs: 150, retriableStatusCodes: [502, 503] },
      { retryOn: ["5xx"], numRetries: 1 },
      { retryOn: ["5xx"], numRetries: 0 },
    ]);
  });

  test("loadBalancerPolicy strategies and request hash policies", () => {
    const lb = (loadBalancerPolicy: unknown, prefix: string) => ({ conditions: [{ prefix }], services: svc, loadBalancerPolicy });
    const dag = withRoutes([
      lb({ strategy: "WeightedLeastRequest" }, "/wlr"),
      lb({ strategy: "Random" }, "/random"),
      lb({ strategy: "Cookie" }, "/cookie"),
      lb({ strategy: "RequestHash", requestHashPolicies: [{ headerHashOptions: { headerName: "x-user" }, terminal: true }, { hashSourceIP: true }, { queryParameterHashOptions: { parameterName: "Session" } }] }, "/hash"),
      lb({ strategy: "Bogus" }, "/bogus"),
    ]);
    const routes = routesOf(dag, "r.example.com");
    expect(routes.map((r) => r.clusters[0]!.cluster.loadBalancer)).toEqual(["WeightedLeastRequest", "Random", "Cookie", "RequestHash", "RoundRobin"]);
    expect(routes[2]!.cookieHash).toBe(true);
    expect(routes[3]!.requestHashPolicies).toEqual([{ headerName: "X-User", terminal: true }, { hashSourceIP: true }, { queryParameterName: "session" }]);
    const invalid = withRoutes([lb({ strategy: "RequestHash", requestHashPolicies: [{ hashSourceIP: true, headerHashOptions: { headerName: "x" } }] }, "/")]);
    expect(warningsOf(invalid)).toEqual([
      { type: "SpecError", reason: "IgnoredField", message: "ignoring invalid request hash policy, must set exactly one of hashSourceIP or headerHashOptions or queryParameterHashOptions" },
      { type: "SpecError", reason: "IgnoredField", message: "ignoring invalid request hash policy options, setting load balancer strategy to default RoundRobin" },
    ]);
    expect(only(invalid).clusters[0]!.cluster.loadBalancer).toBe("RoundRobin");
  });

  test("pathRewritePolicy: replacePrefix, expanded for `/foo` and `/foo/`", () => {
    const dag = withRoutes([
      { conditions: [{ prefix: "/api/" }], services: svc, pathRewritePolicy: { replacePrefix: [{ prefix: "/other", replacement: "/x" }, { replacement: "/" }] } },
    ]);
    const routes = routesOf(dag, "r.example.com");
    expect(routes.map((r) => [r.pathMatch.value, r.pathRewrite?.prefixReplacement])).toEqual([["/api", "/"], ["/api/", "/"]]);
    const exact = withRoutes([{ conditions: [{ exact: "/a" }], services: svc, pathRewritePolicy: { replacePrefix: [{ replacement: "/b" }] } }]);
    expect(errorsOf(exact)).toEqual([{ type: "PrefixReplaceError", reason: "MustHavePrefix", message: "cannot specify prefix replacements without a prefix condition" }]);
    const dup = withRoutes([{ services: svc, pathRewritePolicy: { replacePrefix: [{ prefix: "/a", replacement: "/b" }, { prefix: "/a", replacement: "/c" }] } }]);
    expect(errorsOf(dup)).toEqual([{ type: "PrefixReplaceError", reason: "DuplicateReplacement", message: "duplicate replacement prefix '/a'" }]);
    const ambiguous = withRoutes([{ services: svc, pathRewritePolicy: { replacePrefix: [{ replacement: "/b" }, { replacement: "/c" }] } }]);
    expect(errorsOf(ambiguous)).toEqual([{ type: "PrefixReplaceError", reason: "AmbiguousReplacement", message: "ambiguous prefix replacement" }]);
    for (const replacement of ["x/y", "/a\nb"]) {
      const bad = withRoutes([{ services: svc, pathRewritePolicy: { replacePrefix: [{ replacement }] } }]);
      expect(errorsOf(bad)).toEqual([
        { type: "PrefixReplaceError", reason: "ReplacementNotValid", message: `replacement ${JSON.stringify(replacement)} must begin with "/" and not contain CR, LF or NUL` },
      ]);
      expect(routesOf(bad, "r.example.com")).toEqual([]);
    }
  });

  test("requestRedirectPolicy, directResponsePolicy and the one-action rule", () => {
    const dag = withRoutes([
      { conditions: [{ prefix: "/old" }], requestRedirectPolicy: { scheme: "https", hostname: "new.example.com", port: 8443, statusCode: 301, prefix: "/new" } },
      { conditions: [{ prefix: "/gone" }], directResponsePolicy: { statusCode: 410, body: "gone" } },
    ]);
    const [redirect, direct] = routesOf(dag, "r.example.com");
    expect(redirect!.redirect).toEqual({ scheme: "https", hostname: "new.example.com", port: 8443, statusCode: 301, prefix: "/new" });
    expect(redirect!.clusters).toEqual([]);
    expect(direct!.directResponse).toEqual({ statusCode: 410, body: "gone" });
    expect(errorsOf(withRoutes([{ requestRedirectPolicy: { path: "/a", prefix: "/b" } }]))).toEqual([
      { type: "RouteError", reason: "RequestRedirectPolicy", message: "route.requestRedirectPolicy is invalid: cannot specify both redirect path and redirect prefix" },
    ]);
    // Envoy would refuse these in the route config (they become the Location header).
    expect(errorsOf(withRoutes([{ requestRedirectPolicy: { path: "/a\r\nSet-Cookie: x" } }]))).toEqual([
      { type: "RouteError", reason: "RequestRedirectPolicy", message: 'route.requestRedirectPolicy is invalid: path "/a\\r\\nSet-Cookie: x" must begin with "/" and not contain CR, LF or NUL' },
    ]);
    expect(errorsOf(withRoutes([{ requestRedirectPolicy: { port: 99999 } }]))?.[0]?.message).toBe("route.requestRedirectPolicy is invalid: port 99999 must be in the range 1-65535");
    expect(errorsOf(withRoutes([{ requestRedirectPolicy: { prefix: "new" } }]))?.[0]?.message).toBe('route.requestRedirectPolicy is invalid: prefix "new" must begin with "/" and not contain CR, LF or NUL');
    expect(errorsOf(withRoutes([{ requestRedirectPolicy: { hostname: "a\u0000.com" } }]))?.[0]?.message).toBe('route.requestRedirectPolicy is invalid: hostname "a\\u0000.com" must not contain CR, LF or NUL');
    // Found by the differential fuzz: Envoy refuses a route config with a body over 4096 bytes.
    expect(errorsOf(withRoutes([{ directResponsePolicy: { statusCode: 200, body: "%".repeat(4097) } }]))).toEqual([
      { type: "RouteError", reason: "DirectResponsePolicyNotValid", message: "route.directResponsePolicy is invalid: body is longer than 4096 bytes" },
    ]);
    const both = withRoutes([{ services: svc, directResponsePolicy: { statusCode: 200 } }]);
    expect(errorsOf(both)).toEqual([
      { type: "RouteError", reason: "RouteActionCountNotValid", message: "must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy" },
    ]);
    expect(routesOf(both, "r.example.com")).toEqual([]);
    expect(errorsOf(withRoutes([{ conditions: [{ prefix: "/x" }] }]))?.[0]?.reason).toBe("RouteActionCountNotValid");
  });

  test("healthCheckPolicy with Contour's defaults; websockets; internal redirects; cookie rewrites", () => {
    const dag = withRoutes([
      {
        services: svc,
        healthCheckPolicy: { path: "/healthz", intervalSeconds: 10, expectedStatuses: [{ start: 200, end: 300 }] },
        enableWebsockets: true,
        internalRedirectPolicy: { maxInternalRedirects: 2, redirectResponseCodes: [301, 307], allowCrossSchemeRedirect: "SafeOnly", denyRepeatedRouteRedirect: true },
        cookieRewritePolicies: [{ name: "session", pathRewrite: { value: "/app" }, domainRewrite: { value: "example.com" }, secure: true, sameSite: "Strict" }],
      },
    ]);
    const route = only(dag);
    expect(route.clusters[0]!.cluster.healthCheck).toEqual({
      path: "/healthz",
      intervalSeconds: 10,
      timeoutSeconds: 2,
      unhealthyThresholdCount: 3,
      healthyThresholdCount: 2,
      expectedStatuses: [{ start: 200, end: 300 }],
    });
    expect(route.websocket).toBe(true);
    expect(route.internalRedirect).toEqual({ maxInternalRedirects: 2, redirectResponseCodes: [301, 307], allowCrossSchemeRedirect: "SafeOnly", denyRepeatedRouteRedirect: true });
    expect(route.cookieRewrites).toEqual([{ name: "session", pathRewrite: "/app", domainRewrite: "example.com", secure: true, sameSite: "Strict" }]);
    expect(errorsOf(withRoutes([{ services: svc, cookieRewritePolicies: [{ name: "a" }] }]))).toEqual([
      { type: "RouteError", reason: "CookieRewritePoliciesInvalid", message: 'no attributes rewritten for cookie "a" on route cookie rewrite rules' },
    ]);
    expect(errorsOf(withRoutes([{ services: svc, cookieRewritePolicies: [{ name: "a", secure: true }, { name: "a", secure: false }] }]))?.[0]?.message).toBe(
      'duplicate cookie rewrite rule for cookie "a" on route cookie rewrite rules',
    );
    expect(errorsOf(withRoutes([{ services: svc, cookieRewritePolicies: [{ name: "a", pathRewrite: { value: "/x;Domain=evil" } }] }]))?.[0]?.reason).toBe("CookieRewritePoliciesInvalid");
    expect(errorsOf(withRoutes([{ services: svc, healthCheckPolicy: { path: "/h", expectedStatuses: [{ start: 300, end: 200 }] } }]))?.[0]?.reason).toBe("HealthCheckPolicyInvalid");
  });

  test("a route requiring a JWT provider fails closed; a route global rate limit is ignored with a warning", () => {
    expect(errorsOf(withRoutes([{ services: svc, jwtVerificationPolicy: { require: "idp" } }]))).toEqual([
      { type: "JWTVerificationError", reason: "JWTProviderNotDefined", message: 'Route references an undefined JWT provider "idp"' },
    ]);
    const global = withRoutes([{ services: svc, rateLimitPolicy: { global: { descriptors: [] } } }]);
    expect(warningsOf(global)).toEqual([
      { type: "SpecError", reason: "IgnoredField", message: 'ignoring field "Spec.Routes.RateLimitPolicy.Global"; no global rate limit service is configured' },
    ]);
    expect(routesOf(global, "r.example.com")).toHaveLength(1);
  });

  test("route rate limit and IP filters", () => {
    const dag = withRoutes([{ services: svc, rateLimitPolicy: { local: { requests: 5, unit: "second" } }, ipDenyPolicy: [{ cidr: "192.0.2.0/24", source: "Peer" }] }]);
    expect(only(dag).rateLimit).toEqual({ maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 1000 });
    expect(only(dag).ipFilter).toEqual({ allow: false, rules: [{ cidr: "192.0.2.0/24", remote: false }] });
    expect(errorsOf(withRoutes([{ services: svc, rateLimitPolicy: { local: { requests: 5, unit: "week" } } }]))).toEqual([
      { type: "RouteError", reason: "RateLimitPolicyNotValid", message: 'route.rateLimitPolicy is invalid: invalid unit "week" in local rate limit policy' },
    ]);
    const both = withRoutes([{ services: svc, ipAllowPolicy: [{ cidr: "10.0.0.0/8" }], ipDenyPolicy: [{ cidr: "10.0.0.0/8" }] }]);
    expect(errorsOf(both)).toEqual([{ type: "IPFilterError", reason: "IncompatibleIPAddressFilters", message: "cannot specify both `ipAllowPolicy` and `ipDenyPolicy`" }]);
    expect(paths(routesOf(both, "r.example.com"))).toEqual([]);
  });
});
