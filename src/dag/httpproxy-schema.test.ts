// The HTTPProxy processor with the CRD schema check (manifest mode): a misspelled field makes the
// object invalid (SpecNotValid, naming the field) instead of a silently widened route; an empty
// condition entry is refused in either mode; includes of a schema-invalid proxy answer 502.
import { describe, expect, test } from "bun:test";
import { build, paths, proxy, routesOf, statusOf } from "./httpproxy-testing.ts";
import { service } from "./testing.ts";
import type { KubeObject } from "../sources/types.ts";

const manifests = { checkCrdSchema: true };
const app = service("apps", "app");

function root(spec: Record<string, unknown>): KubeObject {
  return proxy("apps", "root", { virtualhost: { fqdn: "app.example.com" }, ...spec });
}

describe("CRD schema (manifest mode)", () => {
  const misspelled = root({
    routes: [
      { conditions: [{ prefx: "/api" }], timeoutPolicy: { respons: "5s" }, services: [{ name: "app", port: 80 }] },
      { conditions: [{ prefix: "/" }], services: [{ name: "app", port: 80 }] },
    ],
  });

  test("a misspelled field is an error naming it, and the proxy is not served", () => {
    const dag = build([app, misspelled], manifests);
    const status = statusOf(dag, "apps", "root");
    expect(status?.currentStatus).toBe("invalid");
    expect(status?.description).toBe("At least one error present, see Errors for details");
    expect(status?.errors).toEqual([
      { type: "SpecError", reason: "SpecNotValid", message: "spec.routes[0].conditions[0].prefx: field not declared in schema" },
      { type: "SpecError", reason: "SpecNotValid", message: "spec.routes[0].timeoutPolicy.respons: field not declared in schema" },
    ]);
    expect(dag.virtualHosts.size).toBe(0);
  });

  test("type, enum and bound errors use the API server's wording", () => {
    const bad = root({ routes: [{ services: [{ name: "app", port: "80", protocol: "h3" }, { name: "app", port: 0 }] }] });
    expect(statusOf(build([app, bad], manifests), "apps", "root")?.errors.map((e) => e.message)).toEqual([
      'spec.routes[0].services[0].port: Invalid value: "string": spec.routes[0].services[0].port in body must be of type integer: "string"',
      'spec.routes[0].services[0].protocol: Unsupported value: "h3": supported values: "h2", "h2c", "tls"',
      "spec.routes[0].services[1].port: Invalid value: 0: spec.routes[0].services[1].port in body should be greater than or equal to 1",
    ]);
  });

  test("without the check (a cluster's API server already pruned), the pruned empty condition is still refused", () => {
    const dag = build([app, misspelled]);
    expect(statusOf(dag, "apps", "root")?.errors).toEqual([
      { type: "RouteError", reason: "PathMatchConditionsNotValid", message: "route: condition must have prefix, exact, regex, header, or queryParameter" },
    ]);
    expect(routesOf(dag, "app.example.com")).toEqual([]);
  });

  test("a schema-invalid root's includes are orphaned; a schema-invalid child answers 502 on its include's conditions", () => {
    const child = (name: string, spec: Record<string, unknown>) => proxy("apps", name, spec);
    const badRoot = proxy("apps", "bad-root", { virtualhost: { fqdn: "bad.example.com", tls: { secretNme: "x" } }, includes: [{ name: "orphan" }] });
    const orphan = child("orphan", { routes: [{ services: [{ name: "app", port: 80 }] }] });
    const goodRoot = root({
      includes: [{ name: "broken", conditions: [{ prefix: "/broken" }] }],
      routes: [{ services: [{ name: "app", port: 80 }] }],
    });
    const broken = child("broken", { routes: [{ servics: [{ name: "app", port: 80 }] }] });
    const dag = build([app, badRoot, orphan, goodRoot, broken], manifests);
    expect(statusOf(dag, "apps", "bad-root")?.errors).toEqual([
      { type: "SpecError", reason: "SpecNotValid", message: "spec.virtualhost.tls.secretNme: field not declared in schema" },
    ]);
    expect(statusOf(dag, "apps", "orphan")?.currentStatus).toBe("orphaned");
    expect(dag.virtualHosts.has("bad.example.com")).toBe(false);
    expect(statusOf(dag, "apps", "root")?.currentStatus).toBe("valid");
    expect(statusOf(dag, "apps", "broken")?.errors).toEqual([
      { type: "SpecError", reason: "SpecNotValid", message: "spec.routes[0].servics: field not declared in schema" },
    ]);
    const routes = routesOf(dag, "app.example.com");
    expect(paths(routes)).toEqual(["prefix:/broken", "prefix:/"]);
    expect(routes[0]?.directResponse).toEqual({ statusCode: 502 });
  });

  test("a tcpproxy include of a schema-invalid proxy makes the root invalid", () => {
    const tlsRoot = proxy("apps", "tcp", { virtualhost: { fqdn: "tcp.example.com", tls: { passthrough: true } }, tcpproxy: { include: { name: "tcp-child" } } });
    const tcpChild = proxy("apps", "tcp-child", { tcpproxy: { services: [{ name: "app", port: 80, wieght: 1 }] } });
    const dag = build([app, tlsRoot, tcpChild], manifests);
    expect(statusOf(dag, "apps", "tcp")?.errors).toEqual([
      { type: "TCPProxyIncludeError", reason: "IncludeNotValid", message: "include apps/tcp-child does not match the HTTPProxy schema (see its status)" },
    ]);
    expect(statusOf(dag, "apps", "tcp-child")?.errors.map((e) => e.message)).toEqual(["spec.tcpproxy.services[0].wieght: field not declared in schema"]);
  });

  test("a TLSCertificateDelegation that fails its schema gets the error", () => {
    const delegation: KubeObject = {
      apiVersion: "projectcontour.io/v1",
      kind: "TLSCertificateDelegation",
      metadata: { namespace: "certs", name: "wildcard" },
      spec: { delegations: [{ secretName: "wildcard", targetNamespace: ["apps"] }] },
    };
    const dag = build([delegation], manifests);
    expect(dag.status.get({ kind: "TLSCertificateDelegation", namespace: "certs", name: "wildcard" })?.errors).toEqual([
      { type: "SpecError", reason: "SpecNotValid", message: "spec.delegations[0].targetNamespaces: Required value" },
      { type: "SpecError", reason: "SpecNotValid", message: "spec.delegations[0].targetNamespace: field not declared in schema" },
    ]);
  });
});

