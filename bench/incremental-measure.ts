// The incremental build against the full build in one process, on the same cache: one object of the
// fixture edited at a time (an Ingress, a leaf HTTPProxy or an HTTPRoute, as the latency runs edit),
// then the live pipeline's build (incremental DAG and the cache's change set, the build memo and the
// fast path that patches the last build: pipeline/build-patch.ts) and a full build of the same input,
// each timed in CPU, for the DAG stage alone and for the whole buildResources.
import { buildDag as fullBuild } from "../src/dag/builder.ts";
import { createIncrementalDagBuilder } from "../src/dag/incremental.ts";
import { buildResources, createBuildMemo, type BuildOptions } from "../src/pipeline/build.ts";
import type { ObjectCache } from "../src/pipeline/cache.ts";
import type { KubeObject } from "../src/sources/types.ts";
import * as fixtures from "./fixtures.ts";

export interface EditRun {
  /** CPU of the DAG stage: incremental, then full. */
  incrementalDagCpuMs: number;
  fullDagCpuMs: number;
  /** CPU of the whole buildResources (DAG, translate, endpoints, validate). */
  incrementalBuildCpuMs: number;
  fullBuildCpuMs: number;
  /** Units the incremental build rebuilt. */
  rebuilt: number;
  mode: string;
}

function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** The fixture's object `index` at a later generation (as pipeline-child.ts edits it). */
function edited(fixture: fixtures.Fixture, size: number, index: number, generation: number): KubeObject {
  if (fixture === "ingress") return fixtures.ingress(index, { namespaces: fixtures.ingressNamespaces({ ingresses: size }), generation });
  const at = { namespaces: size, generation };
  return fixture === "gateway" ? fixtures.gatewayRoute(index, at) : fixtures.httpProxyLeaf(index, at);
}

/** `runs` edits of the loaded `cache`, each built both ways. */
export function measureEdits(cache: ObjectCache, spec: { fixture: fixtures.Fixture; size: number; runs: number }): EditRun[] {
  const builder = createIncrementalDagBuilder();
  const options = fixtures.benchDagOptions;
  const memo = createBuildMemo();
  const live = (buildDag: BuildOptions["buildDag"]): BuildOptions => ({ dag: options, memo, buildDag, dagChange: (dag) => builder.changeOf(dag), endpointChanges: () => cache.takeEndpointChanges() });
  cache.takeChanges();
  buildResources(cache, live((input, dagOptions) => builder.build(input, dagOptions, undefined)));
  const runs: EditRun[] = [];
  const count = spec.fixture === "gateway" ? spec.size * fixtures.gatewayRoutesPerNamespace : spec.size;
  for (let i = 0; i < spec.runs; i++) {
    cache.apply({ type: "upsert", object: edited(spec.fixture, spec.size, (i * 7919) % count, i + 1) });
    Bun.gc(true);
    let dagCpu = 0;
    let start = cpuNow();
    const incremental = buildResources(
      cache,
      live((input, dagOptions) => {
        const dagStart = cpuNow();
        const dag = builder.build(input, dagOptions, cache.takeChanges());
        dagCpu = cpuNow() - dagStart;
        return dag;
      }),
    );
    const incrementalBuildCpuMs = cpuNow() - start;
    const incrementalDagCpuMs = dagCpu;
    const report = builder.last!;
    Bun.gc(true);
    start = cpuNow();
    const full = buildResources(cache, {
      dag: options,
      buildDag: (input, dagOptions) => {
        const dagStart = cpuNow();
        const dag = fullBuild(input, dagOptions);
        dagCpu = cpuNow() - dagStart;
        return dag;
      },
    });
    const fullBuildCpuMs = cpuNow() - start;
    if (full.statuses.length !== incremental.statuses.length) throw new Error("incremental and full builds differ");
    runs.push({ incrementalDagCpuMs, fullDagCpuMs: dagCpu, incrementalBuildCpuMs, fullBuildCpuMs, rebuilt: report.rebuilt, mode: report.mode });
  }
  return runs;
}
