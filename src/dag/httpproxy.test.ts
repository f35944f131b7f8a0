import { describe, expect, test } from "bun:test";
import { service } from "./testing.ts";
import { build, paths, proxy, routesOf, simpleRoot, statusOf } from "./httpproxy-testing.ts";

const app = (ns: string, name = "app") => service(ns, name);

describe("roots", () => {
  test("a valid root makes a virtual host and a valid status", () => {
    const dag = build([simpleRoot("roots", "home", "Home.Example.com"), app("roots")]);
    expect([...dag.virtualHosts.keys()]).toEqual(["home.example.com"]);
    const route = routesOf(dag, "home.example.com")[0]!;
    expect(route.pathMatch).toEqual({ kind: "prefix", value: "/", segment: false });
    expect(route.clusters.map((c) => [c.cluster.service.name, c.weight])).toEqual([["app", 1]]);
    expect(route.source).toEqual({ kind: "HTTPProxy", namespace: "roots", name: "home" });
    expect(statusOf(dag, "roots", "home")).toMatchObject({ currentStatus: "valid", description: "Valid HTTPProxy", errors: [], generation: 1 });
  });

  test("a Service annotation that does not parse is a warning; the route still serves", () => {
    const sloppy = service("roots", "app", { annotations: { "projectcontour.io/max-pending-requests": "-1" } });
    const dag = build([simpleRoot("roots", "home", "home.example.com"), sloppy]);
    expect(routesOf(dag, "home.example.com")[0]?.clusters.map((c) => c.cluster.service.name)).toEqual(["app"]);
    expect(statusOf(dag, "roots", "home")).toMatchObject({ currentStatus: "valid", errors: [] });
    expect(statusOf(dag, "roots", "home")?.warnings).toEqual([
      { type: "ServiceError", reason: "AnnotationNotValid", message: 'service "app": annotation projectcontour.io/max-pending-requests: "-1" is not an unsigned integer; it is ignored' },
    ]);
  });

  test("fqdn is required", () => {
    const dag = build([proxy("roots", "a", { virtualhost: {}, routes: [{ services: [{ name: "app", port: 80 }] }] })]);
    expect(statusOf(dag, "roots", "a")?.errors).toEqual([
      { type: "VirtualHostError", reason: "FQDNNotSpecified", message: "Spec.VirtualHost.Fqdn must be specified" },
    ]);
    expect(statusOf(dag, "roots", "a")?.description).toBe("At least one error present, see Errors for details");
  });

  test("wildcards only as a leading *. label; wildcard routes pin one label on :authority", () => {
    const dag = build([simpleRoot("roots", "w", "*.example.com"), simpleRoot("roots", "bad", "foo.*.example.com"), app("roots")]);
    expect(statusOf(dag, "roots", "bad")?.errors).toEqual([
      { type: "VirtualHostError", reason: "WildCardNotAllowed", message: 'Spec.VirtualHost.Fqdn "foo.*.example.com" cannot use wildcards' },
    ]);
    const route = routesOf(dag, "*.example.com")[0]!;
    expect(route.headerMatches).toEqual([
      { name: ":authority", match: { kind: "regex", value: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.example\\.com(:[0-9]+)?$" } },
    ]);
  });

  test("an fqdn that is no hostname is refused", () => {
    const dag = build([simpleRoot("roots", "a", "exa mple.com"), app("roots")]);
    expect(statusOf(dag, "roots", "a")?.errors[0]).toEqual({
      type: "VirtualHostError",
      reason: "FQDNNotValid",
      message: 'Spec.VirtualHost.Fqdn "exa mple.com" is not a valid hostname',
    });
  });

  test("roots only in root namespaces", () => {
    const dag = build([simpleRoot("teams", "a", "a.example.com"), simpleRoot("roots", "b", "b.example.com"), app("teams"), app("roots")], {
      rootNamespaces: ["roots"],
    });
    expect(statusOf(dag, "teams", "a")?.errors).toEqual([
      { type: "RootNamespaceError", reason: "RootProxyNotAllowedInNamespace", message: "root HTTPProxy cannot be defined in this namespace" },
    ]);
    expect([...dag.virtualHosts.keys()]).toEqual(["b.example.com"]);
  });

  test("a root outside the root namespaces cannot contest a legitimate root's fqdn", () => {
    const dag = build([simpleRoot("teams", "a", "x.example.com"), simpleRoot("roots", "b", "x.example.com"), app("roots")], { rootNamespaces: ["roots"] });
    expect(statusOf(dag, "roots", "b")?.currentStatus).toBe("valid");
    expect(routesOf(dag, "x.example.com")).toHaveLength(1);
  });

  test("duplicate fqdn: every claimant is invalid, nothing is first-come", () => {
    const dag = build([simpleRoot("b", "two", "dup.example.com"), simpleRoot("a", "one", "DUP.example.com"), app("a"), app("b")]);
    const message = 'fqdn "dup.example.com" is used in multiple HTTPProxies: a/one, b/two';
    for (const [ns, name] of [["a", "one"], ["b", "two"]] as const) {
      expect(statusOf(dag, ns, name)?.errors).toEqual([{ type: "VirtualHostError", reason: "DuplicateVhost", message }]);
    }
    expect(dag.virtualHosts.size).toBe(0);
  });

  test("a root must define something", () => {
    const dag = build([proxy("roots", "empty", { virtualhost: { fqdn: "e.example.com" } })]);
    expect(statusOf(dag, "roots", "empty")?.errors).toEqual([
      { type: "SpecError", reason: "NothingDefined", message: "HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy" },
    ]);
  });

  test("ipAllowPolicy and ipDenyPolicy together are refused", () => {
    const dag = build([
      proxy("roots", "ip", {
        virtualhost: { fqdn: "ip.example.com", ipAllowPolicy: [{ cidr: "10.0.0.0/8", source: "Peer" }], ipDenyPolicy: [{ cidr: "10.1.0.0/16", source: "Peer" }] },
        routes: [{ services: [{ name: "app", port: 80 }] }],
      }),
      app("roots"),
    ]);
    expect(statusOf(dag, "roots", "ip")?.errors).toEqual([
      {
        type: "IPFilterError",
        reason: "IncompatibleIPAddressFilters",
        message: "Spec.VirtualHost.IPAllowFilterPolicy and Spec.VirtualHost.IPDepnyFilterPolicy cannot both be defined.",
      },
    ]);
  });

  test("external authorization and JWT verification fail closed; a global rate limit is ignored with a warning", async () => {
    const { selfSignedCertificate, tlsSecret } = await import("./testing.ts");
    const tls = tlsSecret("roots", "tls", await selfSignedCertificate("x.example.com"));
    const root = (virtualhost: Record<string, unknown>) =>
      proxy("roots", "x", { virtualhost: { fqdn: "x.example.com", ...virtualhost }, routes: [{ services: [{ name: "app", port: 80 }] }] });
    const cases: Array<[Record<string, unknown>, { type: string; reason: string; message: string }]> = [
      [{ authorization: { extensionRef: { name: "authz", namespace: "auth" } } },
        { type: "AuthError", reason: "AuthNotPermitted", message: "Spec.VirtualHost.Authorization.ExtensionServiceRef can only be defined for root HTTPProxies that terminate TLS" }],
      [{ tls: { secretName: "tls" }, authorization: { extensionRef: { name: "authz", namespace: "auth" } } },
        { type: "AuthError", reason: "ExtensionServiceNotFound", message: 'Spec.Virtualhost.Authorization.ServiceRef extension service "auth/authz" not found' }],
      [{ jwtProviders: [{ name: "p", remoteJWKS: { uri: "https://idp/jwks" } }] },
        { type: "JWTVerificationError", reason: "JWTVerificationNotPermitted", message: "Spec.VirtualHost.JWTProviders can only be defined for root HTTPProxies that terminate TLS" }],
      [{ tls: { secretName: "tls" }, jwtProviders: [{ name: "p", remoteJWKS: { uri: "https://idp/jwks" } }] },
        { type: "JWTVerificationError", reason: "JWTVerificationNotSupported", message: "Spec.VirtualHost.JWTProviders: JWT verification is not supported by this control plane" }],
    ];
    for (const [virtualhost, error] of cases) {
      const dag = build([root(virtualhost), app("roots"), tls]);
      expect(statusOf(dag, "roots", "x")?.errors).toEqual([error]);
      expect(dag.virtualHosts.size + dag.secureVirtualHosts.size).toBe(0);
    }
    const global = build([root({ rateLimitPolicy: { global: { descriptors: [] } } }), app("roots")]);
    expect(statusOf(global, "roots", "x")).toMatchObject({
      currentStatus: "valid",
      warnings: [{ type: "SpecError", reason: "IgnoredField", message: 'ignoring field "Spec.VirtualHost.RateLimitPolicy.Global"; no global rate limit service is configured' }],
    });
    expect(routesOf(global, "x.example.com")).toHaveLength(1);
  });

  test("virtual host policies: CORS, local rate limit, IP filters", () => {
    const dag = build([
      proxy("roots", "p", {
        virtualhost: {
          fqdn: "p.example.com",
          corsPolicy: { allowOrigin: ["*", "https://a.example.com", "https://.*\\.example\\.com"], allowMethods: ["GET"], maxAge: "10m", allowCredentials: true },
          rateLimitPolicy: { local: { requests: 10, unit: "minute", burst: 5, responseStatusCode: 429, responseHeadersToAdd: [{ name: "x-rate", value: "100%" }] } },
          ipAllowPolicy: [{ cidr: "10.1.2.3/8", source: "Remote" }, { cidr: "2001:db8::1", source: "Peer" }],
        },
        routes: [{ services: [{ name: "app", port: 80 }] }],
      }),
      app("roots"),
    ]);
    const vhost = dag.virtualHosts.get("p.example.com")!;
    expect(vhost.cors).toEqual({
      allowOrigin: ["*", "https://a.example.com", "https://.*\\.example\\.com"],
      allowOriginRegex: [false, false, true],
      allowMethods: ["GET"],
      allowHeaders: [],
      exposeHeaders: [],
      allowCredentials: true,
      maxAge: "600",
    });
    expect(vhost.rateLimit).toEqual({ maxTokens: 15, tokensPerFill: 10, fillIntervalMs: 60_000, responseStatusCode: 429, responseHeaders: [{ name: "X-Rate", value: "100%%" }] });
    expect(vhost.ipFilter).toEqual({ allow: true, rules: [{ cidr: "10.0.0.0/8", remote: true }, { cidr: "2001:db8::1/128", remote: false }] });
  });

  test("invalid virtual host policies are reported with Contour's reasons", () => {
    const root = (virtualhost: Record<string, unknown>) =>
      proxy("roots", "p", { virtualhost: { fqdn: "p.example.com", ...virtualhost }, routes: [{ services: [{ name: "app", port: 80 }] }] });
    const cases: Array<[Record<string, unknown>, { type: string; reason: string; message: string }]> = [
      [{ corsPolicy: { allowOrigin: [], allowMethods: ["GET"] } }, { type: "CORSError", reason: "PolicyDidNotParse", message: "Spec.VirtualHost.CORSPolicy: invalid allowed origin configuration with length 0" }],
      [{ corsPolicy: { allowOrigin: ["*"], allowMethods: [] } }, { type: "CORSError", reason: "PolicyDidNotParse", message: "Spec.VirtualHost.CORSPolicy: invalid allowed methods configuration with length 0" }],
      [
        { corsPolicy: { allowOrigin: ["(?=x)"], allowMethods: ["GET"] } },
        { type: "CORSError", reason: "PolicyDidNotParse", message: 'Spec.VirtualHost.CORSPolicy: invalid allowed origin "(?=x)": allowed origin is invalid exact match and invalid regex match' },
      ],
      [
        { corsPolicy: { allowOrigin: ["https://a.example.com", ""], allowMethods: ["GET"] } },
        { type: "CORSError", reason: "PolicyDidNotParse", message: 'Spec.VirtualHost.CORSPolicy: invalid allowed origin "": allowed origin is invalid exact match and invalid regex match' },
      ],
      [
        { rateLimitPolicy: { local: { requests: 0, unit: "second" } } },
        { type: "VirtualHostError", reason: "RateLimitPolicyNotValid", message: "Spec.VirtualHost.RateLimitPolicy is invalid: invalid requests value 0 in local rate limit policy" },
      ],
      [
        { rateLimitPolicy: { local: { requests: 4294967295, burst: 1, unit: "second" } } },
        { type: "VirtualHostError", reason: "RateLimitPolicyNotValid", message: "Spec.VirtualHost.RateLimitPolicy is invalid: requests plus burst 4294967296 exceeds 4294967295 in local rate limit policy" },
      ],
      [
        { rateLimitPolicy: { local: { requests: 1, unit: "second", responseStatusCode: 99999 } } },
        { type: "VirtualHostError", reason: "RateLimitPolicyNotValid", message: "Spec.VirtualHost.RateLimitPolicy is invalid: invalid response status code 99999 in local rate limit policy: must be an HTTP error status Envoy knows (400-511)" },
      ],
      [
        { rateLimitPolicy: { local: { requests: 1, unit: "second", responseStatusCode: 430 } } },
        { type: "VirtualHostError", reason: "RateLimitPolicyNotValid", message: "Spec.VirtualHost.RateLimitPolicy is invalid: invalid response status code 430 in local rate limit policy: must be an HTTP error status Envoy knows (400-511)" },
      ],
      [
        { rateLimitPolicy: { local: { requests: 1, unit: "day" } } },
        { type: "VirtualHostError", reason: "RateLimitPolicyNotValid", message: 'Spec.VirtualHost.RateLimitPolicy is invalid: invalid unit "day" in local rate limit policy' },
      ],
      [{ ipDenyPolicy: [{ cidr: "10.0.0.300", source: "Peer" }] }, { type: "IPFilterError", reason: "InvalidCIDR", message: "10.0.0.300 failed to parse: invalid CIDR address: 10.0.0.300/32" }],
    ];
    for (const [virtualhost, error] of cases) {
      const dag = build([root(virtualhost), app("roots")]);
      expect(statusOf(dag, "roots", "p")?.errors).toEqual([error]);
      expect(dag.virtualHosts.size).toBe(0);
    }
  });
});

describe("includes", () => {
  test("delegation across namespaces concatenates prefix, header and query conditions down the chain", () => {
    const dag = build([
      proxy("roots", "root", {
        virtualhost: { fqdn: "d.example.com" },
        includes: [{ name: "blog", namespace: "marketing", conditions: [{ prefix: "/blog" }, { header: { name: "x-team", exact: "a" } }] }],
      }),
      proxy("marketing", "blog", {
        includes: [{ name: "comments", namespace: "eng", conditions: [{ prefix: "/comments/" }, { queryParameter: { name: "v", exact: "2" } }] }],
        routes: [{ services: [{ name: "app", port: 80 }] }],
      }),
      proxy("eng", "comments", { routes: [{ conditions: [{ prefix: "/latest" }], services: [{ name: "app", port: 80 }] }] }),
      app("marketing"),
      app("eng"),
    ]);
    const routes = routesOf(dag, "d.example.com");
    expect(paths(routes)).toEqual(["prefix:/blog/comments/latest", "prefix:/blog"]);
    expect(routes[0]!.headerMatches).toEqual([{ name: "x-team", match: { kind: "exact", value: "a" } }]);
    expect(routes[0]!.queryParamMatches).toEqual([{ name: "v", match: { kind: "exact", value: "2" } }]);
    expect(routes[0]!.clusters[0]!.cluster.service.namespace).toBe("eng");
    expect(routes[0]!.source).toEqual({ kind: "HTTPProxy", namespace: "eng", name: "comments" });
    for (const [ns, name] of [["roots", "root"], ["marketing", "blog"], ["eng", "comments"]] as const) {
      expect(statusOf(dag, ns, name)?.currentStatus).toBe("valid");
    }
  });

  test("include cycle: reported on the proxy that closes it, with the path", () => {
    const dag = build([
      proxy("roots", "parent", { virtualhost: { fqdn: "c.example.com" }, includes: [{ name: "child", namespace: "roots", conditions: [{ prefix: "/c" }] }] }),
      proxy("roots", "child", { includes: [{ name: "grandchild" }], routes: [{ services: [{ name: "app", port: 80 }] }] }),
      proxy("roots", "grandchild", { includes: [{ name: "child" }] }),
      app("roots"),
    ]);
    expect(statusOf(dag, "roots", "child")?.errors).toEqual([
      { type: "IncludeError", reason: "IncludeCreatesCycle", message: "include creates an include cycle: roots/parent -> roots/child -> roots/grandchild -> roots/child" },
    ]);
    expect(statusOf(dag, "roots", "parent")?.currentStatus).toBe("valid");
    expect(statusOf(dag, "roots", "grandchild")?.currentStatus).toBe("valid");
    expect(paths(routesOf(dag, "c.example.com"))).toEqual(["prefix:/c"]);
  });

  test("include of a missing proxy: IncludeNotFound and a 502 on its conditions", () => {
    const dag = build([
      proxy("roots", "root", {
        virtualhost: { fqdn: "m.example.com" },
        includes: [{ name: "gone", namespace: "teams", conditions: [{ prefix: "/gone" }] }],
        routes: [{ services: [{ name: "app", port: 80 }] }],
      }),
      app("roots"),
    ]);
    expect(statusOf(dag, "roots", "root")?.errors).toEqual([{ type: "IncludeError", reason: "IncludeNotFound", message: "include teams/gone not found" }]);
    const routes = routesOf(dag, "m.example.com");
    expect(paths(routes)).toEqual(["prefix:/gone", "prefix:/"]);
    expect(routes[0]!.directResponse).toEqual({ statusCode: 502 });
  });

  test("a root including a root", () => {
    const dag = build([
      proxy("roots", "a", { virtualhost: { fqdn: "a.example.com" }, includes: [{ name: "b", conditions: [{ prefix: "/b" }] }] }),
      simpleRoot("roots", "b", "b.example.com"),
      app("roots"),
    ]);
    expect(statusOf(dag, "roots", "a")?.errors).toEqual([
      { type: "IncludeError", reason: "RootIncludesRoot", message: "root httpproxy cannot include another root httpproxy (roots/b)" },
    ]);
    expect(routesOf(dag, "a.example.com")[0]!.directResponse).toEqual({ statusCode: 502 });
    expect(statusOf(dag, "roots", "b")?.currentStatus).toBe("valid");
  });

  test("duplicate include conditions; a lone `/` is never a duplicate", () => {
    const dag = build([
      proxy("roots", "root", {
        virtualhost: { fqdn: "dup.example.com" },
        includes: [
          { name: "one", conditions: [{ prefix: "/x" }, { header: { name: "a", present: true } }] },
          { name: "two", conditions: [{ header: { name: "a", present: true } }, { prefix: "/x" }] },
          { name: "three" },
          { name: "four", conditions: [{ prefix: "/" }] },
        ],
      }),
      ...["one", "two", "three", "four"].map((n) => proxy("roots", n, { routes: [{ services: [{ name: "app", port: 80 }] }] })),
      app("roots"),
    ]);
    expect(statusOf(dag, "roots", "root")?.errors).toEqual([
      { type: "IncludeError", reason: "DuplicateMatchConditions", message: "duplicate conditions defined on an include" },
    ]);
    expect(statusOf(dag, "roots", "two")).toMatchObject({ currentStatus: "orphaned", description: "this HTTPProxy is not part of a delegation chain from a root HTTPProxy" });
    expect(statusOf(dag, "roots", "three")?.currentStatus).toBe("valid");
    expect(statusOf(dag, "roots", "four")?.currentStatus).toBe("valid");
  });

  test("invalid include conditions", () => {
    const cases: Array<[unknown[], { type: string; reason: string; message: string }]> = [
      [[{ prefix: "/a" }, { prefix: "/b" }], { type: "IncludeError", reason: "PathMatchConditionsNotValid", message: "include: more than one prefix, exact or regex is not allowed in a condition block" }],
      [[{ prefix: "a" }], { type: "IncludeError", reason: "PathMatchConditionsNotValid", message: "include: prefix conditions must start with /, a was supplied" }],
      [[{ exact: "/a" }], { type: "IncludeError", reason: "PathMatchConditionsNotValid", message: "include: exact conditions are not allowed in includes block" }],
      [[{ regex: "/a.*" }], { type: "IncludeError", reason: "PathMatchConditionsNotValid", message: "include: regex conditions are not allowed in includes block" }],
      [
        [{ header: { name: "x", present: true } }, { header: { name: "X", notpresent: true } }],
        { type: "RouteError", reason: "HeaderMatchConditionsNotValid", message: "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header" },
      ],
      [[{ queryParameter: { name: "q" } }], { type: "RouteError", reason: "QueryParameterMatchConditionsNotValid", message: "must specify at least one query parameter condition" }],
    ];
    for (const [conditions, error] of cases) {
      const dag = build([
        proxy("roots", "root", { virtualhost: { fqdn: "i.example.com" }, includes: [{ name: "child", conditions }] }),
        proxy("roots", "child", { routes: [{ services: [{ name: "app", port: 80 }] }] }),
        app("roots"),
      ]);
      expect(statusOf(dag, "roots", "root")?.errors).toEqual([error]);
      expect(statusOf(dag, "roots", "child")?.currentStatus).toBe("orphaned");
    }
  });

  test("orphans: proxies without a virtualhost that no root includes", () => {
    const dag = build([proxy("teams", "lonely", { routes: [{ services: [{ name: "app", port: 80 }] }] })]);
    expect(statusOf(dag, "teams", "lonely")).toMatchObject({
      currentStatus: "orphaned",
      description: "this HTTPProxy is not part of a delegation chain from a root HTTPProxy",
      errors: [{ type: "Orphaned", reason: "Orphaned", message: "this HTTPProxy is not part of a delegation chain from a root HTTPProxy" }],
    });
    expect(dag.virtualHosts.size).toBe(0);
  });

  test("children of an invalid root stay orphaned", () => {
    const dag = build([
      proxy("teams", "root", { virtualhost: { fqdn: "r.example.com" }, includes: [{ name: "child" }] }),
      proxy("teams", "child", { routes: [{ services: [{ name: "app", port: 80 }] }] }),
    ], { rootNamespaces: ["roots"] });
    expect(statusOf(dag, "teams", "child")?.currentStatus).toBe("orphaned");
  });

  test("an included proxy shared by two roots serves both", () => {
    const dag = build([
      proxy("roots", "a", { virtualhost: { fqdn: "a.example.com" }, includes: [{ name: "shared", namespace: "lib", conditions: [{ prefix: "/a" }] }] }),
      proxy("roots", "b", { virtualhost: { fqdn: "b.example.com" }, includes: [{ name: "shared", namespace: "lib", conditions: [{ prefix: "/b" }] }] }),
      proxy("lib", "shared", { routes: [{ services: [{ name: "app", port: 80 }] }] }),
      app("lib"),
    ]);
    expect(paths(routesOf(dag, "a.example.com"))).toEqual(["prefix:/a"]);
    expect(paths(routesOf(dag, "b.example.com"))).toEqual(["prefix:/b"]);
    expect(routesOf(dag, "a.example.com")[0]!.clusters[0]!.cluster).toBe(routesOf(dag, "b.example.com")[0]!.clusters[0]!.cluster);
  });
});
