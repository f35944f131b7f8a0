// The live pipeline (run.ts) over the build's fast path: an edit is published with the ResourceDelta the build
// made (its base the set published before), and the endpoint fast path finds a Service's EDS targets
// in the load-assignment memo the builds keep.
import { expect, test } from "bun:test";
import { endpointSlice, ingress as benchIngress, namespaceName, service as benchService } from "../bench/fixtures.ts";
import { createDagCache } from "../src/dag/cache.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { deltaProblems, type ResourceDelta } from "../src/xds/resource-delta.ts";
import { createSnapshotStore } from "../src/xds/snapshot.ts";
import type { ResourceSet } from "../src/xds/types.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import { createPipeline } from "../src/pipeline/run.ts";

const now = new Date("2026-01-01T00:00:00Z");
const dag = (): DagOptions => ({ ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => now, cache: createDagCache() });

function objects(index: number, generation = 0): KubeObject[] {
  const namespace = namespaceName(0);
  return [benchIngress(index, { namespaces: 1, generation }), benchService(namespace, `app-${index}`, [{ name: "http", port: 80, targetPort: 8080 }]), endpointSlice({ namespace, name: `app-${index}` }, { seed: index, generation })];
}

test("an edit after the first build is published with the delta of the build's fast path, and an EndpointSlice change reaches its load assignment", async () => {
  const store = createSnapshotStore();
  const published: Array<{ set: ResourceSet; delta?: ResourceDelta }> = [];
  const publish = store.publish.bind(store);
  store.publish = (set, delta) => {
    published.push({ set, delta });
    return publish(set, delta);
  };
  const cache = createObjectCache({ ingressClassNames: [] });
  const pipeline = createPipeline(store, cache, { dag: dag(), holdoffMs: 1, maxDelayMs: 5, sources: ["test"] });
  const handler = pipeline.handlerFor("test");
  handler.onEvents(Array.from({ length: 20 }, (_, i) => objects(i)).flat().map((object) => ({ type: "upsert" as const, object })));
  handler.onSynced();
  await pipeline.flush();
  expect(pipeline.ready).toBe(true);
  expect(published).toHaveLength(1);
  expect(published[0]!.delta).toBeUndefined();

  handler.onEvents([{ type: "upsert", object: benchIngress(7, { namespaces: 1, generation: 3 }) }]);
  await pipeline.flush();
  const edit = published[1]!;
  expect(edit.delta?.base).toBe(published[0]!.set);
  expect(deltaProblems(edit.set, edit.delta!)).toEqual([]);
  expect([...edit.delta!.virtualHosts!.get("ingress_http")!.keys()]).toEqual(["app-7.bench.example.com"]);
  expect(edit.delta!.changed.clusters).toBeUndefined();

  // The endpoint fast path finds the Service's target in the load-assignment memo.
  const changed: number[] = [];
  pipeline.onEndpoints((event) => changed.push(event.changed));
  handler.onEvents([{ type: "upsert", object: endpointSlice({ namespace: namespaceName(0), name: "app-7" }, { seed: 7, generation: 5 }) }]);
  expect(changed).toEqual([1]);
  const assignment = store.resources("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment").get(`${namespaceName(0)}/app-7/http`)?.json as { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string } } } }> }> };
  expect(JSON.stringify(assignment)).toContain("172.16.5.");
  await pipeline.stop();
});
