// The build's fast path (src/pipeline/build-patch.ts: translation, load assignments and validation
// patched from the last build after an incremental DAG build) against the full build, its
// reference: random sequences of adds, updates and deletes of every input kind go through one
// object cache and the live pipeline's path (incremental DAG, build memo, the DAG's change, the
// EndpointSlice changes); after every step the result must be a full rebuild's: resources byte for
// byte once encoded, rejections, statuses, endpoint problems, and the owners of every resource,
// virtual host and filter chain. Whenever it gives a delta, the delta describes the change from the
// previous result exactly (deltaProblems) and so do its status changes (changedStatuses); the fast
// path must be taken in some steps.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createDagCache } from "../src/dag/cache.ts";
import { createIncrementalDagBuilder } from "../src/dag/incremental.ts";
import { indexedOwners } from "../src/envoy/ownership.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import { refKey, type ObjectStatus } from "../src/dag/status.ts";
import { buildResources, changedStatuses, createBuildMemo, type BuildResult } from "../src/pipeline/build.ts";
import type { ObjectCache } from "../src/pipeline/cache.ts";
import { deltaProblems } from "../src/xds/resource-delta.ts";
import { resourceTypes, TypeUrls } from "../src/xds/types.ts";
import { dagOptionsOf, world } from "./helpers/fuzz-world.ts";
import { applyStep, cacheOf, encoded, gatewayWorld, loadWorldCertificates, objectsByKey, step } from "./helpers/incremental-world.ts";

beforeAll(loadWorldCertificates);

type Json = Record<string, unknown>;

/** Every owners answer a consumer may ask of a result: each resource, each virtual host of a route configuration, each filter chain of a listener. */
function ownersOf(result: Pick<BuildResult, "resources" | "owners">): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const refs = (list: Array<{ kind: string; namespace: string; name: string }>) => list.map((r) => `${r.kind} ${r.namespace}/${r.name}`).sort();
  for (const info of resourceTypes) {
    for (const resource of (result.resources[info.kind] ?? []) as Json[]) {
      const name = String(resource[info.nameField]);
      out[`${info.kind} ${name}`] = refs(result.owners.of(info.typeUrl, name));
      if (info.typeUrl === TypeUrls.route) for (const vhost of (resource.virtual_hosts as Json[]) ?? []) out[`${name} host ${String(vhost.name)}`] = refs(result.owners.ofVirtualHost(name, String(vhost.name)));
      if (info.typeUrl === TypeUrls.listener) for (const chain of (resource.filter_chains as Json[]) ?? []) if (chain.name) out[`${name} chain ${String(chain.name)}`] = refs(result.owners.ofFilterChain(name, String(chain.name)));
    }
  }
  return out;
}

/** The statuses (by refKey) that are not the same objects in both lists; undefined for one gone. */
function statusDiff(before: ObjectStatus[], after: ObjectStatus[]): Map<string, ObjectStatus | undefined> {
  const was = new Map(before.map((status) => [refKey(status.ref), status]));
  const is = new Map(after.map((status) => [refKey(status.ref), status]));
  const diff = new Map<string, ObjectStatus | undefined>();
  for (const key of new Set([...was.keys(), ...is.keys()])) if (was.get(key) !== is.get(key)) diff.set(key, is.get(key));
  return diff;
}

function expectSameBuild(live: BuildResult, reference: BuildResult): void {
  expect(encoded(live)).toEqual(encoded(reference));
  expect(live.rejected).toEqual(reference.rejected);
  expect(live.statuses).toEqual(reference.statuses);
  expect(live.endpointProblems).toEqual(reference.endpointProblems);
  // The reference's owners from the index of its whole DAG: the live answers (found on the nodes) must be the same.
  expect(ownersOf(live)).toEqual(ownersOf({ ...reference, owners: indexedOwners(reference.dag) }));
}

/** The live pipeline's build (run.ts): the incremental DAG builder, the memo, the DAG's change and the EndpointSlice changes. */
function liveBuilder(cache: ObjectCache, options: DagOptions): () => BuildResult {
  const builder = createIncrementalDagBuilder();
  const memo = createBuildMemo();
  return () =>
    buildResources(cache, {
      dag: options,
      memo,
      buildDag: (input, dagOptions) => builder.build(input, dagOptions, cache.takeChanges()),
      dagChange: (dag) => builder.changeOf(dag),
      endpointChanges: () => cache.takeEndpointChanges(),
    });
}

describe("build fast path", () => {
  test("after every random add, update and delete it equals a full rebuild, and its delta describes the change exactly", () => {
    let patched = 0;
    fc.assert(
      fc.property(world, gatewayWorld, fc.array(step, { minLength: 1, maxLength: 8 }), (first, firstGateway, steps) => {
        const options: DagOptions = { ...dagOptionsOf(first), cache: createDagCache() };
        let current = objectsByKey(first, firstGateway);
        const cache = cacheOf(current);
        const live = liveBuilder(cache, options);
        let previous = live();
        expectSameBuild(previous, buildResources(cache, { dag: options }));
        for (const { world: w, gateway, seed, share } of steps) {
          current = applyStep(cache, current, objectsByKey(w, gateway), seed, share);
          const result = live();
          expectSameBuild(result, buildResources(cache, { dag: options }));
          if (result.delta) {
            patched++;
            expect(result.delta.base).toBe(previous.resources);
            expect(deltaProblems(result.resources, result.delta)).toEqual([]);
            expect(changedStatuses(result)).toEqual(statusDiff(previous.statuses, result.statuses));
          }
          previous = result;
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200), includeErrorInReport: true },
    );
    if (process.env.SHOW_MODES) console.log({ patched });
    // The sequences reach the fast path, not only the full one.
    expect(patched).toBeGreaterThan(0);
  }, 240_000);
});
