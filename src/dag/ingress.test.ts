import { beforeAll, describe, expect, test } from "bun:test";
import type { Dag } from "./types.ts";
import { buildObjects as build, hostRoutes as routes, ingress, rule, selfSignedCertificate, service, statusOf, tlsSecret } from "./testing.ts";
import type { TestCertificate } from "./testing.ts";

let cert: TestCertificate;
beforeAll(async () => {
  cert = await selfSignedCertificate("foo.com");
});

const web = service("default", "web", { ports: [{ name: "http", port: 80 }, { name: "admin", port: 9000 }] });
const ref = (name: string, namespace = "default") => ({ kind: "Ingress", namespace, name });

const status = (dag: Dag, name: string, namespace = "default") => statusOf(dag, ref(name, namespace));

// TLS: ingress-tls.test.ts.
describe("rules, hosts and paths", () => {
  test("each rule's host becomes a virtual host, lower-cased; each path a route to its Service port", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("Foo.COM", [["/api", "Prefix", "web", 80], ["/admin", "Prefix", "web", "admin"]])] })]);
    expect([...dag.virtualHosts.keys()]).toEqual(["foo.com"]);
    const [api, admin] = routes(dag, "foo.com");
    expect(api?.pathMatch).toEqual({ kind: "prefix", value: "/api", segment: true });
    expect(api?.clusters[0]?.cluster.service).toEqual({ namespace: "default", name: "web", port: 80, portName: "http" });
    expect(api?.clusters[0]?.weight).toBe(1);
    expect(admin?.clusters[0]?.cluster.service.port).toBe(9000);
    expect(admin?.clusters[0]?.cluster.edsServiceName).toBe("default/web/admin");
    expect(api?.source).toEqual(ref("a"));
    expect([...dag.clusters.keys()].sort()).toEqual([api?.clusters[0]?.cluster.name, admin?.clusters[0]?.cluster.name].sort() as string[]);
    expect(status(dag, "a")).toMatchObject({ currentStatus: "valid", description: "Valid Ingress", errors: [], warnings: [] });
  });

  test("path types: Exact, Prefix segment-wise (trailing slash dropped, / matches all), ImplementationSpecific", () => {
    const dag = build([
      web,
      ingress("default", "a", {
        rules: [
          rule("foo.com", [
            ["/exact", "Exact", "web", 80],
            ["/prefix/", "Prefix", "web", 80],
            ["/", "Prefix", "web", 80],
            ["/impl", "ImplementationSpecific", "web", 80],
            ["/re/[0-9]+", "ImplementationSpecific", "web", 80],
          ]),
        ],
      }),
    ]);
    expect(routes(dag, "foo.com").map((r) => r.pathMatch)).toEqual([
      { kind: "exact", value: "/exact" },
      { kind: "prefix", value: "/prefix", segment: true },
      { kind: "prefix", value: "/", segment: false },
      { kind: "prefix", value: "/impl", segment: false },
      { kind: "regex", value: "/re/[0-9]+" },
    ]);
  });

  test("a path without a type is ImplementationSpecific; without a path it is /", () => {
    const dag = build([web, ingress("default", "a", { rules: [{ host: "foo.com", http: { paths: [{ backend: { service: { name: "web", port: { number: 80 } } } }] } }] })]);
    expect(routes(dag, "foo.com")[0]?.pathMatch).toEqual({ kind: "prefix", value: "/", segment: false });
  });

  test("a regex RE2 rejects is an error on the Ingress; its other paths still serve", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("foo.com", [["/(?!admin).*", "ImplementationSpecific", "web", 80], ["/ok", "Prefix", "web", 80]])] })]);
    expect(routes(dag, "foo.com").map((r) => r.pathMatch.value)).toEqual(["/ok"]);
    const { errors, currentStatus } = status(dag, "a");
    expect(currentStatus).toBe("invalid");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.type).toBe("RouteError");
    expect(errors[0]?.reason).toBe("RegexNotValid");
    expect(errors[0]?.message).toStartWith('spec.rules[0].http.paths[0]: path "/(?!admin).*": invalid RE2 regex');
  });

  test("Exact and Prefix paths must begin with /; unknown path types are refused", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("foo.com", [["api", "Prefix", "web", 80], ["/x", "Glob", "web", 80]])] })]);
    expect(routes(dag, "foo.com")).toEqual([]);
    expect(status(dag, "a").errors).toEqual([
      { type: "RouteError", reason: "PathNotValid", message: 'spec.rules[0].http.paths[0]: path "api" must begin with "/"' },
      { type: "RouteError", reason: "PathTypeNotValid", message: 'spec.rules[0].http.paths[1]: path type "Glob" is not one of Exact, Prefix, ImplementationSpecific' },
    ]);
  });

  test("an Exact or Prefix path with a query or fragment is refused: it could never match", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("foo.com", [["/a?b=1", "Prefix", "web", 80], ["/b#top", "Exact", "web", 80], ["/c", "Prefix", "web", 80]])] })]);
    expect(routes(dag, "foo.com").map((r) => r.pathMatch.value)).toEqual(["/c"]);
    expect(status(dag, "a").errors).toEqual([
      { type: "RouteError", reason: "PathNotValid", message: 'spec.rules[0].http.paths[0]: path "/a?b=1" must not contain "?" or "#"' },
      { type: "RouteError", reason: "PathNotValid", message: 'spec.rules[0].http.paths[1]: path "/b#top" must not contain "?" or "#"' },
    ]);
  });

  test("wildcard hosts are carried by name; invalid hosts are refused", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("*.foo.com", [["/", "Prefix", "web", 80]]), rule("foo.*.com", [["/", "Prefix", "web", 80]])] })]);
    expect([...dag.virtualHosts.keys()]).toEqual(["*.foo.com"]);
    expect(status(dag, "a").errors).toEqual([{ type: "VirtualHostError", reason: "HostNotValid", message: 'spec.rules[1].host "foo.*.com" is not a valid DNS name' }]);
  });

  test("routes on a wildcard host match exactly one more label, as the Ingress spec says", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("*.foo.com", [["/", "Prefix", "web", 80]]), rule("bar.foo.com", [["/", "Prefix", "web", 80]])] })]);
    const [match] = routes(dag, "*.foo.com")[0]?.headerMatches ?? [];
    expect(match).toEqual({ name: ":authority", match: { kind: "regex", value: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.foo\\.com(:[0-9]+)?$" } });
    const authority = new RegExp((match?.match as { value: string }).value);
    expect(["bar.foo.com", "bar.foo.com:8080"].map((h) => authority.test(h))).toEqual([true, true]);
    expect(["baz.bar.foo.com", "foo.com", "barfoo.com"].map((h) => authority.test(h))).toEqual([false, false, false]);
    expect(routes(dag, "bar.foo.com")[0]?.headerMatches).toEqual([]);
  });

  test("a rule without a host and the default backend go to the * virtual host", () => {
    const dag = build([web, ingress("default", "a", { defaultBackend: { service: { name: "web", port: { name: "http" } } }, rules: [rule(undefined, [["/api", "Prefix", "web", 80]])] })]);
    expect([...dag.virtualHosts.keys()]).toEqual(["*"]);
    expect(routes(dag, "*").map((r) => r.pathMatch)).toEqual([
      { kind: "prefix", value: "/", segment: false },
      { kind: "prefix", value: "/api", segment: true },
    ]);
  });

  test("Ingresses sharing a host merge into one virtual host", () => {
    const dag = build([
      web,
      ingress("default", "a", { rules: [rule("foo.com", [["/a", "Prefix", "web", 80]])] }),
      ingress("default", "b", { rules: [rule("foo.com", [["/b", "Prefix", "web", 80]])] }),
    ]);
    const vhost = dag.virtualHosts.get("foo.com");
    expect(vhost?.routes.map((r) => r.pathMatch.value)).toEqual(["/a", "/b"]);
    expect(vhost?.sources).toEqual([ref("a"), ref("b")]);
    expect(dag.clusters.size).toBe(1);
  });
});

