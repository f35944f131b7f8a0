import { beforeAll, describe, expect, test } from "bun:test";
import type { KubeObject } from "../sources/types.ts";
import { buildDag } from "./builder.ts";
import type { DagOptions } from "./processor.ts";
import type { Dag, Route } from "./types.ts";
import { delegation, fakeInput, ingress, rule, selfSignedCertificate, service, testOptions, tlsSecret } from "./testing.ts";
import type { TestCertificate } from "./testing.ts";

let cert: TestCertificate;
let otherCert: TestCertificate;
let expired: TestCertificate;
beforeAll(async () => {
  [cert, otherCert, expired] = await Promise.all([
    selfSignedCertificate("foo.com"),
    selfSignedCertificate("foo.com"),
    selfSignedCertificate("old.com", { notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("2025-01-01T00:00:00Z") }),
  ]);
});

const web = service("default", "web", { ports: [{ name: "http", port: 80 }, { name: "admin", port: 9000 }] });
const ref = (name: string, namespace = "default") => ({ kind: "Ingress", namespace, name });

function build(objects: KubeObject[], options: Partial<DagOptions> = {}): Dag {
  return buildDag(fakeInput(objects), testOptions(options));
}

function routes(dag: Dag, host: string, secure = false): Route[] {
  return (secure ? dag.secureVirtualHosts : dag.virtualHosts).get(host)?.routes ?? [];
}

function status(dag: Dag, name: string, namespace = "default") {
  const s = dag.status.get(ref(name, namespace));
  if (!s) throw new Error(`no status for ${namespace}/${name}`);
  return s;
}

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

