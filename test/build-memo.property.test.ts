// The pipeline's build memo (translation, load assignments, validation) and its live snapshot store
// against a from-scratch build into a fresh store, over random sequences of Ingress, Service and
// EndpointSlice changes (addresses that are refused included): the same statuses, endpoint problems
// and rejections, and the same published bytes and versions, at every step.
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { createDagCache } from "../src/dag/cache.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import { buildResources, createBuildMemo, type BuildResult } from "../src/pipeline/build.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { createSnapshotStore, type SnapshotStore } from "../src/xds/snapshot.ts";
import { resourceTypes } from "../src/xds/types.ts";
import { endpointSlice, ingress, ingressCluster, ingressNamespace, service } from "../bench/fixtures.ts";

const hosts = 36;
const namespaces = 4;
const now = new Date("2026-01-01T00:00:00Z");
const dagOptions = (): DagOptions => ({ ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => now, cache: createDagCache() });

const change = fc.oneof(
  fc.record({ kind: fc.constant("ingress" as const), index: fc.nat(hosts - 1), generation: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("slice" as const), index: fc.nat(hosts - 1), generation: fc.integer({ min: 0, max: 3 }), loopback: fc.boolean() }),
  fc.record({ kind: fc.constant("delete-ingress" as const), index: fc.nat(hosts - 1) }),
  fc.record({ kind: fc.constant("delete-service" as const), index: fc.nat(hosts - 1) }),
  fc.record({ kind: fc.constant("service" as const), index: fc.nat(hosts - 1) }),
);

type Change =
  | { kind: "ingress" | "slice"; index: number; generation: number; loopback?: boolean }
  | { kind: "delete-ingress" | "delete-service" | "service"; index: number };

function eventOf(step: Change): { type: "upsert" | "delete"; object: KubeObject } {
  const namespace = ingressNamespace(step.index, namespaces);
  const name = `app-${step.index}`;
  switch (step.kind) {
    case "ingress":
      return { type: "upsert", object: ingress(step.index, { namespaces, generation: step.generation }) };
    case "slice": {
      const slice = endpointSlice({ namespace, name }, { seed: step.index, generation: step.generation });
      if ("loopback" in step && step.loopback) (slice.endpoints as Array<{ addresses: string[] }>)[0]!.addresses = ["127.0.0.1"];
      return { type: "upsert", object: slice };
    }
    case "delete-ingress":
      return { type: "delete", object: ingress(step.index, { namespaces }) };
    case "delete-service":
      return { type: "delete", object: service(namespace, name, []) };
    case "service":
      return { type: "upsert", object: service(namespace, name, [{ name: "http", port: 80, targetPort: 8080 }]) };
  }
}

function published(store: SnapshotStore): Record<string, unknown> {
  return Object.fromEntries(
    resourceTypes.map((info) => [
      info.typeUrl,
      { version: store.version(info.typeUrl), resources: [...store.resources(info.typeUrl).values()].map((r) => [r.name, r.version, Buffer.from(r.bytes).toString("hex")]).sort() },
    ]),
  );
}

const outcome = (result: BuildResult) => ({ statuses: result.statuses, rejected: result.rejected, endpointProblems: result.endpointProblems });

describe("the build memo in the pipeline", () => {
  test("publishes what a from-scratch build publishes, with the same statuses, after any sequence of changes", () => {
    fc.assert(
      fc.property(fc.array(fc.array(change, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }), (steps) => {
        const cache = createObjectCache({ ingressClassNames: [] });
        cache.applyAll(ingressCluster({ ingresses: hosts, namespaces }).map((object) => ({ type: "upsert" as const, object })));
        const memo = createBuildMemo();
        const memoOptions = { dag: dagOptions(), memo };
        const store = createSnapshotStore();
        for (const events of [[], ...steps]) {
          cache.applyAll(events.map(eventOf));
          const incremental = buildResources(cache, memoOptions);
          store.publish(incremental.resources);
          const scratch = buildResources(cache, { dag: dagOptions() });
          const fresh = createSnapshotStore();
          fresh.publish(scratch.resources);
          expect(outcome(incremental)).toEqual(outcome(scratch));
          expect(published(store)).toEqual(published(fresh));
        }
        // Unchanged slices were not turned into load assignments again on the last build.
        expect(memo.endpoints.computed).toBeLessThan(hosts);
      }),
      { numRuns: 15 },
    );
  }, 60_000);
});
