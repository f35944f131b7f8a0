// The spec's precedence between HTTPRoute matches, over random route sets: for any request, the
// first route of the translator's order that matches it (Envoy takes the first) is the one a plain
// reading of the spec picks — an exact path, then the longest prefix, then a method match, then the
// most header matches, then the most query matches, then the oldest route, then namespace/name,
// then the route's first rule.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { sortRoutes } from "../envoy/route-match.ts";
import { buildResources } from "../pipeline/build.ts";
import { createObjectCache } from "../pipeline/cache.ts";
import type { KubeObject } from "../sources/types.ts";
import { testOptions } from "./testing.ts";
import type { Route } from "./types.ts";

const group = "gateway.networking.k8s.io";
const fixed: KubeObject[] = [
  { apiVersion: `${group}/v1`, kind: "GatewayClass", metadata: { name: "contour" }, spec: { controllerName: "projectcontour.io/gateway-controller" } },
  { apiVersion: `${group}/v1`, kind: "Gateway", metadata: { name: "web", namespace: "infra" }, spec: { gatewayClassName: "contour", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] } },
  { apiVersion: "v1", kind: "Service", metadata: { name: "app", namespace: "infra" }, spec: { ports: [{ port: 80 }] } },
];

interface Match {
  path?: { type: "Exact" | "PathPrefix"; value: string };
  method?: string;
  headers?: Array<{ name: string; value: string }>;
  queryParams?: Array<{ name: string; value: string }>;
}
interface Request {
  path: string;
  method: string;
  headers: Record<string, string>;
  query: Record<string, string>;
}

const paths = ["/", "/a", "/a/b", "/ab", "/a/b/c"];
const pairs = (names: string[]) =>
  fc.uniqueArray(fc.record({ name: fc.constantFrom(...names), value: fc.constantFrom("1", "2") }), { selector: (p) => p.name, maxLength: names.length });
const match: fc.Arbitrary<Match> = fc.record(
  {
    path: fc.record({ type: fc.constantFrom("Exact" as const, "PathPrefix" as const), value: fc.constantFrom(...paths.slice(0, 4)) }),
    method: fc.constantFrom("GET", "POST"),
    headers: pairs(["h1", "h2", "h3"]),
    queryParams: pairs(["q1", "q2"]),
  },
  { requiredKeys: [] },
);
const rule = fc.array(match, { minLength: 1, maxLength: 3 });
const httpRoutes = fc.uniqueArray(
  fc.record({ name: fc.constantFrom("r1", "r2", "r3", "r4"), day: fc.integer({ min: 1, max: 3 }), rules: fc.array(rule, { minLength: 1, maxLength: 3 }) }),
  { minLength: 1, maxLength: 4, selector: (r) => r.name },
);
const request: fc.Arbitrary<Request> = fc.record({
  path: fc.constantFrom(...paths),
  method: fc.constantFrom("GET", "POST"),
  headers: fc.dictionary(fc.constantFrom("h1", "h2", "h3"), fc.constantFrom("1", "2")),
  query: fc.dictionary(fc.constantFrom("q1", "q2"), fc.constantFrom("1", "2")),
});

const prefixMatches = (prefix: string, path: string) => prefix === "/" || path === prefix || path.startsWith(`${prefix}/`);

/** Whether a spec match takes the request, as the spec words it. */
function specMatches(m: Match, req: Request): boolean {
  const path = m.path ?? { type: "PathPrefix", value: "/" };
  if (path.type === "Exact" ? path.value !== req.path : !prefixMatches(path.value, req.path)) return false;
  if (m.method && m.method !== req.method) return false;
  return (m.headers ?? []).every((h) => req.headers[h.name] === h.value) && (m.queryParams ?? []).every((q) => req.query[q.name] === q.value);
}