describe("unresolved backends answer 503", () => {
  test("a missing Service or port keeps the route, answering 503, with a condition", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("foo.com", [["/gone", "Prefix", "nope", 80], ["/port", "Prefix", "web", 8080], ["/ok", "Prefix", "web", 80]])] })]);
    const [gone, port, ok] = routes(dag, "foo.com");
    expect(gone?.directResponse).toEqual({ statusCode: 503 });
    expect(gone?.clusters).toEqual([]);
    expect(port?.directResponse).toEqual({ statusCode: 503 });
    expect(ok?.directResponse).toBeUndefined();
    expect(status(dag, "a").errors).toEqual([
      {
        type: "ServiceError",
        reason: "ServiceUnresolvedReference",
        message: 'spec.rules[0].http.paths[0] (host "foo.com" path Prefix "/gone"): unresolved service reference: service "default/nope" not found; the route answers 503',
      },
      {
        type: "ServiceError",
        reason: "ServiceUnresolvedReference",
        message:
          'spec.rules[0].http.paths[1] (host "foo.com" path Prefix "/port"): unresolved service reference: port "8080" on service "default/web" not matched; the route answers 503',
      },
    ]);
  });

  test("a resource backend is not supported: 503 and a condition", () => {
    const dag = build([ingress("default", "a", { rules: [{ host: "foo.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { resource: { kind: "StorageBucket", name: "b" } } }] } }] })]);
    expect(routes(dag, "foo.com")[0]?.directResponse).toEqual({ statusCode: 503 });
    expect(status(dag, "a").errors[0]?.reason).toBe("BackendNotSupported");
  });

  test("an ExternalName Service is refused unless enabled", () => {
    const objects = [service("default", "ext", { type: "ExternalName", externalName: "api.example.com" }), ingress("default", "a", { rules: [rule("foo.com", [["/", "Prefix", "ext", 80]])] })];
    expect(routes(build(objects), "foo.com")[0]?.directResponse).toEqual({ statusCode: 503 });
    const cluster = routes(build(objects, { enableExternalNameService: true }), "foo.com")[0]?.clusters[0]?.cluster;
    expect(cluster?.externalName).toBe("api.example.com");
  });
});

describe("upstream settings from the Service", () => {
  test("annotated protocol and circuit breakers reach the cluster; TLS upstreams get the client certificate", () => {
    const svc = service("default", "secure", {
      ports: [{ name: "https", port: 443 }, { name: "grpc", port: 9000 }],
      annotations: { "projectcontour.io/upstream-protocol.tls": "https", "projectcontour.io/upstream-protocol.h2c": "9000", "projectcontour.io/max-requests": "9" },
    });
    const dag = build([svc, tlsSecret("infra", "client", cert), ingress("default", "a", { rules: [rule("foo.com", [["/tls", "Prefix", "secure", "https"], ["/grpc", "Prefix", "secure", 9000]])] })], {
      upstreamClientCertificate: { namespace: "infra", name: "client" },
    });
    const [tls, grpc] = routes(dag, "foo.com").map((r) => r.clusters[0]?.cluster);
    expect(tls?.protocol).toBe("tls");
    expect(tls?.circuitBreakers).toEqual({ maxRequests: 9 });
    expect(tls?.clientCertificate?.ref).toEqual({ kind: "Secret", namespace: "infra", name: "client" });
    expect(grpc?.protocol).toBe("h2c");
    expect(grpc?.clientCertificate).toBeUndefined();
    expect([...dag.secrets.values()].map((s) => s.ref.name)).toEqual(["client"]);
  });

  test("a Service annotation that does not parse is a warning on every Ingress using it; the route serves", () => {
    const svc = service("default", "web", { ports: [{ name: "http", port: 80 }], annotations: { "projectcontour.io/max-connections": "lots", "projectcontour.io/max-requests": "9" } });
    const dag = build([svc, ingress("default", "a", { rules: [rule("foo.com", [["/", "Prefix", "web", 80]])] }), ingress("default", "b", { rules: [rule("bar.com", [["/", "Prefix", "web", 80]])] })]);
    expect(routes(dag, "foo.com")[0]?.clusters[0]?.cluster.circuitBreakers).toEqual({ maxRequests: 9 });
    for (const [name, host] of [["a", "foo.com"], ["b", "bar.com"]] as const) {
      expect(status(dag, name).errors).toEqual([]);
      expect(status(dag, name).warnings).toEqual([
        {
          type: "ServiceError",
          reason: "AnnotationNotValid",
          message: `spec.rules[0].http.paths[0] (host "${host}" path Prefix "/"): service "default/web" annotation projectcontour.io/max-connections: "lots" is not an unsigned integer; it is ignored`,
        },
      ]);
    }
  });

  test("a Service port's appProtocol decides the upstream protocol; an unsupported one is a warning on every Ingress using it", () => {
    const svc = service("default", "grpc", { ports: [{ name: "grpc", port: 50051, appProtocol: "kubernetes.io/h2c" }, { name: "other", port: 80, appProtocol: "grpc" }] });
    const dag = build([svc, ingress("default", "a", { rules: [rule("foo.com", [["/grpc", "Prefix", "grpc", 50051], ["/other", "Prefix", "grpc", 80]])] }), ingress("default", "b", { rules: [rule("bar.com", [["/", "Prefix", "grpc", 80]])] })]);
    expect(routes(dag, "foo.com").map((r) => r.clusters[0]?.cluster.protocol)).toEqual(["h2c", "http1"]);
    expect(status(dag, "b").warnings).toEqual([
      {
        type: "ServiceError",
        reason: "AppProtocolNotSupported",
        message: 'spec.rules[0].http.paths[0] (host "bar.com" path Prefix "/"): service "default/grpc" appProtocol "grpc" is not supported (kubernetes.io/h2c, kubernetes.io/ws, http, https are); the port is spoken to as HTTP/1.1',
      },
    ]);
    expect(status(dag, "a").warnings.map((w) => w.reason)).toEqual(["AppProtocolNotSupported"]);
  });

  test("a missing client certificate is an error on every Ingress with a TLS upstream; routes still serve", () => {
    const svc = service("default", "secure", { ports: [{ name: "https", port: 443 }], annotations: { "projectcontour.io/upstream-protocol.tls": "443" } });
    const uses = (name: string) => ingress("default", name, { rules: [rule(`${name}.com`, [["/", "Prefix", "secure", 443]])] });
    const dag = build([svc, uses("a"), uses("b")], { upstreamClientCertificate: { namespace: "infra", name: "client" } });
    const error = { type: "TLSError", reason: "SecretNotValid", message: "upstream client certificate Secret is invalid: Secret not found" };
    expect(status(dag, "a").errors).toEqual([error]);
    expect(status(dag, "b").errors).toEqual([error]);
    expect(routes(dag, "b.com")[0]?.clusters[0]?.cluster.clientCertificate).toBeUndefined();
  });
});

describe("route annotations", () => {
  const annotated = (annotations: Record<string, string>) =>
    build([web, ingress("default", "a", { rules: [rule("foo.com", [["/", "Prefix", "web", 80], ["/ws", "Prefix", "web", 80]])] }, { annotations })]);

  test("timeouts, retries and websockets", () => {
    const dag = annotated({
      "projectcontour.io/response-timeout": "infinity",
      "projectcontour.io/retry-on": "5xx,gateway-error",
      "projectcontour.io/num-retries": "3",
      "projectcontour.io/per-try-timeout": "150ms",
      "projectcontour.io/websocket-routes": "/ws",
    });
    const [root, ws] = routes(dag, "foo.com");
    expect(root?.timeout).toEqual({ responseMs: 0 });
    expect(root?.retry).toEqual({ retryOn: ["5xx", "gateway-error"], numRetries: 3, perTryTimeoutMs: 150 });
    expect(root?.websocket).toBeUndefined();
    expect(ws?.websocket).toBe(true);
    expect(status(dag, "a").warnings).toEqual([]);
  });

  test("a response timeout as a duration; retry-on alone retries once", () => {
    const [root] = routes(annotated({ "projectcontour.io/response-timeout": "1m", "projectcontour.io/retry-on": "reset" }), "foo.com");
    expect(root?.timeout).toEqual({ responseMs: 60_000 });
    expect(root?.retry).toEqual({ retryOn: ["reset"], numRetries: 1 });
  });

  test("the deprecated request-timeout applies when response-timeout is unset or empty, as a response timeout", () => {
    expect(routes(annotated({ "projectcontour.io/request-timeout": "5s" }), "foo.com")[0]?.timeout).toEqual({ responseMs: 5000 });
    expect(routes(annotated({ "projectcontour.io/request-timeout": "5s", "projectcontour.io/response-timeout": "" }), "foo.com")[0]?.timeout).toEqual({ responseMs: 5000 });
    expect(routes(annotated({ "projectcontour.io/request-timeout": "infinity" }), "foo.com")[0]?.timeout).toEqual({ responseMs: 0 });
    expect(routes(annotated({ "projectcontour.io/request-timeout": "5s", "projectcontour.io/response-timeout": "1m" }), "foo.com")[0]?.timeout).toEqual({ responseMs: 60_000 });
    // response-timeout set but bad: the default, not request-timeout (Contour falls back only when it is empty).
    const bad = annotated({ "projectcontour.io/request-timeout": "5s", "projectcontour.io/response-timeout": "soon" });
    expect(routes(bad, "foo.com")[0]?.timeout).toBeUndefined();
    const badRequest = annotated({ "projectcontour.io/request-timeout": "later" });
    expect(routes(badRequest, "foo.com")[0]?.timeout).toBeUndefined();
    expect(status(badRequest, "a").warnings).toEqual([
      { type: "AnnotationError", reason: "AnnotationNotValid", message: 'annotation projectcontour.io/request-timeout: invalid duration "later"; using Envoy\'s default timeout' },
    ]);
    const empty = annotated({ "projectcontour.io/response-timeout": "" });
    expect(routes(empty, "foo.com")[0]?.timeout).toBeUndefined();
    expect(status(empty, "a").warnings).toEqual([]);
  });

  test("bad values are warnings and the defaults apply", () => {
    const dag = annotated({
      "projectcontour.io/response-timeout": "soon",
      "projectcontour.io/retry-on": "5xx,sometimes",
      "projectcontour.io/num-retries": "many",
      "projectcontour.io/per-try-timeout": "1",
    });
    const [root] = routes(dag, "foo.com");
    expect(root?.timeout).toBeUndefined();
    expect(root?.retry).toEqual({ retryOn: ["5xx"], numRetries: 1 });
    const warning = (message: string) => ({ type: "AnnotationError", reason: "AnnotationNotValid", message });
    expect(status(dag, "a")).toMatchObject({
      currentStatus: "valid",
      warnings: [
        warning('annotation projectcontour.io/response-timeout: invalid duration "soon"; using Envoy\'s default timeout'),
        warning('annotation projectcontour.io/retry-on: unknown retry conditions "sometimes"; they are ignored'),
        warning('annotation projectcontour.io/num-retries: "many" is not an integer; using 1'),
        warning('annotation projectcontour.io/per-try-timeout: invalid duration "1"; using no per-try timeout'),
      ],
    });
  });
});

describe("status", () => {
  test("every served Ingress gets a status with its generation, even one that yields nothing", () => {
    const dag = build([ingress("default", "empty", {}, { generation: 4 }), ingress("other", "x", { rules: [{ host: "foo.com" }] }, { generation: 2 })]);
    expect(dag.status.all().map((s) => [s.ref.namespace, s.ref.name, s.generation, s.currentStatus])).toEqual([
      ["default", "empty", 4, "valid"],
      ["other", "x", 2, "valid"],
    ]);
    expect(dag.virtualHosts.size).toBe(0);
  });

  test("the same input builds the same DAG", () => {
    const objects = [web, tlsSecret("default", "tls", cert), ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName: "tls" }], rules: [rule("foo.com", [["/", "Prefix", "web", 80]])] })];
    const one = build(objects);
    const two = build(objects);
    expect([...one.clusters.keys()]).toEqual([...two.clusters.keys()]);
    expect([...one.secrets.keys()]).toEqual([...two.secrets.keys()]);
    expect(one.secureVirtualHosts.get("foo.com")).toEqual(two.secureVirtualHosts.get("foo.com") as NonNullable<ReturnType<typeof two.secureVirtualHosts.get>>);
  });
});