describe("duplicate host and path", () => {
  const twins = (aCreated: string, bCreated: string) => [
    web,
    service("default", "other"),
    ingress("default", "b", { rules: [rule("foo.com", [["/x", "Prefix", "other", 80]])] }, { creationTimestamp: bCreated }),
    ingress("default", "a", { rules: [rule("foo.com", [["/x", "Prefix", "web", 80], ["/y", "Prefix", "web", 80]])] }, { creationTimestamp: aCreated }),
  ];

  test("the oldest Ingress serves it; both get a DuplicatePath condition naming both", () => {
    const dag = build(twins("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"));
    const served = routes(dag, "foo.com");
    expect(served.map((r) => [r.pathMatch.value, r.source.name])).toEqual([
      ["/x", "b"],
      ["/y", "a"],
    ]);
    const message = 'host "foo.com" path Prefix "/x" is defined by both Ingress "default/b" and Ingress "default/a"; the older, Ingress "default/b", serves it';
    expect(status(dag, "b").warnings).toEqual([{ type: "RouteError", reason: "DuplicatePath", message }]);
    expect(status(dag, "b").currentStatus).toBe("valid");
    expect(status(dag, "a").errors).toEqual([{ type: "RouteError", reason: "DuplicatePath", message }]);
  });

  test("equal timestamps fall back to namespace/name, whatever the input order", () => {
    const dag = build(twins("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"));
    expect(routes(dag, "foo.com").find((r) => r.pathMatch.value === "/x")?.source.name).toBe("a");
    const reversed = build(twins("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z").reverse());
    expect(reversed.virtualHosts.get("foo.com")).toEqual(dag.virtualHosts.get("foo.com") as NonNullable<ReturnType<typeof dag.virtualHosts.get>>);
  });

  test("two default backends collide on * / (named as a Prefix)", () => {
    const backend = { service: { name: "web", port: { number: 80 } } };
    const dag = build([web, ingress("default", "a", { defaultBackend: backend }), ingress("default", "b", { defaultBackend: backend })]);
    expect(routes(dag, "*")).toHaveLength(1);
    expect(status(dag, "b").errors).toEqual([
      {
        type: "RouteError",
        reason: "DuplicatePath",
        message: 'host "*" path Prefix "/" is defined by both Ingress "default/a" and Ingress "default/b"; the older, Ingress "default/a", serves it',
      },
    ]);
  });

  test("Prefix /x and Exact /x are different paths", () => {
    const dag = build([
      web,
      ingress("default", "a", { rules: [rule("foo.com", [["/x", "Prefix", "web", 80]])] }),
      ingress("default", "b", { rules: [rule("foo.com", [["/x", "Exact", "web", 80]])] }),
    ]);
    expect(routes(dag, "foo.com")).toHaveLength(2);
    expect(status(dag, "a").warnings).toEqual([]);
  });

  test("the same path twice in one Ingress: the last definition is used, as in Contour, with a warning", () => {
    const dag = build([web, ingress("default", "a", { rules: [rule("foo.com", [["/x", "Prefix", "web", 80], ["/y", "Prefix", "web", 80], ["/x/", "Prefix", "web", "admin"]])] })]);
    expect(routes(dag, "foo.com").map((r) => [r.pathMatch.value, r.clusters[0]?.cluster.service.port])).toEqual([
      ["/x", 9000],
      ["/y", 80],
    ]);
    expect(status(dag, "a").currentStatus).toBe("valid");
    expect(status(dag, "a").warnings).toEqual([
      { type: "RouteError", reason: "DuplicatePath", message: 'host "foo.com" path Prefix "/x" is defined more than once in this Ingress; the last definition is used' },
    ]);
  });

  test("a rule for * / overrides the Ingress's own default backend (Contour prepends it so that it can be)", () => {
    const dag = build([web, ingress("default", "a", { defaultBackend: { service: { name: "web", port: { number: 80 } } }, rules: [rule(undefined, [["/", "ImplementationSpecific", "web", "admin"]])] })]);
    expect(routes(dag, "*").map((r) => r.clusters[0]?.cluster.service.port)).toEqual([9000]);
  });

  test("each virtual host decides on its own: an older HTTPS-only Ingress keeps the TLS route, a newer one serves plaintext", async () => {
    const dag = build([
      web,
      service("default", "other"),
      tlsSecret("default", "tls", await selfSignedCertificate("foo.com")),
      ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName: "tls" }], rules: [rule("foo.com", [["/x", "Prefix", "web", 80]])] }, { annotations: { "kubernetes.io/ingress.allow-http": "false" }, creationTimestamp: "2026-01-01T00:00:00Z" }),
      ingress("default", "b", { rules: [rule("foo.com", [["/x", "Prefix", "other", 80]])] }, { creationTimestamp: "2026-01-02T00:00:00Z" }),
    ]);
    expect(routes(dag, "foo.com").map((r) => r.source.name)).toEqual(["b"]);
    expect(routes(dag, "foo.com", true).map((r) => r.source.name)).toEqual(["a"]);
    const message = 'host "foo.com" path Prefix "/x" is defined by both Ingress "default/a" and Ingress "default/b"; the older, Ingress "default/a", serves it';
    expect(status(dag, "b").errors).toEqual([{ type: "RouteError", reason: "DuplicatePath", message }]);
  });

  // Deliberate difference: Contour walks its Ingresses in Go map order, which Go randomises on every
  // iteration, so which of two Ingresses serves a shared path is whichever came last in that
  // rebuild and can flip on the next one. isobar keeps the oldest, whatever order the input arrives in.
  test("deliberately unlike Contour: across Ingresses the winner does not depend on processing order", () => {
    const objects = twins("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z");
    for (const order of [objects, [...objects].reverse()]) {
      expect(routes(build(order), "foo.com").find((r) => r.pathMatch.value === "/x")?.source.name).toBe("b");
    }
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

describe("TLS", () => {
  const tlsIngress = (annotations: Record<string, string> = {}, secretName = "tls") =>
    ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName }], rules: [rule("foo.com", [["/", "Prefix", "web", 80]])] }, { annotations });

  test("spec.tls makes a secure virtual host with the validated Secret, serving the same routes", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress()]);
    const vhost = dag.secureVirtualHosts.get("foo.com");
    expect(vhost?.secret?.ref).toEqual({ kind: "Secret", namespace: "default", name: "tls" });
    expect(vhost?.minTlsVersion).toBe("1.2");
    expect(vhost?.maxTlsVersion).toBe("1.3");
    expect(routes(dag, "foo.com", true)).toEqual(routes(dag, "foo.com"));
    expect([...dag.secrets.keys()]).toEqual([vhost?.secret?.name as string]);
  });

  test("routes of another Ingress for the same host reach the TLS virtual host too", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress(), ingress("default", "b", { rules: [rule("foo.com", [["/b", "Prefix", "web", 80]])] })]);
    expect(routes(dag, "foo.com", true).map((r) => r.pathMatch.value)).toEqual(["/", "/b"]);
    expect(dag.secureVirtualHosts.get("foo.com")?.sources).toEqual([ref("a"), ref("b")]);
  });

  test("an invalid Secret is an error; the host is still served over plain HTTP", () => {
    for (const [objects, message] of [
      [[], 'spec.tls[0] Secret "default/tls" is invalid: Secret not found'],
      [[tlsSecret("default", "tls", expired)], 'spec.tls[0] Secret "default/tls" is invalid: certificate expired at 2025-01-01T00:00:00.000Z'],
    ] as const) {
      const dag = build([web, ...objects, tlsIngress()]);
      expect(dag.secureVirtualHosts.size).toBe(0);
      expect(routes(dag, "foo.com")).toHaveLength(1);
      expect(status(dag, "a").errors).toEqual([{ type: "TLSError", reason: "SecretNotValid", message }]);
    }
  });

  test("a Secret in another namespace needs a TLSCertificateDelegation", () => {
    const refused = build([web, tlsSecret("certs", "wild", cert), tlsIngress({}, "certs/wild")]);
    expect(refused.secureVirtualHosts.size).toBe(0);
    expect(status(refused, "a").errors).toEqual([{ type: "TLSError", reason: "DelegationNotPermitted", message: 'spec.tls[0] Secret "certs/wild" certificate delegation not permitted' }]);
    const allowed = build([web, tlsSecret("certs", "wild", cert), delegation("certs", "d", "wild", ["default"]), tlsIngress({}, "certs/wild")]);
    expect(allowed.secureVirtualHosts.get("foo.com")?.secret?.ref.namespace).toBe("certs");
    const annotated = build([web, tlsSecret("certs", "wild", cert), delegation("certs", "d", "wild", ["*"]), tlsIngress({ "projectcontour.io/tls-cert-namespace": "certs" }, "wild")]);
    expect(annotated.secureVirtualHosts.get("foo.com")?.secret?.ref.namespace).toBe("certs");
  });

  test("two Ingresses giving one host different certificates: the older wins, both are told", () => {
    const dag = build([
      web,
      tlsSecret("default", "tls", cert),
      tlsSecret("default", "tls2", otherCert),
      ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName: "tls" }], rules: [rule("foo.com", [["/a", "Prefix", "web", 80]])] }),
      ingress("default", "b", { tls: [{ hosts: ["foo.com"], secretName: "tls2" }], rules: [rule("foo.com", [["/b", "Prefix", "web", 80]])] }),
    ]);
    expect(dag.secureVirtualHosts.get("foo.com")?.secret?.ref.name).toBe("tls");
    const message = 'host "foo.com" has TLS Secrets from Ingress "default/a" and Ingress "default/b"; the older, Ingress "default/a", is used';
    expect(status(dag, "a").warnings).toEqual([{ type: "TLSError", reason: "DuplicateTLSHost", message }]);
    expect(status(dag, "b").errors).toEqual([{ type: "TLSError", reason: "DuplicateTLSHost", message }]);
  });

  test("one Ingress giving one host two certificates: the last spec.tls entry is used, as in Contour, with a warning", () => {
    const dag = build([
      web,
      tlsSecret("default", "tls", cert),
      tlsSecret("default", "tls2", otherCert),
      ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName: "tls" }, { hosts: ["foo.com"], secretName: "tls2" }], rules: [rule("foo.com", [["/", "Prefix", "web", 80]])] }),
    ]);
    expect(dag.secureVirtualHosts.get("foo.com")?.secret?.ref.name).toBe("tls2");
    expect(status(dag, "a")).toMatchObject({
      currentStatus: "valid",
      warnings: [{ type: "TLSError", reason: "DuplicateTLSHost", message: 'host "foo.com" has TLS Secrets from more than one spec.tls entry of this Ingress; the last, spec.tls[1], is used' }],
    });
  });

  test("force-ssl-redirect: plain HTTP routes redirect, TLS routes serve", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "ingress.kubernetes.io/force-ssl-redirect": "true" })]);
    expect(routes(dag, "foo.com")[0]?.httpsRedirect).toBe(true);
    expect(routes(dag, "foo.com", true)[0]?.httpsRedirect).toBeUndefined();
    expect(routes(dag, "foo.com", true)[0]?.clusters).toHaveLength(1);
  });

  test("allow-http: false leaves out the plain HTTP routes", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "kubernetes.io/ingress.allow-http": "false" })]);
    expect(dag.virtualHosts.size).toBe(0);
    expect(routes(dag, "foo.com", true)).toHaveLength(1);
  });

  test("force-ssl-redirect with allow-http: false still redirects plain HTTP (Contour)", () => {
    const dag = build([
      web,
      tlsSecret("default", "tls", cert),
      tlsIngress({ "ingress.kubernetes.io/force-ssl-redirect": "true", "kubernetes.io/ingress.allow-http": "false" }),
    ]);
    expect(routes(dag, "foo.com").map((r) => r.httpsRedirect)).toEqual([true]);
    expect(routes(dag, "foo.com", true)).toHaveLength(1);
  });

  test("tls-minimum-protocol-version, and a bad value falls back with a warning", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "projectcontour.io/tls-minimum-protocol-version": "1.3" })]);
    expect(dag.secureVirtualHosts.get("foo.com")?.minTlsVersion).toBe("1.3");
    const bad = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "projectcontour.io/tls-minimum-protocol-version": "1.0" })]);
    expect(bad.secureVirtualHosts.get("foo.com")?.minTlsVersion).toBe("1.2");
    expect(status(bad, "a").warnings).toEqual([
      {
        type: "AnnotationError",
        reason: "AnnotationNotValid",
        message: 'annotation projectcontour.io/tls-minimum-protocol-version: "1.0" is not a supported TLS version (1.2, 1.3); using 1.2',
      },
    ]);
    expect(status(bad, "a").currentStatus).toBe("valid");
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
