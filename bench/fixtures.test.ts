// The benchmark fixtures are what the figures claim: every object valid, the resource counts of the
// described shape, three-level HTTPProxy delegation, an accepted Gateway with every HTTPRoute
// attached, and each change touching only what it says.
import { describe, expect, test } from "bun:test";
import { buildResources } from "../src/pipeline/build.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { benchDagOptions, gatewayRoute, generateCluster, httpProxyEndpointSlice, httpProxyLeaf, ingress, ingressEndpointSlice, ingressNamespaces } from "./fixtures.ts";

function cacheOf(objects: KubeObject[]) {
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll(objects.map((object) => ({ type: "upsert" as const, object })));
  return cache;
}

function routeConfig(objects: KubeObject[]) {
  const result = buildResources(cacheOf(objects), { dag: benchDagOptions });
  return { result, http: (result.resources.routes as Array<{ name?: string }>).find((r) => r.name === "ingress_http") as { virtual_hosts: Array<{ name: string; routes: unknown[] }> } };
}

describe("Ingress cluster", () => {
  const objects = generateCluster("ingress", 30);
  const { result, http } = routeConfig(objects);

  test("one host of three paths per Ingress, one cluster and one load assignment of three endpoints each, all valid", () => {
    expect(result.statuses).toHaveLength(30);
    expect(result.statuses.every((s) => s.currentStatus === "valid")).toBe(true);
    expect(result.rejected).toEqual([]);
    expect(http.virtual_hosts).toHaveLength(30);
    expect(http.virtual_hosts.every((vh) => vh.routes.length === 3)).toBe(true);
    expect(result.resources.clusters).toHaveLength(31); // and the admin cluster
    expect(result.resources.endpoints).toHaveLength(30);
    const endpoints = result.resources.endpoints[0] as { endpoints: Array<{ lb_endpoints: unknown[] }> };
    expect(endpoints.endpoints.flatMap((l) => l.lb_endpoints)).toHaveLength(3);
  });

  test("the changed Ingress adds a path and changes only the route config; the changed slice only its load assignment", () => {
    const namespaces = ingressNamespaces({ ingresses: 30 });
    const changed = objects.map((o) => (o.kind === "Ingress" && o.metadata.name === "app-7" ? ingress(7, { namespaces, generation: 1 }) : o));
    const after = routeConfig(changed);
    expect(after.http.virtual_hosts.find((vh) => vh.name === "app-7.bench.example.com")?.routes).toHaveLength(4);
    expect(after.result.resources.clusters).toEqual(result.resources.clusters);
    expect(after.result.resources.endpoints).toEqual(result.resources.endpoints);

    const cache = cacheOf(objects);
    const applied = cache.apply({ type: "upsert", object: ingressEndpointSlice(7, { namespaces, generation: 1 }) });
    expect(applied).toEqual({ affectsDag: false, affectsEndpoints: true, endpointServices: [`${ingress(7, { namespaces }).metadata.namespace}/app-7`] });
  });
});

describe("HTTPProxy trees", () => {
  const objects = generateCluster("httpproxy", 6);
  const { result, http } = routeConfig(objects);

  test("10 proxies per namespace, all valid; every root's host reaches its leaves three includes deep", () => {
    expect(objects.filter((o) => o.kind === "HTTPProxy")).toHaveLength(60);
    expect(result.statuses).toHaveLength(60);
    expect(result.statuses.filter((s) => s.currentStatus !== "valid")).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(http.virtual_hosts).toHaveLength(6);
    const paths = JSON.stringify(http.virtual_hosts.find((vh) => vh.name === "t2.bench.example.com"));
    expect(paths).toContain('"/a/v1/v2/leaf"');
    expect(paths).toContain('"x-team"');
    expect(paths).toContain("weighted_clusters");
  });

  test("the changed leaf changes only the route config; its slice is an endpoint change", () => {
    const changed = objects.map((o) => (o.kind === "HTTPProxy" && o.metadata.name === "t2-a3" ? httpProxyLeaf(2, { namespaces: 6, generation: 1 }) : o));
    const after = routeConfig(changed);
    expect(JSON.stringify(after.http)).not.toEqual(JSON.stringify(http));
    expect(after.result.resources.clusters).toEqual(result.resources.clusters);
    expect(cacheOf(objects).apply({ type: "upsert", object: httpProxyEndpointSlice(2, 1) }).affectsEndpoints).toBe(true);
  });
});

describe("Gateway API cluster", () => {
  const objects = generateCluster("gateway", 4);
  const { result, http } = routeConfig(objects);

  test("one accepted Gateway, 10 HTTPRoutes per namespace, all accepted; one host of three rules per route on the port-80 listener", () => {
    expect(objects.filter((o) => o.kind === "HTTPRoute")).toHaveLength(40);
    expect(result.statuses).toHaveLength(42); // and the Gateway and its GatewayClass
    expect(result.statuses.filter((s) => s.currentStatus !== "valid")).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(http.virtual_hosts.filter((vh) => vh.name.endsWith(".bench.example.com"))).toHaveLength(40);
    const route = http.virtual_hosts.find((vh) => vh.name === "r17.bench.example.com")!;
    expect(route.routes).toHaveLength(3);
    expect(JSON.stringify(route)).toContain("weighted_clusters");
    expect(result.resources.clusters).toHaveLength(13); // three Services in each of 4 namespaces, and the admin cluster
  });

  test("the changed route changes only the route config; a slice is an endpoint change", () => {
    const changed = objects.map((o) => (o.kind === "HTTPRoute" && o.metadata.name === "route-17" ? gatewayRoute(17, { namespaces: 4, generation: 1 }) : o));
    const after = routeConfig(changed);
    expect(JSON.stringify(after.http.virtual_hosts.find((vh) => vh.name === "r17.bench.example.com"))).toContain('"v2"');
    expect(JSON.stringify(after.http)).not.toEqual(JSON.stringify(http));
    expect(after.result.resources.clusters).toEqual(result.resources.clusters);
    expect(cacheOf(objects).apply({ type: "upsert", object: httpProxyEndpointSlice(2, 1) }).affectsEndpoints).toBe(true);
  });
});
