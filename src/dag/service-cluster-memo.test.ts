// serviceCluster's memo is only a shortcut: building random HTTPProxy routes with it and with the
// reference (rememberNothing) gives the same clusters, the same cluster on every route, the same
// statuses; and every cluster a route holds is the one the DAG interned under its name.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { KubeObject } from "../sources/types.ts";
import { createBuildContext } from "./context.ts";
import { httpProxyProcessor } from "./httpproxy.ts";
import { proxy } from "./httpproxy-testing.ts";
import { rememberNothing } from "./service-cluster-memo.ts";
import { fakeInput, service, testOptions } from "./testing.ts";
import type { Dag } from "./types.ts";

const services = [
  service("apps", "app", { ports: [{ port: 80 }, { name: "alt", port: 8080 }] }),
  service("apps", "h2", { annotations: { "projectcontour.io/upstream-protocol.h2c": "80" } }),
  service("apps", "ext", { type: "ExternalName", externalName: "backend.example.net" }),
];

const hostRewrite = fc.option(fc.record({ set: fc.constant([{ name: "Host", value: "rewritten.example.com" }]) }), { nil: undefined });
const backend = fc.record(
  {
    // Few choices each, so that routes often share a Service port and differ in one setting.
    name: fc.constantFrom("app", "app", "h2", "ext", "missing"),
    port: fc.constantFrom(80, 80, 8080),
    weight: fc.integer({ min: 0, max: 3 }),
    protocol: fc.constantFrom("h2c", "h2c", "tls"),
    requestHeadersPolicy: hostRewrite,
  },
  { requiredKeys: ["name", "port"] },
);
const route = fc.record(
  {
    services: fc.array(backend, { minLength: 1, maxLength: 3 }),
    loadBalancerPolicy: fc.record({ strategy: fc.constantFrom("RoundRobin", "Random") }),
    timeoutPolicy: fc.record({ idleConnection: fc.constant("5s") }),
    requestHeadersPolicy: hostRewrite,
    healthCheckPolicy: fc.constant({ path: "/healthz" }),
  },
  { requiredKeys: ["services"] },
);
const roots = fc.array(fc.array(route, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 });

function build(objects: KubeObject[], reference: boolean): Dag {
  const ctx = createBuildContext(fakeInput(objects), testOptions({ enableExternalNameService: true }));
  httpProxyProcessor(reference ? { ...ctx, serviceClusters: rememberNothing } : ctx);
  return ctx.dag;
}

function view(dag: Dag) {
  return {
    clusters: [...dag.clusters.values()],
    routes: [...dag.virtualHosts.values()].map((vhost) => vhost.routes.map((r) => [...r.clusters, ...r.mirrors].map((c) => c.cluster.name))),
    statuses: dag.status.all(),
  };
}

describe("service cluster memo", () => {
  test("building with the memo and with the reference gives the same DAG", () => {
    fc.assert(
      fc.property(roots, (generated) => {
        const objects = [...services, ...generated.map((routes, i) => proxy("apps", `root${i}`, { virtualhost: { fqdn: `r${i}.example.com` }, routes }))];
        const fast = build(objects, false);
        expect(view(fast)).toEqual(view(build(objects, true)));
        for (const vhost of fast.virtualHosts.values()) {
          for (const r of vhost.routes) for (const c of r.clusters) expect(fast.clusters.get(c.cluster.name)).toBe(c.cluster);
        }
      }),
      { numRuns: 200 },
    );
  });
});
