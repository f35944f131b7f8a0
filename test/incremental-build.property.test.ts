// The incremental DAG build (src/dag/incremental.ts) against the full build, its reference: random
// sequences of adds, updates and deletes of Ingresses, HTTPProxies (includes, delegations),
// TLSCertificateDelegations, Services, EndpointSlices, Secrets and Gateway API objects go through one
// object cache; after every step the live pipeline's path (buildResources with the incremental
// builder and the cache's change set) must give what a full rebuild of the same cache gives: the
// DAG in its JSON form, every status condition by condition, every resource byte for byte once
// encoded. Plus: after an unrelated change, an unchanged unit's nodes are the very same objects.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createDagCache } from "../src/dag/cache.ts";
import { dagJson } from "../src/dag/dag-json.ts";
import { createIncrementalDagBuilder, type IncrementalDagBuilder } from "../src/dag/incremental.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import { buildResources, type BuildResult } from "../src/pipeline/build.ts";
import { createObjectCache, type ObjectCache } from "../src/pipeline/cache.ts";
import { kindKey, type KubeObject } from "../src/sources/types.ts";
import { encodeStrict } from "../src/xds/registry.ts";
import { resourceTypes } from "../src/xds/types.ts";
import { dagOptionsOf, loadSecretBodies, objectsOf, world } from "./helpers/fuzz-world.ts";

beforeAll(async () => {
  await loadSecretBodies();
});

const gatewayGroup = "gateway.networking.k8s.io";
const hosts = ["a.example.com", "b.example.com", "e.example.com", "g.example.com", "*.example.com"];

/** A Gateway API world: a class, a Gateway in default (HTTP, sometimes HTTPS with tls0), routes on the fuzz world's hosts. */
const gatewayWorld = fc.record({
  gateway: fc.option(fc.record({ https: fc.boolean(), from: fc.constantFrom("All", "Same") }), { freq: 4, nil: undefined }),
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
});

function gatewayObjects(w: typeof gatewayWorld extends fc.Arbitrary<infer T> ? T : never): KubeObject[] {
  const objects: KubeObject[] = [];
  if (!w.gateway) return objects;
  const apiVersion = `${gatewayGroup}/v1`;
  objects.push({ apiVersion, kind: "GatewayClass", metadata: { name: "contour" }, spec: { controllerName: "projectcontour.io/gateway-controller" } });
  const listeners: unknown[] = [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: w.gateway.from } } }];
  if (w.gateway.https) listeners.push({ name: "https", port: 443, protocol: "HTTPS", hostname: "*.example.com", tls: { mode: "Terminate", certificateRefs: [{ name: "tls0" }] }, allowedRoutes: { namespaces: { from: w.gateway.from } } });
  objects.push({ apiVersion, kind: "Gateway", metadata: { namespace: "default", name: "gw" }, spec: { gatewayClassName: "contour", listeners } });
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
const step = fc.record({ world, gateway: gatewayWorld, seed: fc.nat(), share: fc.constantFrom(2, 4, 8, 16) });

function taken(seed: number, key: string, share: number): boolean {
  let h = seed | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return ((h >>> 0) % share) === 0;
}

/** The resources of a build, each encoded, by type and name. */
function encoded(result: BuildResult): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const info of resourceTypes) {
    out[info.kind] = (result.resources[info.kind] as Array<{ name?: string; cluster_name?: string }>).map(
      (resource) => `${resource.name ?? resource.cluster_name} ${Buffer.from(encodeStrict(info.typeUrl, resource)).toString("hex")}`,
    );
  }
  return out;
}

function expectSameBuild(incremental: BuildResult, reference: BuildResult): void {
  expect(dagJson(incremental.dag)).toEqual(dagJson(reference.dag));
  expect(incremental.statuses).toEqual(reference.statuses);
  expect(incremental.rejected).toEqual(reference.rejected);
  expect(encoded(incremental)).toEqual(encoded(reference));
}

function liveBuild(cache: ObjectCache, builder: IncrementalDagBuilder, options: DagOptions): BuildResult {
  return buildResources(cache, { dag: options, buildDag: (input, dagOptions) => builder.build(input, dagOptions, cache.takeChanges()) });
}

describe("incremental build", () => {
  test("after every random add, update and delete it equals a full rebuild: DAG, statuses, encoded resources", () => {
    const modes = new Map<string, number>();
    fc.assert(
      fc.property(world, gatewayWorld, fc.array(step, { minLength: 1, maxLength: 6 }), (first, firstGateway, steps) => {
        const options: DagOptions = { ...dagOptionsOf(first), cache: createDagCache() };
        const cache = createObjectCache({ ingressClassNames: [] });
        const builder = createIncrementalDagBuilder();
        let current = new Map([...objectsOf(first), ...gatewayObjects(firstGateway)].map((o) => [kindKey(o), o]));
        cache.applyAll([...current.values()].map((object) => ({ type: "upsert" as const, object })));
        expectSameBuild(liveBuild(cache, builder, options), buildResources(cache, { dag: options }));
        for (const { world: w, gateway, seed, share } of steps) {
          const next = new Map([...objectsOf(w), ...gatewayObjects(gateway)].map((o) => [kindKey(o), o]));
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
          current = updated;
          cache.applyAll(events);
          expectSameBuild(liveBuild(cache, builder, options), buildResources(cache, { dag: options }));
          const mode = builder.last!.mode;
          modes.set(mode, (modes.get(mode) ?? 0) + 1);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200), includeErrorInReport: true },
    );
    if (process.env.SHOW_MODES) console.log(modes);
    // The sequences reach the incremental path, not only the fallbacks.
    expect(modes.get("incremental") ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
