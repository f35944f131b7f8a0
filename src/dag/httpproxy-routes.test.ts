import { describe, expect, test } from "bun:test";
import type { KubeObject } from "../sources/types.ts";
import { service } from "./testing.ts";
import { build, paths, proxy, routesOf, statusOf } from "./httpproxy-testing.ts";

/** A root at r.example.com in `roots` with the given routes, plus Services app, v1, v2. */
function withRoutes(routes: unknown[], extra: KubeObject[] = [], options = {}) {
  return build(
    [
      proxy("roots", "r", { virtualhost: { fqdn: "r.example.com" }, routes }),
      service("roots", "app"),
      service("roots", "v1"),
      service("roots", "v2", { ports: [{ port: 80 }, { name: "https", port: 443 }] }),
      ...extra,
    ],
    options,
  );
}

const to = (name = "app", port = 80) => ({ name, port });
const errorsOf = (dag: ReturnType<typeof build>) => statusOf(dag, "roots", "r")?.errors;

describe("route conditions", () => {
  test("prefix, exact and regex paths", () => {
    const dag = withRoutes([
      { conditions: [{ prefix: "/api" }], services: [to()] },
      { conditions: [{ exact: "/exact" }], services: [to()] },
      { conditions: [{ regex: "/re/[a-z]+" }], services: [to()] },
    ]);
    expect(paths(routesOf(dag, "r.example.com"))).toEqual(["prefix:/api", "exact:/exact", "regex:/re/[a-z]+"]);
  });

  test("every header matcher", () => {
    const dag = withRoutes([
      {
        conditions: [
          { header: { name: "a", present: true } },
          { header: { name: "b", notpresent: true } },
          { header: { name: "c", contains: "x", ignoreCase: true } },
          { header: { name: "d", notcontains: "y", treatMissingAsEmpty: true } },
          { header: { name: "e", exact: "z" } },
          { header: { name: "f", notexact: "w", ignoreCase: true } },
          { header: { name: "g", regex: "^v[0-9]+$" } },
        ],
        services: [to()],
      },
    ]);
    expect(routesOf(dag, "r.example.com")[0]!.headerMatches).toEqual([
      { name: "a", match: { kind: "present" } },
      { name: "b", match: { kind: "notpresent" } },
      { name: "c", match: { kind: "contains", value: "x", ignoreCase: true } },
      { name: "d", match: { kind: "contains", value: "y" }, invert: true, treatMissingAsEmpty: true },
      { name: "e", match: { kind: "exact", value: "z" } },
      { name: "f", match: { kind: "exact", value: "w", ignoreCase: true }, invert: true },
      { name: "g", match: { kind: "regex", value: "^v[0-9]+$" } },
    ]);
  });

  test("every query parameter matcher", () => {
    const dag = withRoutes([
      {
        conditions: [
          { queryParameter: { name: "a", exact: "1", ignoreCase: true } },
          { queryParameter: { name: "b", prefix: "p" } },
          { queryParameter: { name: "c", suffix: "s" } },
          { queryParameter: { name: "d", regex: "^[0-9]+$" } },
          { queryParameter: { name: "e", contains: "c" } },
          { queryParameter: { name: "f", present: true } },
        ],
        services: [to()],
      },
    ]);
    expect(routesOf(dag, "r.example.com")[0]!.queryParamMatches).toEqual([
      { name: "a", match: { kind: "exact", value: "1", ignoreCase: true } },
      { name: "b", match: { kind: "prefix", value: "p" } },
      { name: "c", match: { kind: "suffix", value: "s" } },
      { name: "d", match: { kind: "regex", value: "^[0-9]+$" } },
      { name: "e", match: { kind: "contains", value: "c" } },
      { name: "f", match: { kind: "present" } },
    ]);
  });

  test("invalid route conditions drop the proxy's routes with Contour's reasons", () => {
    const cases: Array<[unknown[], string, string]> = [
      [[{ prefix: "/a" }, { exact: "/b" }], "PathMatchConditionsNotValid", "route: more than one prefix, exact or regex is not allowed in a condition block"],
      [[{ prefix: "a" }], "PathMatchConditionsNotValid", "route: prefix conditions must start with /, a was supplied"],
      [[{ exact: "e" }], "PathMatchConditionsNotValid", "route: exact conditions must start with /, e was supplied"],
      [[{ regex: "r" }], "PathMatchConditionsNotValid", "route: regex conditions must start with /, r was supplied"],
      [[{ header: { name: "x", exact: "1" } }, { header: { name: "X", exact: "2" } }], "HeaderMatchConditionsNotValid", "cannot specify duplicate header 'exact match' conditions in the same route"],
      [[{ header: { name: "x", exact: "1" } }, { header: { name: "x", notexact: "1" } }], "HeaderMatchConditionsNotValid", "cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header"],
      [[{ header: { name: "x", contains: "1" } }, { header: { name: "x", notcontains: "1" } }], "HeaderMatchConditionsNotValid", "cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header"],
      [[{ header: { name: "x", regex: "(?<=a)b" } }], "HeaderMatchConditionsNotValid", "invalid regular expression specified for 'regex' condition"],
      [[{ queryParameter: { name: "q", exact: "1", prefix: "2" } }], "QueryParameterMatchConditionsNotValid", "cannot specify more than one condition in the same match condition branch"],
      [[{ queryParameter: { name: "q", exact: "1" } }, { queryParameter: { name: "Q", exact: "2" } }], "QueryParameterMatchConditionsNotValid", "cannot specify duplicate query parameter 'exact match' conditions in the same route"],
      [[{ queryParameter: { name: "q", regex: "a\\1" } }], "QueryParameterMatchConditionsNotValid", "invalid regular expression specified for 'regex' condition"],
      [[{ header: { name: "", present: true } }], "HeaderMatchConditionsNotValid", 'invalid header name "": it must be non-empty, without NUL, CR or LF'],
      [[{ header: { name: "x\ny", exact: "1" } }], "HeaderMatchConditionsNotValid", 'invalid header name "x\\ny": it must be non-empty, without NUL, CR or LF'],
      [[{ queryParameter: { name: "", exact: "1" } }], "QueryParameterMatchConditionsNotValid", 'invalid query parameter name "": it must be non-empty, without NUL, CR or LF'],
    ];
    for (const [conditions, reason, message] of cases) {
      const dag = withRoutes([{ services: [to()] }, { conditions, services: [to()] }]);
      expect(errorsOf(dag)).toEqual([{ type: "RouteError", reason, message }]);
      expect(routesOf(dag, "r.example.com")).toEqual([]);
    }
  });

  test("a path regex RE2 rejects is refused", () => {
    const dag = withRoutes([{ conditions: [{ regex: "/(?=x)" }], services: [to()] }]);
    const error = errorsOf(dag)?.[0];
    expect(error?.reason).toBe("PathMatchConditionsNotValid");
    expect(error?.message).toStartWith("route: supplied regex: /(?=x) invalid. error: ");
  });
});

