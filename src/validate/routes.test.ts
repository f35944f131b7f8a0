import { expect, test } from "bun:test";
import { emptyResourceSet } from "../xds/types.ts";
import { formatRouteTable, routeTable } from "./routes.ts";

const routes = [
  {
    name: "ingress_http",
    virtual_hosts: [
      {
        name: "a.test",
        domains: ["a.test"],
        routes: [
          { match: { safe_regex: { regex: "^/v[0-9]+" }, headers: [{ name: "x-debug", present_match: true, invert_match: true }] }, route: { cluster: "ns/api/80/abc" } },
          { match: { path: "/old", query_parameters: [{ name: "q", string_match: { prefix: "x", ignore_case: true } }] }, redirect: { scheme_redirect: "https", host_redirect: "b.test", path_redirect: "/new", response_code: "PERMANENT_REDIRECT" } },
          { match: { prefix: "/" }, route: { weighted_clusters: { clusters: [{ name: "other", weight: 1 }, { name: "ns/api/80/abc", weight: 3 }] }, request_mirror_policies: [{ cluster: "other", runtime_fraction: { default_value: { numerator: 5, denominator: "HUNDRED" } } }] } },
          { match: { prefix: "/gone" }, direct_response: { status: 503 } },
        ],
      },
    ],
  },
];

test("each route becomes rows: regex and inverted header, query, redirect, weighted clusters heaviest first, mirror, direct response", () => {
  const listeners = [{ name: "ingress_http", protocol: "http", address: "0.0.0.0", port: 8080, routeConfigName: "ingress_http", virtualHosts: [], filterChains: [] }];
  const dag = { clusters: new Map([["ns/api/80/abc", { service: { namespace: "ns", name: "api", port: 80 } }]]), listeners } as never;
  expect(routeTable({ ...emptyResourceSet(), routes }, dag)).toEqual([
    { scheme: "http", host: "a.test", match: "regex ^/v[0-9]+, header x-debug absent", backend: "ns/api:80", weight: "100%" },
    { scheme: "http", host: "a.test", match: "exact /old, query q prefix x (any case)", backend: "redirect https://b.test/new (permanent redirect)", weight: "" },
    { scheme: "http", host: "a.test", match: "prefix /", backend: "ns/api:80", weight: "75%" },
    { scheme: "http", host: "a.test", match: "prefix /", backend: "other", weight: "25%" },
    { scheme: "http", host: "a.test", match: "prefix /", backend: "mirror other", weight: "5%" },
    { scheme: "http", host: "a.test", match: "prefix /gone", backend: "direct response 503", weight: "" },
  ]);
});

test("the table aligns every column under its header", () => {
  const table = formatRouteTable([
    { scheme: "http", host: "a.test", match: "prefix /", backend: "ns/api:80", weight: "100%" },
    { scheme: "https", host: "longer.example.com", match: "exact /x", backend: "redirect to https", weight: "" },
  ]);
  expect(table).toBe(
    [
      "SCHEME  HOST                MATCH     BACKEND            WEIGHT",
      "http    a.test              prefix /  ns/api:80          100%",
      "https   longer.example.com  exact /x  redirect to https",
      "",
    ].join("\n"),
  );
  expect(formatRouteTable([])).toBe("");
});
