import { describe, expect, test } from "bun:test";
import { sortRoutes } from "../envoy/route-match.ts";
import { buildDag } from "./builder.ts";
import { proxy } from "./httpproxy-testing.ts";
import { fakeInput, ingress, rule, service, testOptions } from "./testing.ts";
import type { KubeObject } from "../sources/types.ts";

const build = (objects: KubeObject[]) => buildDag(fakeInput(objects), testOptions());
const status = (dag: ReturnType<typeof build>, kind: string, name: string) => dag.status.get({ kind, namespace: "d", name });
const services = [service("d", "ing"), service("d", "hp")];

describe("routes shadowed by a route with the same match", () => {
  test("an Ingress and an HTTPProxy for one host and path: the one Envoy serves is named, the Ingress is in error", () => {
    const dag = build([
      ...services,
      ingress("d", "web", { rules: [rule("a.example.com", [["/", "Prefix", "ing", 80], ["/only-ingress", "Prefix", "ing", 80]])] }),
      proxy("d", "site", { virtualhost: { fqdn: "a.example.com" }, routes: [{ services: [{ name: "hp", port: 80 }] }] }),
    ]);
    const message = 'host "a.example.com" path prefix "/" is defined by both HTTPProxy "d/site" and Ingress "d/web"; HTTPProxy "d/site" serves it';
    expect(status(dag, "HTTPProxy", "site")).toMatchObject({ currentStatus: "valid", warnings: [{ type: "RouteError", reason: "DuplicateRoute", message }] });
    expect(status(dag, "Ingress", "web")).toMatchObject({ currentStatus: "invalid", errors: [{ type: "RouteError", reason: "DuplicateRoute", message }] });
    // The translator's order agrees: the HTTPProxy's route comes first among the two "/" routes.
    const order = sortRoutes(dag.virtualHosts.get("a.example.com")!.routes).map((r) => `${r.pathMatch.value} ${r.source.kind}`);
    expect(order).toEqual(["/only-ingress Ingress", "/ HTTPProxy", "/ Ingress"]);
  });

  test("one HTTPProxy tree defining a route twice: warnings only, as Contour keeps both valid", () => {
    const dag = build([
      ...services,
      proxy("d", "root", { virtualhost: { fqdn: "b.example.com" }, includes: [{ name: "child" }], routes: [{ services: [{ name: "hp", port: 80 }] }, { conditions: [{ prefix: "/x" }], services: [{ name: "hp", port: 80 }] }, { conditions: [{ prefix: "/x" }], services: [{ name: "ing", port: 80 }] }] }),
      proxy("d", "child", { routes: [{ services: [{ name: "ing", port: 80 }] }] }),
    ]);
    expect(status(dag, "HTTPProxy", "root")).toMatchObject({
      currentStatus: "valid",
      warnings: [
        { type: "RouteError", reason: "DuplicateRoute", message: 'host "b.example.com" path prefix "/" is defined by both HTTPProxy "d/child" and HTTPProxy "d/root"; HTTPProxy "d/child" serves it' },
        { type: "RouteError", reason: "DuplicateRoute", message: 'host "b.example.com" path prefix "/x" is defined more than once; the first definition is used' },
      ],
    });
    expect(status(dag, "HTTPProxy", "child")).toMatchObject({ currentStatus: "valid" });
    expect(status(dag, "HTTPProxy", "child")?.warnings.map((w) => w.reason)).toEqual(["DuplicateRoute"]);
  });

  test("routes differing in header conditions do not shadow each other; the order of conditions does not matter", () => {
    const headers = (a: string, b: string) => [{ prefix: "/h" }, { header: { name: a, present: true } }, { header: { name: b, present: true } }];
    const dag = build([
      ...services,
      proxy("d", "p", {
        virtualhost: { fqdn: "c.example.com" },
        routes: [
          { conditions: [{ prefix: "/h" }, { header: { name: "x-a", present: true } }], services: [{ name: "hp", port: 80 }] },
          { conditions: [{ prefix: "/h" }], services: [{ name: "hp", port: 80 }] },
          { conditions: headers("x-b", "x-c"), services: [{ name: "hp", port: 80 }] },
          { conditions: headers("x-c", "x-b"), services: [{ name: "ing", port: 80 }] },
        ],
      }),
    ]);
    expect(status(dag, "HTTPProxy", "p")?.warnings).toEqual([
      { type: "RouteError", reason: "DuplicateRoute", message: 'host "c.example.com" path prefix "/h" with 2 header/query conditions is defined more than once; the first definition is used' },
    ]);
  });
});