/** Whether Envoy's RouteMatch for a DAG route takes the request. */
function dagMatches(route: Route, req: Request): boolean {
  const p = route.pathMatch;
  if (p.kind === "exact" ? p.value !== req.path : p.kind === "prefix" ? !prefixMatches(p.value, req.path) : true) return false;
  const headers: Record<string, string> = { ...req.headers, ":method": req.method };
  const value = (m: { match: { kind: string; value?: string } }) => m.match.value;
  return route.headerMatches.every((h) => headers[h.name] === value(h)) && route.queryParamMatches.every((q) => req.query[q.name] === value(q));
}

function lexicographicallyLess(a: number[], b: number[]): boolean {
  const i = a.findIndex((value, index) => value !== b[index]);
  return i !== -1 && a[i]! < b[i]!;
}

/** The spec's winner: the least key, lexicographically. */
function specWinner(routes: Array<{ name: string; day: number; rules: Match[][] }>, req: Request): string | undefined {
  let best: { key: number[]; id: string } | undefined;
  const byAge = [...routes].sort((a, b) => a.day - b.day || (a.name < b.name ? -1 : 1));
  byAge.forEach((route, age) =>
    route.rules.forEach((matches, ruleIndex) => {
      for (const m of matches) {
        if (!specMatches(m, req)) continue;
        const path = m.path ?? { type: "PathPrefix", value: "/" };
        const key = [path.type === "Exact" ? 0 : 1, -path.value.length, m.method ? 0 : 1, -(m.headers?.length ?? 0), -(m.queryParams?.length ?? 0), age, ruleIndex];
        if (!best || lexicographicallyLess(key, best.key)) best = { key, id: `${route.name}/${ruleIndex}` };
      }
    }),
  );
  return best?.id;
}

function build(routes: Array<{ name: string; day: number; rules: Match[][] }>): Route[] {
  const objects: KubeObject[] = routes.map((r) => ({
    apiVersion: `${group}/v1`,
    kind: "HTTPRoute",
    metadata: { name: r.name, namespace: "infra", creationTimestamp: `2026-01-0${r.day}T00:00:00Z` },
    spec: {
      parentRefs: [{ name: "web" }],
      rules: r.rules.map((matches, index) => ({
        matches,
        // Which rule a request reached: its request header.
        filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-rule", value: `${r.name}/${index}` }] } }],
        backendRefs: [{ name: "app", port: 80 }],
      })),
    },
  }));
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll([...fixed, ...objects].map((object) => ({ type: "upsert" as const, object })));
  return sortRoutes(buildResources(cache, { dag: testOptions({ checkCrdSchema: true }) }).dag.virtualHosts.get("*")?.routes ?? []);
}

describe("HTTPRoute precedence", () => {
  test("the first matching route in the translator's order is the spec's choice", () => {
    fc.assert(
      fc.property(httpRoutes, fc.array(request, { minLength: 1, maxLength: 20 }), (routes, requests) => {
        const sorted = build(routes);
        for (const req of requests) {
          const first = sorted.find((r) => dagMatches(r, req));
          expect(first?.requestHeaders?.set[0]?.value).toBe(specWinner(routes, req));
        }
      }),
      { numRuns: 300 },
    );
  });

  test("a method match outranks header matches; more headers outrank more query parameters; the older route wins a tie", () => {
    const sorted = build([
      { name: "r1", day: 2, rules: [[{ headers: [{ name: "h1", value: "1" }, { name: "h2", value: "1" }] }], [{ method: "GET" }]] },
      { name: "r2", day: 1, rules: [[{ queryParams: [{ name: "q1", value: "1" }, { name: "q2", value: "1" }] }], [{ headers: [{ name: "h3", value: "1" }] }]] },
      { name: "r3", day: 3, rules: [[{ method: "GET" }]] },
    ]);
    expect(sorted.map((r) => r.requestHeaders?.set[0]?.value)).toEqual(["r1/1", "r3/0", "r1/0", "r2/1", "r2/0"]);
  });
});
