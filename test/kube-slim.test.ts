// What the Kubernetes source keeps of an object (sources/kube-transform.ts) never changes what is
// served: every golden case built from its objects as the source slims them (with its string pool,
// whose shared values are frozen) equals the case built from the objects as written, resources,
// statuses and rejections alike. And a slice or Service as a real cluster sends it keeps exactly
// what the build reads.
import { describe, expect, test } from "bun:test";
import { createStringPool, slimObject } from "../src/sources/kube-transform.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { buildGolden, goldenCases } from "./helpers/golden-build.ts";

const served = (result: Awaited<ReturnType<typeof buildGolden>>["result"]) => JSON.parse(JSON.stringify({ resources: result.resources, statuses: result.statuses, rejected: result.rejected }));

describe("slimmed objects build what the objects as written build", () => {
  const pool = createStringPool();
  for (const name of goldenCases()) {
    test(name, async () => {
      const written = await buildGolden(name);
      let slimmed = 0;
      const slim = await buildGolden(name, {
        transform: (object) => {
          slimmed++;
          return slimObject(object, object.apiVersion, object.kind, pool);
        },
      });
      expect(slimmed).toBeGreaterThan(0);
      expect(served(slim.result)).toEqual(served(written.result));
    });
  }
});

describe("slimObject", () => {
  test("an EndpointSlice keeps its address type, ports, addresses, readiness and zones; port lists and conditions are shared", () => {
    const pool = createStringPool();
    const slice = (name: string, address: string): KubeObject => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name,
        namespace: "shop",
        uid: "0b5e",
        resourceVersion: "7",
        generation: 3,
        creationTimestamp: "2026-01-01T00:00:00Z",
        labels: { "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
        annotations: { "endpoints.kubernetes.io/last-change-trigger-time": "2026-01-01T00:00:00Z" },
        managedFields: [{ manager: "kube-controller-manager" }],
      } as KubeObject["metadata"],
      addressType: "IPv4",
      endpoints: [
        {
          addresses: [address],
          conditions: { ready: true, serving: true, terminating: false },
          nodeName: "node-1",
          zone: "zone-a",
          targetRef: { kind: "Pod", namespace: "shop", name: `web-${name}`, uid: "4c1d" },
          hints: { forZones: [{ name: "zone-a" }] },
        },
      ],
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
    const a = slimObject(slice("web-a", "10.0.0.1"), "discovery.k8s.io/v1", "EndpointSlice", pool)!;
    const b = slimObject(slice("web-b", "10.0.0.2"), "discovery.k8s.io/v1", "EndpointSlice", pool)!;
    expect(a).toEqual({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "web-a", namespace: "shop", resourceVersion: "7", creationTimestamp: "2026-01-01T00:00:00Z", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: true }, zone: "zone-a" }],
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
    expect(b.ports).toBe(a.ports);
    expect(Object.isFrozen(a.ports)).toBe(true);
    const conditions = (o: KubeObject) => (o.endpoints as Array<{ conditions: unknown }>)[0]!.conditions;
    expect(conditions(b)).toBe(conditions(a));
  });

  test("a Service keeps type, ports, externalName, annotations, and a status only with load balancer addresses", () => {
    const pool = createStringPool();
    const service = (status: unknown): KubeObject => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "shop", uid: "1", resourceVersion: "9", labels: { app: "web" }, annotations: { "projectcontour.io/upstream-protocol.h2c": "80" } },
      spec: { type: "ClusterIP", clusterIP: "10.96.0.1", clusterIPs: ["10.96.0.1"], selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP", appProtocol: "h2c" }], sessionAffinity: "None" },
      status,
    });
    expect(slimObject(service({ loadBalancer: {} }), "v1", "Service", pool)).toEqual({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "shop", resourceVersion: "9", annotations: { "projectcontour.io/upstream-protocol.h2c": "80" } },
      spec: { type: "ClusterIP", ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP", appProtocol: "h2c" }] },
    });
    const loadBalancer = { loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } };
    expect(slimObject(service(loadBalancer), "v1", "Service", pool)?.status).toEqual(loadBalancer);
  });

  test("the pool keeps one copy of equal values, up to its limit", () => {
    const pool = createStringPool(1);
    const first = pool.json({ ready: true });
    expect(pool.json({ ready: true })).toBe(first);
    const other = { ready: false };
    expect(pool.json(other)).toBe(other);
    expect(pool.string(["s", "hop"].join(""))).toBe("shop");
  });
});
