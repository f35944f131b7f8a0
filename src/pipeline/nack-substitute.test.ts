import { expect, test } from "bun:test";
import { emptyResourceSet, TypeUrls } from "../xds/types.ts";
import { contentText, routeClusters, substituteQuarantined } from "./nack-substitute.ts";

const rds = (name: string) => ({ rds: { config_source: { ads: {} }, route_config_name: name } });
const hcm = (routeConfig: string) => ({ filters: [{ name: "hcm", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", ...rds(routeConfig) } }] });
const routeConfig = (name: string, cluster: string) => ({ name, virtual_hosts: [{ name, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster } }] }] });

test("what names a route config left out loses the filter chain that names it, or is left out whole", () => {
  const bad = routeConfig("https/a", "a");
  const set = {
    ...emptyResourceSet(),
    listeners: [
      { name: "ingress_https", filter_chains: [hcm("https/a"), hcm("https/b")] },
      { name: "grpc", api_listener: { api_listener: { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", ...rds("https/a") } } },
    ],
    routes: [bad, routeConfig("https/b", "b")],
    clusters: [{ name: "a" }, { name: "b" }],
  };
  const result = substituteQuarantined(set, { quarantines: [{ typeUrl: TypeUrls.route, name: "https/a", content: contentText(bad) }], lastGood: () => undefined });
  expect(result.held).toHaveLength(1);
  expect(result.resources.routes.map((r) => (r as { name: string }).name)).toEqual(["https/b"]);
  expect(result.resources.listeners).toEqual([{ name: "ingress_https", filter_chains: [hcm("https/b")] }]);
  expect(result.leftOut.map((l) => [l.name, l.reason])).toEqual([
    ["https/a", "no earlier version of it was served"],
    ["ingress_https", '1 filter chain(s) left out: names RouteConfiguration "https/a", which is not served'],
    ["grpc", 'names RouteConfiguration "https/a", which is not served'],
  ]);
  // The input set is not changed.
  expect(set.routes).toHaveLength(2);
});

test("a substituted route config naming a cluster that is gone is left out; a changed one is released", () => {
  const now = routeConfig("ingress_http", "new");
  const set = { ...emptyResourceSet(), routes: [now], clusters: [{ name: "new" }] };
  const quarantine = { typeUrl: TypeUrls.route, name: "ingress_http", content: contentText(now) };
  const held = substituteQuarantined(set, { quarantines: [quarantine], lastGood: () => routeConfig("ingress_http", "old") });
  expect(held.resources.routes).toEqual([]);
  expect(held.leftOut).toEqual([{ typeUrl: TypeUrls.route, name: "ingress_http", reason: 'names Cluster "old", which is not served' }]);
  const released = substituteQuarantined({ ...set, routes: [routeConfig("ingress_http", "other")] }, { quarantines: [quarantine], lastGood: () => undefined });
  expect(released.released).toEqual([quarantine]);
  expect(released.resources.routes).toEqual([routeConfig("ingress_http", "other")]);
});

test("routeClusters finds plain, weighted and mirror clusters", () => {
  const route = { routes: [{ route: { weighted_clusters: { clusters: [{ name: "w1" }, { name: "w2" }] }, request_mirror_policies: [{ cluster: "m" }] } }, { route: { cluster: "c" } }] };
  expect(routeClusters(route).sort()).toEqual(["c", "m", "w1", "w2"]);
});