describe("empty condition entries (either mode)", () => {
  test("a route condition with no matcher is PathMatchConditionsNotValid and drops the proxy's routes", () => {
    for (const empty of [{}, { prefix: "" }]) {
      const dag = build([app, root({ routes: [{ conditions: [empty], services: [{ name: "app", port: 80 }] }] })]);
      expect(statusOf(dag, "apps", "root")?.errors).toEqual([
        { type: "RouteError", reason: "PathMatchConditionsNotValid", message: "route: condition must have prefix, exact, regex, header, or queryParameter" },
      ]);
      expect(routesOf(dag, "app.example.com")).toEqual([]);
    }
  });

  test("an include condition with no matcher is PathMatchConditionsNotValid and the include is skipped", () => {
    const parent = root({ includes: [{ name: "child", conditions: [{}] }], routes: [{ services: [{ name: "app", port: 80 }] }] });
    const child = proxy("apps", "child", { routes: [{ services: [{ name: "app", port: 80 }] }] });
    const dag = build([app, parent, child], manifests);
    expect(statusOf(dag, "apps", "root")?.errors).toEqual([
      { type: "IncludeError", reason: "PathMatchConditionsNotValid", message: "include: condition must have prefix, header, or queryParameter" },
    ]);
    expect(statusOf(dag, "apps", "child")?.currentStatus).toBe("orphaned");
  });

  test("header-only and queryParameter-only conditions are not empty", () => {
    const spec = {
      routes: [{ conditions: [{ header: { name: "x-canary", present: true } }, { queryParameter: { name: "v", exact: "2" } }], services: [{ name: "app", port: 80 }] }],
    };
    const dag = build([app, root(spec)], manifests);
    expect(statusOf(dag, "apps", "root")?.currentStatus).toBe("valid");
    expect(paths(routesOf(dag, "app.example.com"))).toEqual(["prefix:/"]);
  });
});
