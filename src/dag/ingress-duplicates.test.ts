// Which Ingress serves a host and path that two of them claim (Contour's rule, and where isobar
// deliberately differs), split from ingress.test.ts.
import { describe, expect, test } from "bun:test";
import type { Dag } from "./types.ts";
import { buildObjects as build, hostRoutes as routes, ingress, rule, selfSignedCertificate, service, statusOf, tlsSecret } from "./testing.ts";

const web = service("default", "web", { ports: [{ name: "http", port: 80 }, { name: "admin", port: 9000 }] });
const ref = (name: string, namespace = "default") => ({ kind: "Ingress", namespace, name });
const status = (dag: Dag, name: string, namespace = "default") => statusOf(dag, ref(name, namespace));

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
