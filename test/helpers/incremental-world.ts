// The random worlds of the incremental build's property tests (test/incremental-build.property.test.ts,
// test/build-patch.property.test.ts): the fuzz world plus Gateway API objects, steps that take a
// pseudo-random few objects of another world, and a build's resources encoded for comparison.
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { selfSignedCertificate } from "../../src/dag/testing.ts";
import type { BuildResult } from "../../src/pipeline/build.ts";
import { createObjectCache, type ObjectCache } from "../../src/pipeline/cache.ts";
import { kindKey, type KubeObject } from "../../src/sources/types.ts";
import { encodeStrict } from "../../src/xds/registry.ts";
import { resourceTypes } from "../../src/xds/types.ts";
import { loadSecretBodies, objectsOf, world, type World } from "./fuzz-world.ts";

let backendCaPem = "";

/** Loads what the worlds' Secrets and CA bundles hold (call once before generating). */
export async function loadWorldCertificates(): Promise<void> {
  await loadSecretBodies();
  backendCaPem = (await selfSignedCertificate("backend-ca")).certificate;
}

const gatewayGroup = "gateway.networking.k8s.io";
const hosts = ["a.example.com", "b.example.com", "e.example.com", "g.example.com", "*.example.com"];

/** A Gateway API world: a class, a Gateway in default (HTTP, sometimes HTTPS with tls0), routes on the fuzz world's hosts. */
export const gatewayWorld = fc.record({
  // `other`: a listener on another port too, which the Gateway API unit serves on a listener of its own.
  gateway: fc.option(fc.record({ https: fc.boolean(), from: fc.constantFrom("All", "Same"), other: fc.boolean() }), { freq: 4, nil: undefined }),
  routes: fc.uniqueArray(
    fc.record({
      namespace: fc.constantFrom("default", "team"),
      name: fc.constantFrom("r0", "r1", "r2"),
      hostnames: fc.array(fc.constantFrom(...hosts), { maxLength: 2 }),
      path: fc.constantFrom("/", "/a", "/g"),
      backend: fc.constantFrom("s0", "s1", "gone"),
      port: fc.constantFrom(80, 443),
    }),
    { maxLength: 3, selector: (r) => `${r.namespace}/${r.name}` },
  ),
  // A BackendTLSPolicy on a Service of default, its CA bundle a ConfigMap (a CA, garbage, or none).
  backendTls: fc.option(fc.record({ target: fc.constantFrom("s0", "s1"), ca: fc.constantFrom("good", "bad", "none") }), { freq: 2, nil: undefined }),
});

export function gatewayObjects(w: typeof gatewayWorld extends fc.Arbitrary<infer T> ? T : never): KubeObject[] {
  const objects: KubeObject[] = [];
  if (!w.gateway) return objects;
  const apiVersion = `${gatewayGroup}/v1`;
  objects.push({ apiVersion, kind: "GatewayClass", metadata: { name: "contour" }, spec: { controllerName: "projectcontour.io/gateway-controller" } });
  const listeners: unknown[] = [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: w.gateway.from } } }];
  if (w.gateway.other) listeners.push({ name: "other", port: 81, protocol: "HTTP", allowedRoutes: { namespaces: { from: w.gateway.from } } });
  if (w.gateway.https) listeners.push({ name: "https", port: 443, protocol: "HTTPS", hostname: "*.example.com", tls: { mode: "Terminate", certificateRefs: [{ name: "tls0" }] }, allowedRoutes: { namespaces: { from: w.gateway.from } } });
  objects.push({ apiVersion, kind: "Gateway", metadata: { namespace: "default", name: "gw" }, spec: { gatewayClassName: "contour", listeners } });
  if (w.backendTls) {
    objects.push({
      apiVersion,
      kind: "BackendTLSPolicy",
      metadata: { namespace: "default", name: "tls", generation: 1 },
      spec: { targetRefs: [{ group: "", kind: "Service", name: w.backendTls.target }], validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }], hostname: "backend.example.com" } },
    });
    if (w.backendTls.ca !== "none") objects.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "default", name: "ca" }, data: { "ca.crt": w.backendTls.ca === "good" ? backendCaPem : "not a certificate" } });
  }
  for (const r of w.routes) {
    objects.push({
      apiVersion,
      kind: "HTTPRoute",
      metadata: { namespace: r.namespace, name: r.name, generation: 1 },
      spec: {
        parentRefs: [{ name: "gw", namespace: "default" }],
        hostnames: r.hostnames,
        rules: [{ matches: [{ path: { type: "PathPrefix", value: r.path } }], backendRefs: [{ name: r.backend, port: r.port }] }],
      },
    });
  }
  return objects;
}

/** One step: the objects of another random world, of which a pseudo-random few are taken (added, replaced or deleted). */
export const step = fc.record({ world, gateway: gatewayWorld, seed: fc.nat(), share: fc.constantFrom(2, 4, 8, 16) });

export function taken(seed: number, key: string, share: number): boolean {
  let h = seed | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return ((h >>> 0) % share) === 0;
}

/** The resources of a build, each encoded, by type and name. */
export function encoded(result: BuildResult): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // VirtualHosts (VHDS) are not built: the store derives them from the route configurations.
  for (const info of resourceTypes) {
    out[info.kind] = ((result.resources[info.kind] ?? []) as Array<{ name?: string; cluster_name?: string }>).map(
      (resource) => `${resource.name ?? resource.cluster_name} ${Buffer.from(encodeStrict(info.typeUrl, resource)).toString("hex")}`,
    );
  }
  return out;
}


/** The objects of a world and its Gateway API part, by `Kind namespace/name`. */
export function objectsByKey(w: World, gateway: Parameters<typeof gatewayObjects>[0]): Map<string, KubeObject> {
  return new Map([...objectsOf(w), ...gatewayObjects(gateway)].map((o) => [kindKey(o), o]));
}

/** A cache holding `objects`. */
export function cacheOf(objects: Map<string, KubeObject>): ObjectCache {
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll([...objects.values()].map((object) => ({ type: "upsert" as const, object })));
  return cache;
}

/** Applies one step to the cache: the taken objects of the step's world upserted, or deleted when it has none. Returns the objects after it. */
export function applyStep(cache: ObjectCache, current: Map<string, KubeObject>, next: Map<string, KubeObject>, seed: number, share: number): Map<string, KubeObject> {
  const events = [];
  const updated = new Map(current);
  for (const key of new Set([...current.keys(), ...next.keys()])) {
    if (!taken(seed, key, share)) continue;
    const object = next.get(key);
    if (object) {
      updated.set(key, object);
      events.push({ type: "upsert" as const, object });
    } else if (current.has(key)) {
      updated.delete(key);
      events.push({ type: "delete" as const, object: current.get(key)! });
    }
  }
  cache.applyAll(events);
  return updated;
}