describe("services", () => {
  test("weights: absent everywhere is an equal split, partial weights keep zero", () => {
    const dag = withRoutes([
      { conditions: [{ prefix: "/equal" }], services: [to("v1"), to("v2")] },
      { conditions: [{ prefix: "/canary" }], services: [{ ...to("v1"), weight: 90 }, { ...to("v2"), weight: 10 }] },
      { conditions: [{ prefix: "/partial" }], services: [{ ...to("v1"), weight: 100 }, to("v2")] },
    ]);
    const weights = routesOf(dag, "r.example.com").map((r) => r.clusters.map((c) => `${c.cluster.service.name}=${c.weight}`));
    expect(weights).toEqual([["v1=1", "v2=1"], ["v1=90", "v2=10"], ["v1=100", "v2=0"]]);
  });

  test("weights adding up past 32 bits are refused: Envoy would reject every host's routes", () => {
    const fits = withRoutes([{ services: [{ ...to("v1"), weight: 4294967294 }, { ...to("v2"), weight: 1 }] }]);
    expect(errorsOf(fits)).toEqual([]);
    const dag = withRoutes([{ services: [{ ...to("v1"), weight: 4294967295 }, { ...to("v2"), weight: 1 }] }]);
    expect(errorsOf(dag)).toEqual([{ type: "ServiceError", reason: "WeightNotValid", message: "Spec.Routes service weights add up to 4294967296, more than 4294967295" }]);
    expect(routesOf(dag, "r.example.com")).toEqual([]);
  });

  test("port by number, protocol h2/h2c/tls, and unsupported protocols", () => {
    const dag = withRoutes([
      { conditions: [{ prefix: "/h2" }], services: [{ ...to("v2", 443), protocol: "h2" }] },
      { conditions: [{ prefix: "/h2c" }], services: [{ ...to(), protocol: "h2c" }] },
      { conditions: [{ prefix: "/tls" }], services: [{ ...to("v2", 443), protocol: "tls" }] },
      { conditions: [{ prefix: "/plain" }], services: [to()] },
    ]);
    const got = routesOf(dag, "r.example.com").map((r) => [r.clusters[0]!.cluster.service.port, r.clusters[0]!.cluster.protocol]);
    expect(got).toEqual([[443, "h2"], [80, "h2c"], [443, "tls"], [80, "http1"]]);
    const bad = withRoutes([{ services: [{ ...to(), protocol: "grpc" }] }]);
    expect(errorsOf(bad)).toEqual([{ type: "ServiceError", reason: "UnsupportedProtocol", message: "unsupported protocol: grpc" }]);
  });

  test("the protocol annotation on the Service is used when the route names none", () => {
    const annotated = service("roots", "annotated", { ports: [{ name: "grpc", port: 9000 }], annotations: { "projectcontour.io/upstream-protocol.h2c": "grpc" } });
    const dag = withRoutes([{ services: [to("annotated", 9000)] }], [annotated]);
    expect(routesOf(dag, "r.example.com")[0]!.clusters[0]!.cluster.protocol).toBe("h2c");
  });

  test("missing service: ServiceUnresolvedReference, the route answers 503", () => {
    const dag = withRoutes([{ services: [to("nope")] }]);
    expect(errorsOf(dag)).toEqual([
      { type: "ServiceError", reason: "ServiceUnresolvedReference", message: 'Spec.Routes unresolved service reference: service "roots/nope" not found' },
    ]);
    expect(routesOf(dag, "r.example.com")[0]!.directResponse).toEqual({ statusCode: 503 });
  });

  test("port out of range", () => {
    const dag = withRoutes([{ services: [to("app", 0)] }]);
    expect(errorsOf(dag)).toEqual([{ type: "ServiceError", reason: "ServicePortInvalid", message: 'service "app": port must be in the range 1-65535' }]);
  });

  test("ExternalName: refused unless enabled, never to loopback", () => {
    const external = service("roots", "ext", { type: "ExternalName", externalName: "api.example.org" });
    const loop = service("roots", "loop", { type: "ExternalName", externalName: "127.0.0.1" });
    const off = withRoutes([{ services: [to("ext")] }], [external]);
    expect(errorsOf(off)?.[0]).toEqual({
      type: "ServiceError",
      reason: "ServiceUnresolvedReference",
      message: "Spec.Routes unresolved service reference: roots/ext is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting",
    });
    const on = withRoutes([{ conditions: [{ prefix: "/e" }], services: [to("ext")] }, { services: [to("loop")] }], [external, loop], { enableExternalNameService: true });
    const cluster = routesOf(on, "r.example.com")[0]!.clusters[0]!.cluster;
    expect([cluster.externalName, cluster.sni]).toEqual(["api.example.org", "api.example.org"]);
    expect(errorsOf(on)).toEqual([
      {
        type: "ServiceError",
        reason: "ServiceUnresolvedReference",
        message: "Spec.Routes unresolved service reference: roots/loop is an ExternalName service that points to a loopback, link-local or unspecified address, this is not allowed",
      },
    ]);
  });

  test("one mirror per route; an absent mirror weight mirrors everything", () => {
    const dag = withRoutes([
      { conditions: [{ prefix: "/m" }], services: [to("v1"), { ...to("v2"), mirror: true }] },
      { conditions: [{ prefix: "/w" }], services: [to("v1"), { ...to("v2"), mirror: true, weight: 25 }] },
    ]);
    const routes = routesOf(dag, "r.example.com");
    expect(routes.map((r) => r.mirrors.map((m) => `${m.cluster.service.name}@${m.weightPercent}`))).toEqual([["v2@100"], ["v2@25"]]);
    expect(routes[0]!.clusters.map((c) => c.cluster.service.name)).toEqual(["v1"]);
    const two = withRoutes([{ services: [to("app"), { ...to("v1"), mirror: true }, { ...to("v2"), mirror: true }] }]);
    expect(errorsOf(two)).toEqual([{ type: "ServiceError", reason: "OnlyOneMirror", message: "only one service per route may be nominated as mirror" }]);
  });

  test("service header policies: set/remove, CONTOUR_ variables, Host rewrite becomes SNI", () => {
    const dag = withRoutes([
      {
        services: [
          {
            ...to("v2", 443),
            protocol: "tls",
            requestHeadersPolicy: { set: [{ name: "x-svc", value: "%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%" }, { name: "Host", value: "backend.internal" }], remove: ["x-drop"] },
            responseHeadersPolicy: { set: [{ name: "x-resp", value: "50%" }] },
          },
        ],
      },
    ]);
    const backend = routesOf(dag, "r.example.com")[0]!.clusters[0]!;
    expect(backend.requestHeaders).toEqual({ set: [{ name: "X-Svc", value: "v2:443" }], add: [], remove: ["X-Drop"], hostRewrite: "backend.internal" });
    expect(backend.responseHeaders).toEqual({ set: [{ name: "X-Resp", value: "50%%" }], add: [], remove: [] });
    expect(backend.cluster.sni).toBe("backend.internal");
    const bad = withRoutes([{ services: [{ ...to(), responseHeadersPolicy: { set: [{ name: "Host", value: "x" }] } }] }]);
    expect(errorsOf(bad)).toEqual([{ type: "ServiceError", reason: "ResponseHeadersPolicyInvalid", message: 'rewriting "Host" header is not supported on response headers' }]);
  });

  test("upstream validation: CA and subject names; missing subject; not delegated", async () => {
    const { selfSignedCertificate, secret, delegation } = await import("./testing.ts");
    const ca = await selfSignedCertificate("ca.internal");
    const caSecret = secret("roots", "ca", { "ca.crt": ca.certificate }, "Opaque");
    const otherCa = secret("certs", "ca", { "ca.crt": ca.certificate }, "Opaque");
    const svc = (validation: unknown) => ({ services: [{ ...to("v2", 443), protocol: "tls", validation }] });
    const ok = withRoutes([svc({ caSecret: "ca", subjectName: "v2.internal", subjectNames: ["v2.internal", "alt.internal"] })], [caSecret]);
    const validation = routesOf(ok, "r.example.com")[0]!.clusters[0]!.cluster.validation;
    expect(validation?.subjectNames).toEqual(["v2.internal", "alt.internal"]);
    expect(validation?.caSecret.kind).toBe("ca");
    const missing = withRoutes([svc({ caSecret: "ca" })], [caSecret]);
    expect(errorsOf(missing)).toEqual([
      { type: "ServiceError", reason: "TLSUpstreamValidation", message: "Service [v2:443] TLS upstream validation policy error: missing subject alternative name" },
    ]);
    const mismatch = withRoutes([svc({ caSecret: "ca", subjectName: "a", subjectNames: ["b"] })], [caSecret]);
    expect(errorsOf(mismatch)?.[0]?.message).toBe("Service [v2:443] TLS upstream validation policy error: first entry of SubjectNames (b) does not match SubjectName (a)");
    const foreign = withRoutes([svc({ caSecret: "certs/ca", subjectName: "a" })], [otherCa]);
    expect(errorsOf(foreign)).toEqual([
      { type: "TLSError", reason: "CACertificateNotDelegated", message: 'service.UpstreamValidation.CACertificate Secret "certs/ca" is not configured for certificate delegation' },
    ]);
    const delegated = withRoutes([svc({ caSecret: "certs/ca", subjectName: "a" })], [otherCa, delegation("certs", "d", "ca", ["roots"])]);
    expect(errorsOf(delegated)).toEqual([]);
    const plain = withRoutes([{ services: [{ ...to(), validation: { caSecret: "ca", subjectName: "a" } }] }], [caSecret]);
    expect(routesOf(plain, "r.example.com")[0]!.clusters[0]!.cluster.validation).toBeUndefined();
  });
});
